"""The unmatched queue: activities no Contact, Lead or Account matched yet.

Each item keeps the activity payload the matcher needs (no message body unless capture of
bodies is on — the caller decides what goes in) and why it did not match. When contacts or
leads change, ``due`` hands back the items to try again, oldest attempt first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from syncd.state.schema import UnmatchedRow
from syncd.state.scope import Scope, chunks, insert_for


@dataclass(frozen=True)
class UnmatchedItem:
    """An activity waiting for a match."""

    key: str
    connector: str
    mailbox: str
    payload: Any
    reason: str
    first_seen: datetime
    last_tried: datetime
    attempts: int


def _item(row: UnmatchedRow) -> UnmatchedItem:
    return UnmatchedItem(
        key=row.key,
        connector=row.connector,
        mailbox=row.mailbox,
        payload=row.payload,
        reason=row.reason,
        first_seen=row.first_seen,
        last_tried=row.last_tried,
        attempts=row.attempts,
    )


class Unmatched:
    """Add, list, re-try and remove unmatched activities."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, connector: str, mailbox: str, key: str, payload: Any, reason: str) -> None:
        """Queue an activity, or count another failed attempt if it is already queued."""
        now = self._scope.now()
        with self._scope.session() as session:
            stmt = insert_for(session, UnmatchedRow).values(
                key=key,
                connector=connector,
                mailbox=mailbox,
                payload=payload,
                reason=reason,
                first_seen=now,
                last_tried=now,
                attempts=1,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "payload": stmt.excluded.payload,
                    "reason": stmt.excluded.reason,
                    "last_tried": stmt.excluded.last_tried,
                    "attempts": UnmatchedRow.attempts + 1,
                },
            )
            session.execute(stmt)

    def get(self, key: str) -> UnmatchedItem | None:
        """One item, or None."""
        with self._scope.session(write=False) as session:
            row = session.get(UnmatchedRow, key)
            return _item(row) if row else None

    def list(
        self,
        *,
        connector: str | None = None,
        mailbox: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[UnmatchedItem]:
        """Items, newest first, optionally for one connector and/or mailbox."""
        stmt = select(UnmatchedRow)
        if connector is not None:
            stmt = stmt.where(UnmatchedRow.connector == connector)
        if mailbox is not None:
            stmt = stmt.where(UnmatchedRow.mailbox == mailbox)
        stmt = stmt.order_by(UnmatchedRow.first_seen.desc(), UnmatchedRow.key)
        with self._scope.session(write=False) as session:
            rows = session.scalars(stmt.limit(limit).offset(offset))
            return [_item(row) for row in rows]

    def due(
        self, *, tried_before: timedelta = timedelta(0), limit: int = 500
    ) -> list[UnmatchedItem]:
        """Items last tried at least ``tried_before`` ago, oldest attempt first."""
        cutoff = self._scope.now() - tried_before
        with self._scope.session(write=False) as session:
            rows = session.scalars(
                select(UnmatchedRow)
                .where(UnmatchedRow.last_tried <= cutoff)
                .order_by(UnmatchedRow.last_tried, UnmatchedRow.key)
                .limit(limit)
            )
            return [_item(row) for row in rows]

    def mark_tried(self, keys: Iterable[str], reason: str | None = None) -> int:
        """Count one more failed attempt for ``keys`` (still unmatched); returns rows touched."""
        now = self._scope.now()
        values: dict[str, Any] = {"last_tried": now, "attempts": UnmatchedRow.attempts + 1}
        if reason is not None:
            values["reason"] = reason
        touched = 0
        with self._scope.session() as session:
            for part in chunks(sorted(set(keys)), 1000):
                result = session.execute(
                    update(UnmatchedRow).where(UnmatchedRow.key.in_(part)).values(**values)
                )
                touched += result.rowcount
        return touched

    def remove(self, keys: Iterable[str]) -> int:
        """Drop items (matched and written, or given up); returns how many were removed."""
        removed = 0
        with self._scope.session() as session:
            for part in chunks(sorted(set(keys)), 1000):
                result = session.execute(delete(UnmatchedRow).where(UnmatchedRow.key.in_(part)))
                removed += result.rowcount
        return removed

    def count(self) -> int:
        """Number of items waiting."""
        with self._scope.session(write=False) as session:
            return session.scalar(select(func.count()).select_from(UnmatchedRow)) or 0
