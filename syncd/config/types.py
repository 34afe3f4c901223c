"""Value types of the configuration: durations, cron strings, secret references and friends.

Each type is an ``Annotated`` alias whose validator raises a ``PydanticCustomError`` with a
message written for an operator (what was wrong, what is accepted), so the loader can show it
as-is next to the key path.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator
from pydantic_core import PydanticCustomError, core_schema

from syncd.errors import ConfigError, Problem

T = TypeVar("T")

#: Keys whose plain-string value is an inline secret, wherever they appear.
SECRET_NAMES = frozenset(
    {
        "client_secret",
        "secret",
        "password",
        "token",
        "api_key",
        "private_key",
        "security_token",
        "refresh_token",
        "webhook_url",
        "signing_secret",
    }
)
_SECRET_SUFFIXES = ("_secret", "_password", "_token", "_api_key", "_private_key")


def looks_secret(key: str) -> bool:
    """Whether a key name says its value is a credential (``token``, ``bot_token``, …)."""
    return key in SECRET_NAMES or key.endswith(_SECRET_SUFFIXES)


def fail(message: str) -> PydanticCustomError:
    """An error whose message the loader shows verbatim."""
    # Braces would be read as template fields by pydantic-core; the message is final text.
    return PydanticCustomError("syncd", message.replace("{", "(").replace("}", ")"))


# --- durations -------------------------------------------------------------------------------

_DURATION_FORMS = '"500ms", "90s", "5m", "1h30m", "3d" or "2w"'
_DURATION_RE = re.compile(
    r"^(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?"
    r"(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?$"
)


def parse_duration(value: object) -> timedelta:
    """Turn ``"1h30m"`` into a ``timedelta``; raise ``ValueError`` saying what is accepted."""
    accepted = f"write a duration as a string such as {_DURATION_FORMS}"
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"{accepted}, not a bare {type_name(value)}")
    text = value.strip().lower()
    if text.startswith("-"):
        raise ValueError(f"must not be negative; {accepted}")
    match = _DURATION_RE.match(text)
    if not text or match is None:
        raise ValueError(f"{value!r} is not a duration; {accepted}")
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    result = timedelta(
        weeks=parts.get("w", 0),
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
        milliseconds=parts.get("ms", 0),
    )
    if result <= timedelta(0):
        raise ValueError(f"must be longer than zero; {accepted}")
    return result


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta) and value > timedelta(0):
        return value  # already parsed (a model built in code, not from TOML)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise fail(str(exc)) from None


#: A positive length of time written as ``"90s"``, ``"5m"``, ``"1h30m"``, ``"3d"``, ``"500ms"``.
Duration = Annotated[timedelta, PlainValidator(_duration)]


# --- cron ------------------------------------------------------------------------------------


#: Weekday names as crontab(5) numbers them: 0 and 7 are Sunday.
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: APScheduler 3 numbers weekdays from Monday = 0 (its ``from_crontab`` does not translate:
#: agronholm/apscheduler#286, fixed only in 4.x), so "1-5" would mean Tuesday to Saturday.
_APS_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _cron_day(token: str) -> int:
    """A crontab weekday (0-7 or a three-letter name) as 0 = Sunday … 6 = Saturday."""
    low = token.strip().lower()
    if low in _CRON_DAYS:
        return _CRON_DAYS.index(low)
    if low.isdigit() and int(low) <= 7:
        return int(low) % 7
    raise ValueError(f"unknown weekday {token!r} (0-7 or sun..sat)")


def _cron_weekdays(field: str) -> str:
    """A crontab day-of-week field as APScheduler 3 reads it (day names, so no numbering).

    Every item (``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n``, names or numbers) is expanded to the
    set of days it means under crontab(5), then written as APScheduler day names.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"bad step in {item!r}")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            a, b = span.split("-", 1)
            first, last = _cron_day(a), _cron_day(b)
            if last == 0 and first > 0:
                last = 7  # "5-7", "fri-sun": Friday to Sunday
            if first > last:
                raise ValueError(f"range {span!r} runs backwards")
        else:
            first = last = _cron_day(span)
            if step is not None:
                last = 6  # "1/2": from Monday, every second day
        days.update(d % 7 for d in range(first, last + 1, step or 1))
    return ",".join(_APS_DAYS[(d - 1) % 7] for d in sorted(days, key=lambda d: (d - 1) % 7))


