"""Deal-risk flags: persistence of the raised → alerted → resolved (or snoozed) lifecycle.

The rules engine decides *when* a flag changes; this store keeps one open flag per
(opportunity, rule) — a partial unique index enforces it — and the history of resolved ones.
Severity is an integer so "got worse" is a comparison.

A rules run changes thousands of flags at once: :meth:`Flags.raise_many`,
:meth:`Flags.update_many` and :meth:`Flags.resolve_many` do it with set-based statements, inside
the caller's ``store.transaction()`` so the flags and their queued alerts commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from syncd.state.schema import FlagRow
from syncd.state.scope import Scope, chunks

#: Ids per IN (…) list when resolving.
CHUNK = 500


@dataclass(frozen=True)
class Flag:
    """A flag on an opportunity raised by a rule."""

    id: int
    opportunity_id: str
    rule: str
    state: str
    severity: int
    details: Any
    first_raised: datetime
    updated_at: datetime
    last_alerted: datetime | None
    snoozed_until: datetime | None
    resolved_at: datetime | None


def _flag(row: FlagRow) -> Flag:
    return Flag(
        id=row.id,
        opportunity_id=row.opportunity_id,
        rule=row.rule,
        state=row.state,
        severity=row.severity,
        details=row.details,
        first_raised=row.first_raised,
        updated_at=row.updated_at,
        last_alerted=row.last_alerted,
        snoozed_until=row.snoozed_until,
        resolved_at=row.resolved_at,
    )


class Flags:
    """Raise, alert, snooze and resolve flags."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def open_flag(self, opportunity_id: str, rule: str) -> Flag | None:
        """The open (not resolved) flag for this opportunity and rule, or None."""
        with self._scope.session(write=False) as session:
            row = self._open_row(session, opportunity_id, rule)
            return _flag(row) if row else None

    def list_open(self, rule: str | None = None) -> list[Flag]:
        """Every open flag, optionally of one rule, by opportunity."""
        stmt = select(FlagRow).where(FlagRow.state != "resolved")
        if rule is not None:
            stmt = stmt.where(FlagRow.rule == rule)
        with self._scope.session(write=False) as session:
            rows = session.scalars(stmt.order_by(FlagRow.opportunity_id, FlagRow.rule))
            return [_flag(row) for row in rows]

    def get(self, flag_id: int) -> Flag | None:
        """One flag, or None."""
        with self._scope.session(write=False) as session:
            row = session.get(FlagRow, flag_id)
            return _flag(row) if row else None

    def raise_flag(
        self, opportunity_id: str, rule: str, severity: int, details: Any = None
    ) -> tuple[Flag, Flag | None]:
        """Raise a flag, or update the open one; returns (flag now, flag before or None)."""
        now = self._scope.now()
        with self._scope.session() as session:
            row = self._open_row(session, opportunity_id, rule, lock=True)
            before = _flag(row) if row else None
            if row is None:
                row = FlagRow(
                    opportunity_id=opportunity_id,
                    rule=rule,
                    state="raised",
                    first_raised=now,
                )
                session.add(row)
            row.severity = severity
            row.details = details
            row.updated_at = now
            session.flush()
            return _flag(row), before

    def mark_alerted(self, flag_id: int) -> Flag:
        """Record that the flag's alert went out now."""
        now = self._scope.now()
        return self._change(flag_id, state="alerted", last_alerted=now)

    def snooze(self, flag_id: int, until: datetime) -> Flag:
        """Keep the flag silent until ``until``."""
        return self._change(flag_id, state="snoozed", snoozed_until=until)

    def resolve(self, flag_id: int) -> Flag:
        """Close the flag: its condition cleared."""
        return self._change(flag_id, state="resolved", resolved_at=self._scope.now())

    def raise_many(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
        """Insert new open flags (FlagRow column values); returns (opportunity, rule) → id."""
        if not rows:
            return {}
        stmt = insert(FlagRow).returning(FlagRow.id, FlagRow.opportunity_id, FlagRow.rule)
        with self._scope.session() as session:
            return {(opp, rule): flag_id for flag_id, opp, rule in session.execute(stmt, rows)}

    def update_many(self, changes: Sequence[dict[str, Any]]) -> None:
        """Set the given columns of each flag (every change has its ``id``)."""
        with self._scope.session() as session:
            # Same keys per statement: SQLAlchemy batches an executemany per key set.
            for keys in {tuple(sorted(c)) for c in changes}:
                session.execute(update(FlagRow), [c for c in changes if tuple(sorted(c)) == keys])

    def resolve_many(self, flag_ids: Sequence[int], now: datetime) -> None:
        """Close these flags at ``now``: their condition cleared."""
        with self._scope.session() as session:
            for part in chunks(list(flag_ids), CHUNK):
                session.execute(
                    update(FlagRow)
                    .where(FlagRow.id.in_(part))
                    .values(state="resolved", resolved_at=now, updated_at=now)
                )

    def annotate(self, flag_id: int, key: str, entry: Any) -> Flag:
        """Append ``entry`` to the list ``details[key]`` (who did what to the flag)."""
        with self._scope.session() as session:
            row = session.get(FlagRow, flag_id, with_for_update=True)
            if row is None:
                raise KeyError(f"no flag with id {flag_id}")
            details = dict(row.details or {})
            details[key] = [*details.get(key, []), entry]
            row.details = details
            row.updated_at = self._scope.now()
            session.flush()
            return _flag(row)

    def _change(self, flag_id: int, **values: Any) -> Flag:
        with self._scope.session() as session:
            row = session.get(FlagRow, flag_id, with_for_update=True)
            if row is None:
                raise KeyError(f"no flag with id {flag_id}")
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = self._scope.now()
            session.flush()
            return _flag(row)

    @staticmethod
    def _open_row(session: Any, opportunity_id: str, rule: str, lock: bool = False) -> Any:
        stmt = select(FlagRow).where(
            FlagRow.opportunity_id == opportunity_id,
            FlagRow.rule == rule,
            FlagRow.state != "resolved",
        )
        if lock:
            stmt = stmt.with_for_update()
        return session.scalars(stmt).first()
