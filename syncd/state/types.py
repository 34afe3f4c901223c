"""Column types shared by the schema: aware UTC datetimes and JSON stored as text.

SQLite has no timezone-aware timestamp: it stores text and gives back naive datetimes. The
``UTCDateTime`` decorator makes both backends behave the same — only aware datetimes go in
(a naive one is a bug in the caller and raises), and every datetime comes out aware in UTC.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that refuses naive input and always returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; SQLite gets naive UTC because it cannot keep an offset."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to the state store; use an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # Same text format for every row, so SQL comparisons order correctly.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to SQLite's naive values; convert PostgreSQL's session-zone values."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONText(TypeDecorator[Any]):
    """A JSON document kept as plain text, identical on SQLite and PostgreSQL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Serialise with sorted keys so equal documents are equal text."""
        if value is None:
            return None
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        """Parse the stored text back into Python values."""
        if value is None:
            return None
        return json.loads(value)
