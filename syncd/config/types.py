"""The configuration's value types in one import, for settings models (connectors' included).

They live by job: :mod:`syncd.config.durations` (durations, cron), :mod:`syncd.config.secrets`
(secret references) and :mod:`syncd.config.validators` (small validated strings, the error
helper). Import from here or from those modules alike.
"""

from syncd.config.durations import Cron, Duration, cron_trigger, parse_duration
from syncd.config.secrets import (
    SECRET_NAMES,
    SecretRef,
    inline_secret_message,
    looks_secret,
    secret_field,
)
from syncd.config.validators import (
    ApiVersion,
    DomainName,
    Email,
    FieldName,
    FrozenMap,
    HttpsUrl,
    ListenAddress,
    NonEmpty,
    Regex,
    RegionCode,
    StateUrl,
    TimeZoneName,
    Tuple,
    fail,
    type_name,
)

__all__ = [
    "SECRET_NAMES",
    "ApiVersion",
    "Cron",
    "DomainName",
    "Duration",
    "Email",
    "FieldName",
    "FrozenMap",
    "HttpsUrl",
    "ListenAddress",
    "NonEmpty",
    "Regex",
    "RegionCode",
    "SecretRef",
    "StateUrl",
    "TimeZoneName",
    "Tuple",
    "cron_trigger",
    "fail",
    "inline_secret_message",
    "looks_secret",
    "parse_duration",
    "secret_field",
    "type_name",
]
