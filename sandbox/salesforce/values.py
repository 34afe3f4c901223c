"""Record ids and field values in the forms Salesforce stores and returns them.

Ids are 15 characters (key prefix + 12) plus the 3-character case-safe checksum. Dates are kept as
``YYYY-MM-DD`` and datetimes as ``YYYY-MM-DDTHH:MM:SS.sss+0000`` in UTC, so stored values compare
correctly as strings and go back to clients unchanged.
"""

from __future__ import annotations

import functools
import re
import string
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.salesforce.errors import ApiError, RecordError, json_parser_error
from sandbox.salesforce.schema import Field

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_CHECKSUM = string.ascii_uppercase + "012345"
# Every two-character base-62 number, so an id is three look-ups instead of six divisions.
_PAIRS = [a + b for a in _BASE62 for b in _BASE62]
_UPPER_BITS = str.maketrans(
    {c: "1" for c in string.ascii_uppercase}
    | {c: "0" for c in string.digits + string.ascii_lowercase}
)
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STRING_TYPES = frozenset(
    {
        "string",
        "textarea",
        "picklist",
        "combobox",
        "multipicklist",
        "email",
        "phone",
        "url",
        "anyType",
    }
)
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})


def checksum(id15: str) -> str:
    """Return the 3-character suffix that makes a 15-character id case-insensitive."""
    # Each 5-character chunk gives 5 bits (1 = upper-case letter), least significant first.
    bits = id15.translate(_UPPER_BITS)
    return (
        _CHECKSUM[int(bits[4::-1], 2)]
        + _CHECKSUM[int(bits[9:4:-1], 2)]
        + _CHECKSUM[int(bits[14:9:-1], 2)]
    )


def make_id(prefix: str, number: int) -> str:
    """Return the 18-character id of the ``number``-th record with ``prefix``."""
    high, rest = divmod(number, 62**4)
    middle, low = divmod(rest, 62**2)
    # "8c0000" stands in for the pod and reserved characters of real ids.
    id15 = prefix + "8c0000" + _PAIRS[high % 3844] + _PAIRS[middle] + _PAIRS[low]
    return id15 + checksum(id15)


def normalize_id(value: Any) -> str | None:
    """Return the 18-character form of a 15/18-character id, or None if it is malformed."""
    if not isinstance(value, str):
        return None
    return _normalize_id(value)


@functools.lru_cache(maxsize=1 << 16)
def _normalize_id(value: str) -> str | None:
    # Cached: the same owner and account ids recur across thousands of records.
    if not _ID_RE.match(value):
        return None
    id15 = value[:15]
    full = id15 + checksum(id15)
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def format_datetime(value: datetime) -> str:
    """Return an aware datetime in Salesforce's output form, in UTC."""
    utc = value.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "+0000"


def parse_datetime(text: str) -> datetime | None:
    """Parse an ISO 8601 datetime (naive means UTC, as Salesforce assumes); None if invalid."""
    candidate = text.strip()
    if candidate.endswith("Z"):
        candidate = candidate[:-1] + "+00:00"
    # Salesforce writes +0000; fromisoformat needs the colon.
    m = re.match(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2})(\d{2})$", candidate)
    if m:
        candidate = f"{m.group(1)}{m.group(2)}:{m.group(3)}"
    if "T" not in candidate:
        return None
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def parse_date(text: str) -> date | None:
    """Parse ``YYYY-MM-DD``; None if invalid."""
    if not _DATE_RE.match(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def datetime_value(stored: str) -> datetime:
    """Return a stored datetime string as an aware datetime."""
    parsed = parse_datetime(stored)
    assert parsed is not None
    return parsed


def date_of(stored_datetime: str) -> str:
    """Return the UTC date part of a stored datetime."""
    return stored_datetime[:10]


def add_minutes(stored_datetime: str, minutes: int) -> str:
    """Return a stored datetime moved by ``minutes``."""
    return format_datetime(datetime_value(stored_datetime) + timedelta(minutes=minutes))


def minutes_between(start: str, end: str) -> int:
    """Return the whole minutes from one stored datetime to another."""
    return int((datetime_value(end) - datetime_value(start)).total_seconds() // 60)


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, as Salesforce measures strings."""
    return len(text.encode("utf-16-le")) // 2


def coerce(f: Field, value: Any, *, lenient: bool = False) -> Any:
    """Return ``value`` in the stored form of field ``f``.

    Raises :class:`ApiError` (JSON_PARSER_ERROR) when the value cannot have the field's type, as
    Salesforce's deserialiser does, and :class:`RecordError` for validation failures. ``lenient``
    accepts strings for every type, for CSV seeding.
    """
    if value is None or (lenient and value == ""):
        return None
    kind = f.type
    if kind in STRING_TYPES or kind == "id":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise json_parser_error(value, "String")
        text = value if isinstance(value, str) else str(value)
        # Salesforce counts length in UTF-16 code units: an emoji takes two of a field's 255.
        if f.length and len(text) > f.length // 2 and utf16_len(text) > f.length:
            shown = text if len(text) <= 30 else text[:27] + "..."
            raise RecordError(
                "STRING_TOO_LONG",
                f"{f.label or f.name}: data value too large: {shown} (max length={f.length})",
                [f.name],
            )
        # Loading (lenient) keeps what Salesforce itself stored: the Automated Process user's
        # address has no dot in its domain, and an org adds its own picklist values.
        if kind == "email" and text and not lenient and not _EMAIL_RE.match(text):
            raise RecordError(
                "INVALID_EMAIL_ADDRESS", f"{f.name}: invalid email address: {text}", [f.name]
            )
        restricted = f.restricted and f.picklist and not lenient
        if kind == "picklist" and restricted and text not in f.picklist:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.name}: bad value for restricted picklist field: {text}",
                [f.name],
            )
        return text
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if lenient and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise json_parser_error(value, "boolean")
    if kind in NUMBER_TYPES:
        if isinstance(value, str) and lenient:
            try:
                value = float(value)
            except ValueError:
                raise json_parser_error(value, "double") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise json_parser_error(value, "double")
        return int(value) if kind == "int" else float(value)
    if kind == "date":
        if not isinstance(value, str):
            raise json_parser_error(value, "date")
        parsed_date = parse_date(value)
        if parsed_date is None and lenient:
            parsed_dt = parse_datetime(value)
            parsed_date = parsed_dt.date() if parsed_dt else None
        if parsed_date is None:
            raise json_parser_error(value, "date")
        return parsed_date.isoformat()
    if kind == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None and lenient and isinstance(value, str):
            parsed = parse_datetime(value.strip().replace(" ", "T", 1))  # 2023-10-28 20:45:25
        if parsed is None:
            raise json_parser_error(value, "datetime")
        return format_datetime(parsed)
    if kind == "reference":
        return value  # checked against the store by the validator
    if kind == "junctionidlist":
        # A JSON array of ids (EmailMessage.ToIds); each is checked like a reference.
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise json_parser_error(value, "JunctionIdList")
        return list(value)
    raise ApiError(400, "INVALID_TYPE", f"unsupported field type {kind}")
