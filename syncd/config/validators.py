"""Small validated values of the configuration, and the error every config validator raises.

Each type is an ``Annotated`` alias whose validator raises :func:`fail` with a message written
for an operator (what was wrong, what is accepted), so the loader shows it as-is next to the
key path: domain names, addresses, regexes, URLs, phone regions, listen addresses, zones.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

T = TypeVar("T")


def fail(message: str) -> PydanticCustomError:
    """An error whose message the loader shows verbatim."""
    # Braces would be read as template fields by pydantic-core; the message is final text.
    return PydanticCustomError("syncd", message.replace("{", "(").replace("}", ")"))


def type_name(value: object) -> str:
    """TOML's word for a Python value's type, for messages."""
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    names |= {list: "array", tuple: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)


_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