def cron_trigger(expression: str, timezone: Any = None) -> CronTrigger | OrTrigger:
    """A five-field crontab(5) expression as an APScheduler 3 trigger, weekdays as cron means.

    When both the day of month and the day of week are restricted (neither starts with ``*``),
    crontab(5) runs on a day matching EITHER ("0 9 1 * 1": the 1st and every Monday), while one
    APScheduler ``CronTrigger`` needs both (only a Monday the 1st): that case is the OR of two.

    ``timezone`` None: the host's zone (APScheduler's default).
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    days = _cron_weekdays(weekday)
    if day.startswith("*") or weekday.startswith("*"):
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=days, timezone=timezone
        )
    return OrTrigger(
        [
            CronTrigger(minute=minute, hour=hour, day=day, month=month, timezone=timezone),
            CronTrigger(minute=minute, hour=hour, month=month, day_of_week=days, timezone=timezone),
        ]
    )


def _cron(value: object) -> str:
    if not isinstance(value, str):
        raise fail(f'must be a cron string such as "0 7 * * 1-5", not a {type_name(value)}')
    try:
        # Exactly what the scheduler will call; the zone does not affect parsing.
        cron_trigger(value, timezone="UTC")
    except ValueError as exc:
        raise fail(
            f"{value!r} is not a valid cron expression ({exc}); "
            'write five fields: minute hour day month weekday, e.g. "0 7 * * 1-5"'
        ) from None
    return value


#: A five-field crontab(5) string (weekdays 0/7 = Sunday), run through :func:`cron_trigger`.
Cron = Annotated[str, PlainValidator(_cron)]


# --- secrets ---------------------------------------------------------------------------------


class SecretRef:
    """Where a secret lives: an environment variable or a file. Never holds the value.

    ``key`` is the config key the operator wrote (``salesforce.client_secret_env``), filled in
    once the whole config is validated, so problems can point at it.
    """

    __slots__ = ("env", "file", "key")

    def __init__(self, *, env: str | None = None, file: Path | None = None, key: str = "") -> None:
        if (env is None) == (file is None):
            raise ValueError("a SecretRef names exactly one of env or file")
        self.env = env
        self.file = file
        self.key = key

    @property
    def source(self) -> str:
        """Human description of where the value is read from (safe to show)."""
        return f"environment variable {self.env}" if self.env else f"file {self.file}"

    def problem(self) -> str | None:
        """Why :meth:`resolve` would fail right now, or None when it would succeed."""
        if self.env is not None:
            if self.env not in os.environ:
                return f"environment variable {self.env} is not set"
            if not os.environ[self.env].strip():
                return f"environment variable {self.env} is empty"
            return None
        assert self.file is not None
        if not self.file.is_file():
            return f"secret file {self.file} does not exist"
        if not os.access(self.file, os.R_OK):
            return f"secret file {self.file} is not readable by this user"
        return None

    def resolve(self) -> str:
        """Read the secret now; raise ``ConfigError`` naming the key when it is unavailable."""
        problem = self.problem()
        if problem is None:
            try:
                if self.env is not None:
                    value = os.environ[self.env]
                else:
                    assert self.file is not None
                    value = self.file.read_text(encoding="utf-8")
            except (OSError, KeyError, UnicodeDecodeError) as exc:
                problem = f"cannot read {self.source}: {type(exc).__name__}"
            else:
                return value.rstrip("\r\n")
        raise ConfigError([Problem(self.key or self.source, problem)])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretRef):
            return NotImplemented
        return (self.env, self.file) == (other.env, other.file)

    def __hash__(self) -> int:
        return hash((self.env, self.file))

    def __repr__(self) -> str:
        where = f"env={self.env!r}" if self.env else f"file={str(self.file)!r}"
        return f"SecretRef({where})"

    __str__ = __repr__

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        # Sections turn ``x_env`` / ``x_file`` into a SecretRef before field validation.
        return core_schema.no_info_plain_validator_function(
            _secret_instance, serialization=core_schema.to_string_ser_schema()
        )


def _secret_instance(value: object) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    raise fail(f"must be given as <name>_env or <name>_file, not a {type_name(value)}")


def secret_field(description: str = "", *, required: bool = False) -> Any:
    """Declare a secret field on a settings model, e.g. ``api_key: SecretRef | None``.

    The operator writes ``api_key_env = "VAR"`` or ``api_key_file = "/path"``; an inline
    ``api_key = "…"`` is rejected with instructions.
    """
    if required:
        return Field(description=description, json_schema_extra={"secret": True})
    return Field(default=None, description=description, json_schema_extra={"secret": True})


def inline_secret_message(path: str, key: str) -> str:
    """How to fix an inline secret at ``path`` (its last component is ``key``)."""
    parts = [p for p in re.split(r"[.\[\]]+", path) if p and not p.isdigit()]
    stem = "_".join(parts).upper().replace("-", "_")
    slug = "-".join(parts).lower().replace("_", "-")
    return (
        "inline secrets are not allowed; put the value in an environment variable and write "
        f'{key}_env = "SYNCD_{stem}", or in a file readable only by syncd and write '
        f'{key}_file = "/etc/syncd/{slug}"'
    )


# --- small validated strings -----------------------------------------------------------------

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def type_name(value: object) -> str:
    """TOML's word for a Python value's type, for messages."""
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    names |= {list: "array", tuple: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)


def _domain(value: str) -> str:
    text = value.strip().lower()
    if not _DOMAIN_RE.match(text):
        raise fail(f"{value!r} is not a domain name (write it like 'example.com')")
    return text


def _email(value: str) -> str:
    text = value.strip().lower()
    if not _EMAIL_RE.match(text):
        raise fail(f"{value!r} is not an email address")
    return text


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise fail(f"{value!r} is not a valid regular expression: {exc}") from None
    return value


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise fail(f"{value!r} must be an https:// URL")
    return value.rstrip("/")


def _region(value: str) -> str:
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise fail(f"{value!r} is not a phone region code (two letters, e.g. 'US', 'GB', 'DE')")
    return code


def _state_url(value: str) -> str:
    if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
        raise fail(
            "must start with sqlite://, postgresql:// or postgresql+psycopg:// "
            "(e.g. 'sqlite:///syncd.db')"
        )
    return value


def _listen(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise fail(f"{value!r} must be host:port, e.g. '127.0.0.1:9464'")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise fail(f"port {port!r} must be a number from 1 to 65535")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", bare):
            raise fail(f"host {host!r} is neither an IP address nor a host name") from None
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(
            f"{value!r} is not an IANA time zone name (e.g. 'Europe/Berlin', 'America/New_York')"
        ) from None
    return value


def _api_version(value: str) -> str:
    if not re.fullmatch(r"\d{2,3}\.\d", value):
        raise fail(f"{value!r} must look like '60.0'")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise fail("must not be empty")
    return value


#: A Salesforce field API name (``NextStep``, ``Budget__c``, ``ns__Field__c``) as SOQL takes
#: it: letters, digits and single underscores, a namespace prefix and the ``__c`` suffix
#: (https://help.salesforce.com/s/articleView?id=sf.custom_field_attributes.htm).
_WORD = r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*"
_FIELD_NAME = re.compile(rf"(?:{_WORD}__)?{_WORD}(?:__c)?")


def _field_name(value: str) -> str:
    if not _FIELD_NAME.fullmatch(value):
        hint = re.sub(r"[^A-Za-z0-9_]", "", value)
        raise fail(f"{value!r} is not a Salesforce field API name (did you mean {hint!r}?)")
    return value


def _to_tuple(value: object) -> object:
    # TOML arrays arrive as lists; models are frozen, so store tuples.
    return tuple(value) if isinstance(value, list) else value


def _freeze_map(value: Mapping[str, T]) -> Mapping[str, T]:
    return MappingProxyType(dict(value))


Tuple = Annotated[tuple[T, ...], BeforeValidator(_to_tuple)]
FrozenMap = Annotated[dict[str, T], AfterValidator(_freeze_map)]
NonEmpty = Annotated[str, AfterValidator(_non_empty)]
FieldName = Annotated[str, AfterValidator(_field_name)]
DomainName = Annotated[str, AfterValidator(_domain)]
Email = Annotated[str, AfterValidator(_email)]
Regex = Annotated[str, AfterValidator(_regex)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
RegionCode = Annotated[str, AfterValidator(_region)]
StateUrl = Annotated[str, AfterValidator(_state_url)]
ListenAddress = Annotated[str, AfterValidator(_listen)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
ApiVersion = Annotated[str, AfterValidator(_api_version)]
