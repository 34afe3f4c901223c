"""Configuration: ``syncd.toml`` → validated, frozen models; every problem reported at once.

::

    load_config(path, types)  -> Config                       problems in the file itself
    check_config(path, types) -> (Config, [warning Problem])  plus env vars, secret files, …

``types`` maps each connector ``type`` to its settings model; the wiring layer (``syncd.app``)
hands it over, so this package imports nothing of ``connectors`` or ``syncd.capture``.

Both raise :class:`syncd.errors.ConfigError` listing every problem with its key path
(``connectors[1].interval``) and, where it can be found, its line.

Modules: ``durations`` (durations, cron), ``secrets`` (secret references), ``validators``
(small validated strings), ``types`` (all of those in one import), ``section`` (the base of
every table: secrets, unknown keys, cross-field checks), ``models`` (the tables), ``lines``
(key → line), ``loader`` (reading, translating pydantic's errors, outside checks).
"""

from syncd.config.durations import Cron, Duration, parse_duration
from syncd.config.loader import check_config, load_config
from syncd.config.models import (
    AlertsConfig,
    CaptureConfig,
    Config,
    ConnectorSettings,
    ConnectorTypes,
    Rule,
    RulesConfig,
    SalesforceConfig,
    ServiceConfig,
    SlackAlerts,
    StateConfig,
)
from syncd.config.secrets import SecretRef, secret_field

__all__ = [
    "AlertsConfig",
    "CaptureConfig",
    "Config",
    "ConnectorSettings",
    "ConnectorTypes",
    "Cron",
    "Duration",
    "Rule",
    "RulesConfig",
    "SalesforceConfig",
    "SecretRef",
    "ServiceConfig",
    "SlackAlerts",
    "StateConfig",
    "check_config",
    "load_config",
    "parse_duration",
    "secret_field",
]
