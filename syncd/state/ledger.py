"""The ledger: which activity keys are already in Salesforce, and which mailboxes saw them.

This table is what makes capture exactly-once. The planner asks "which of these keys are
already written?" in one query (``lookup``); after a successful upsert the runner records the
written rows (``record``) in the same transaction that advances the cursor. A second mailbox
that sees an already-written item only adds a sighting (``see``) — it never writes again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from syncd.state.schema import SOBJECTS, LedgerRow, SightingRow
from syncd.state.scope import Scope, chunks, insert_for

# Keys per SELECT … IN (…): a planner batch of 200 is one query; bigger asks stay bounded.
LOOKUP_CHUNK = 1000
INSERT_CHUNK = 500


@dataclass(frozen=True)
class LedgerEntry:
    """One written activity. ``written_at`` is filled from the store clock when left None."""

    key: str
    sobject: str
    salesforce_id: str
    connector: str
    mailbox: str
    kind: str
    occurred_at: datetime
    what_id: str | None = None
    match_trace: Any = None
    written_at: datetime | None = None


@dataclass(frozen=True)
class Sighting:
    """A mailbox that saw a key."""

    key: str
    connector: str
    mailbox: str
    seen_at: datetime


def _entry(row: LedgerRow) -> LedgerEntry:
    return LedgerEntry(
        key=row.key,
        sobject=row.sobject,
        salesforce_id=row.salesforce_id,
        connector=row.connector,
        mailbox=row.mailbox,
        kind=row.kind,
        occurred_at=row.occurred_at,
        what_id=row.what_id,
        match_trace=row.match_trace,
        written_at=row.written_at,
    )


class Ledger:
    """Look up and record written activity keys."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def lookup(self, keys: Iterable[str]) -> dict[str, LedgerEntry]:
        """The entries of those ``keys`` already written, by key (absent = not written)."""
        wanted = sorted(set(keys))
        found: dict[str, LedgerEntry] = {}
        if not wanted:
            return found
        with self._scope.session(write=False) as session:
            for part in chunks(wanted, LOOKUP_CHUNK):
                for row in session.scalars(select(LedgerRow).where(LedgerRow.key.in_(part))):
                    found[row.key] = _entry(row)
        return found

    def get(self, key: str) -> LedgerEntry | None:
        """One entry, or None."""
        return self.lookup([key]).get(key)

    def record(self, entries: Sequence[LedgerEntry]) -> int:
        """Record written entries and their mailboxes' sightings; returns how many were new.

        A key already present keeps its first row (the upsert by key made the same record), so
        replaying a batch after a crash is harmless.
        """
        if not entries:
            return 0
        now = self._scope.now()
        rows = []
        for entry in entries:
            if entry.sobject not in SOBJECTS:
                raise ValueError(f"sobject must be one of {SOBJECTS}, not {entry.sobject!r}")
            rows.append(
                {
                    "key": entry.key,
                    "sobject": entry.sobject,
                    "salesforce_id": entry.salesforce_id,
                    "connector": entry.connector,
                    "mailbox": entry.mailbox,
                    "kind": entry.kind,
                    "what_id": entry.what_id,
                    "occurred_at": entry.occurred_at,
                    "written_at": entry.written_at or now,
                    "match_trace": entry.match_trace,
                }
            )
        new = 0
        with self._scope.session() as session:
            for part in chunks(rows, INSERT_CHUNK):
                stmt = insert_for(session, LedgerRow).values(part).on_conflict_do_nothing()
                new += len(session.execute(stmt.returning(LedgerRow.key)).all())
            self._see(session, [(e.key, e.connector, e.mailbox) for e in entries], now)
        return new

    def see(self, connector: str, mailbox: str, keys: Iterable[str]) -> int:
        """Record that ``mailbox`` saw these already-written keys; returns new sightings."""
        with self._scope.session() as session:
            return self._see(session, [(k, connector, mailbox) for k in keys], self._scope.now())

    def relate(self, key: str, relation_ids: Iterable[str]) -> None:
        """Remember EventRelations created for ``key`` (in its match trace's ``related``)."""
        ids = set(relation_ids)
        if not ids:
            return
        with self._scope.session() as session:
            row = session.get(LedgerRow, key, with_for_update=True)
            if row is None:
                return
            trace = dict(row.match_trace) if isinstance(row.match_trace, dict) else {}
            trace["related"] = sorted(ids | set(trace.get("related") or ()))
            row.match_trace = trace

    def sightings(self, key: str) -> list[Sighting]:
        """Every mailbox that saw ``key``, first seen first."""
        with self._scope.session(write=False) as session:
            rows = session.scalars(
                select(SightingRow)
                .where(SightingRow.key == key)
                .order_by(SightingRow.seen_at, SightingRow.connector, SightingRow.mailbox)
            )
            return [Sighting(r.key, r.connector, r.mailbox, r.seen_at) for r in rows]

    def last_activity(
        self, what_ids: Iterable[str], until: datetime | None = None
    ) -> dict[str, datetime]:
        """Latest ``occurred_at`` written against each WhatId, up to ``until`` when given."""
        wanted = sorted(set(what_ids))
        latest: dict[str, datetime] = {}
        with self._scope.session(write=False) as session:
            for part in chunks(wanted, LOOKUP_CHUNK):
                stmt = select(LedgerRow.what_id, func.max(LedgerRow.occurred_at)).where(
                    LedgerRow.what_id.in_(part)
                )
                if until is not None:
                    stmt = stmt.where(LedgerRow.occurred_at <= until)
                stmt = stmt.group_by(LedgerRow.what_id)
                for what_id, when in session.execute(stmt):
                    latest[what_id] = when
        return latest

    def count(self) -> int:
        """Number of keys in the ledger."""
        with self._scope.session(write=False) as session:
            return session.scalar(select(func.count()).select_from(LedgerRow)) or 0

    def count_by_kind(self) -> dict[tuple[str, str], int]:
        """Number of keys per (connector, kind): what was written, for the metrics."""
        stmt = select(LedgerRow.connector, LedgerRow.kind, func.count()).group_by(
            LedgerRow.connector, LedgerRow.kind
        )
        with self._scope.session(write=False) as session:
            return {(c, k): int(n) for c, k, n in session.execute(stmt)}

    @staticmethod
    def _see(session: Any, seen: list[tuple[str, str, str]], now: datetime) -> int:
        unique = sorted(set(seen))
        new = 0
        for part in chunks(unique, INSERT_CHUNK):
            values = [{"key": k, "connector": c, "mailbox": m, "seen_at": now} for k, c, m in part]
            stmt = insert_for(session, SightingRow).values(values).on_conflict_do_nothing()
            new += len(session.execute(stmt.returning(SightingRow.key)).all())
        return new
