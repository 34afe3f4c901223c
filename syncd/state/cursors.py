"""Cursor store: where the next pull of each (connector, mailbox, stream) starts.

Cursor values are opaque to syncd (a Gmail historyId, a Graph delta link, a Calendar sync
token). The capture runner advances a cursor inside ``store.transaction()`` together with the
ledger rows it covers; an expired cursor is recorded as a resync, counted and shown in status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from syncd.state.schema import CursorRow
from syncd.state.scope import Scope, insert_for

DEFAULT_STREAM = "default"


@dataclass(frozen=True)
class CursorState:
    """A stored cursor and its bookkeeping."""

    connector: str
    mailbox: str
    stream: str
    value: str | None
    updated_at: datetime
    resync_count: int
    last_error: str | None


def _state(row: CursorRow) -> CursorState:
    return CursorState(
        connector=row.connector,
        mailbox=row.mailbox,
        stream=row.stream,
        value=row.value,
        updated_at=row.updated_at,
        resync_count=row.resync_count,
        last_error=row.last_error,
    )


class Cursors:
    """Read and advance cursors."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def get(self, connector: str, mailbox: str, stream: str = DEFAULT_STREAM) -> str | None:
        """The cursor value, or None when there is none (a full sync is due)."""
        state = self.state(connector, mailbox, stream)
        return state.value if state else None

    def state(
        self, connector: str, mailbox: str, stream: str = DEFAULT_STREAM
    ) -> CursorState | None:
        """The cursor with its bookkeeping, or None."""
        with self._scope.session(write=False) as session:
            row = session.get(CursorRow, (connector, mailbox, stream))
            return _state(row) if row else None

    def for_unit(self, connector: str, mailbox: str) -> dict[str, CursorState]:
        """Every stream's cursor of one unit, by stream name."""
        with self._scope.session(write=False) as session:
            rows = session.scalars(
                select(CursorRow).where(
                    CursorRow.connector == connector, CursorRow.mailbox == mailbox
                )
            )
            return {row.stream: _state(row) for row in rows}

    def all(self) -> list[CursorState]:
        """Every cursor, ordered by unit and stream."""
        with self._scope.session(write=False) as session:
            rows = session.scalars(
                select(CursorRow).order_by(CursorRow.connector, CursorRow.mailbox, CursorRow.stream)
            )
            return [_state(row) for row in rows]

    def set(
        self, connector: str, mailbox: str, value: str | None, stream: str = DEFAULT_STREAM
    ) -> None:
        """Store ``value`` as the cursor and clear the last error.

        Call it inside ``store.transaction()`` with the ledger rows the new cursor covers.
        """
        self._upsert(connector, mailbox, stream, {"value": value, "last_error": None})

    def record_error(
        self, connector: str, mailbox: str, message: str, stream: str = DEFAULT_STREAM
    ) -> None:
        """Remember why the last pull of this stream failed; the cursor value is kept."""
        self._upsert(connector, mailbox, stream, {"last_error": self._scope.clean_error(message)})

    def mark_resync(
        self,
        connector: str,
        mailbox: str,
        new_value: str | None = None,
        stream: str = DEFAULT_STREAM,
    ) -> int:
        """Count an expired cursor and replace it (None = start a full sync); returns the count."""
        with self._scope.session() as session:
            row = session.get(CursorRow, (connector, mailbox, stream), with_for_update=True)
            now = self._scope.now()
            if row is None:
                row = CursorRow(connector=connector, mailbox=mailbox, stream=stream, resync_count=0)
                session.add(row)
            row.value = new_value
            row.resync_count = (row.resync_count or 0) + 1
            row.updated_at = now
            row.last_error = None
            session.flush()
            return row.resync_count

    def _upsert(self, connector: str, mailbox: str, stream: str, values: dict[str, object]) -> None:
        now = self._scope.now()
        with self._scope.session() as session:
            stmt = insert_for(session, CursorRow).values(
                connector=connector,
                mailbox=mailbox,
                stream=stream,
                updated_at=now,
                resync_count=0,
                **values,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["connector", "mailbox", "stream"],
                set_={**values, "updated_at": now},
            )
            session.execute(stmt)
