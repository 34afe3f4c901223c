"""SOQL building where every value is escaped.

Values always go through ``simple_salesforce.format_soql`` placeholders (``{}``), which quote
strings and escape quotes and backslashes, so an address such as ``o'brien@example.com`` can
neither break a query nor change what it selects. ``{:literal}`` is used only for datetime
literals this module generates itself (:func:`datetime_literal`), never for outside input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from simple_salesforce import format_soql

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")

__all__ = ["datetime_literal", "format_soql", "select", "where_eq", "where_in"]


def datetime_literal(ts: datetime) -> str:
    """A SOQL datetime literal (``2024-05-01T09:30:00.250Z``) for an aware datetime.

    Milliseconds are kept because that is SystemModstamp's precision: a watermark rounded to
    the second would re-read every row of that second, or miss the rest of it.
    """
    if ts.tzinfo is None:
        raise ValueError("SOQL datetimes must be timezone-aware")
    utc = ts.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def select(fields: Iterable[str], sobject: str, where: str | None = None) -> str:
    """``SELECT fields FROM sobject [WHERE where]``; ``where`` must come from this module."""
    names = list(fields)
    for name in [*names, sobject]:
        if not _IDENT.fullmatch(name):
            raise ValueError(f"not a SOQL field or object name: {name!r}")
    # Identifiers are checked above; values only ever enter through format_soql.
    query = f"SELECT {', '.join(names)} FROM {sobject}"  # noqa: S608
    return f"{query} WHERE {where}" if where else query


def where_eq(field: str, value: Any) -> str:
    """``field = 'value'`` with the value escaped."""
    return format_soql(f"{field} = {{}}", value)


def where_in(field: str, values: Iterable[Any]) -> str:
    """``field IN ('a','b')`` with each value escaped; an empty list is refused (bad SOQL)."""
    items = list(values)
    if not items:
        raise ValueError("IN needs at least one value")
    return format_soql(f"{field} IN {{}}", items)


def modified_since(ts: datetime) -> str:
    """``SystemModstamp > <ts>`` for incremental reads."""
    return format_soql("SystemModstamp > {:literal}", datetime_literal(ts))
