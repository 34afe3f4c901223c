"""Run history: one row per sync pass of a unit, for status, lag and "last error".

Error text is the exception's class name and its redacted, capped message — never a secret,
never a payload. Counts are the pass's outcome totals (the same names as ``counts.py``).

The table must not grow by a row per pass for ever: a daemon over 1,000 mailboxes every 30 s
runs 2.9 million passes a day, nearly all finding nothing. So a pass that finishes ``ok`` with
nothing counted replaces the unit's previous run when that one found nothing either (a stretch
of idle passes is recorded by its latest), and :meth:`Runs.prune` drops runs older than the
retention, keeping each unit's latest run, latest success and latest error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, union_all, update

from syncd.state.schema import RunRow
from syncd.state.scope import Scope


@dataclass(frozen=True)
class Run:
    """One sync pass."""

    id: int
    connector: str
    mailbox: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    counts: dict[str, int] | None
    error_class: str | None
    error_message: str | None


def _idle(counts: Mapping[str, int] | None) -> bool:
    """A pass that found nothing: no outcome counted (vendor quota spent is not an outcome)."""
    return not counts or not any(n for k, n in counts.items() if k != "quota_units")


def to_run(row: RunRow) -> Run:
    """Detach a row into a ``Run``."""
    return Run(
        id=row.id,
        connector=row.connector,
        mailbox=row.mailbox,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        counts=row.counts,
        error_class=row.error_class,
        error_message=row.error_message,
    )


class Runs:
    """Start and finish runs; find the last success and recent errors."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def start(self, connector: str, mailbox: str) -> int:
        """Record the start of a pass; returns the run id."""
        with self._scope.session() as session:
            row = RunRow(
                connector=connector,
                mailbox=mailbox,
                started_at=self._scope.now(),
                status="running",
            )
            session.add(row)
            session.flush()
            return row.id

    def finish(
        self,
        run_id: int,
        counts: Mapping[str, int] | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Record the end of a pass: ``ok``, or ``error`` with the exception's class and text."""
        values: dict[str, object] = {
            "finished_at": self._scope.now(),
            "status": "ok" if error is None else "error",
            "counts": dict(counts) if counts is not None else None,
        }
        if error is not None:
            values["error_class"] = type(error).__name__
            values["error_message"] = self._scope.clean_error(str(error))
        with self._scope.session() as session:
            session.execute(update(RunRow).where(RunRow.id == run_id).values(**values))
            if error is None and _idle(counts):
                row = session.get(RunRow, run_id)
                if row is not None:
                    previous = session.scalars(
                        select(RunRow)
                        .where(
                            RunRow.connector == row.connector,
                            RunRow.mailbox == row.mailbox,
                            RunRow.id != run_id,
                            RunRow.started_at <= row.started_at,
                        )
                        .order_by(RunRow.started_at.desc(), RunRow.id.desc())
                        .limit(1)
                    ).first()
                    if previous is not None and previous.status == "ok" and _idle(previous.counts):
                        session.delete(previous)

    def prune(self, before: datetime) -> int:
        """Delete runs started before ``before``, but not a unit's latest (success, error).

        Returns how many were deleted.
        """
        per_unit = (RunRow.connector, RunRow.mailbox)
        kept = union_all(
            select(func.max(RunRow.id)).group_by(*per_unit),
            select(func.max(RunRow.id)).where(RunRow.status == "ok").group_by(*per_unit),
            select(func.max(RunRow.id)).where(RunRow.status == "error").group_by(*per_unit),
        ).subquery()
        stmt = delete(RunRow).where(RunRow.started_at < before, RunRow.id.not_in(select(kept.c[0])))
        with self._scope.session() as session:
            return int(session.execute(stmt).rowcount or 0)

    def get(self, run_id: int) -> Run | None:
        """One run, or None."""
        with self._scope.session(write=False) as session:
            row = session.get(RunRow, run_id)
            return to_run(row) if row else None

    def last(self, connector: str, mailbox: str, status: str | None = None) -> Run | None:
        """The unit's most recent run (by start, then id), optionally only with ``status``.

        Ordered by ``started_at`` so the database walks the unit's own index
        (connector, mailbox, started_at) backwards and stops at the first match. Ordered by id
        alone, SQLite read every run with that status of every unit and sorted them: the
        daemon asks this once per unit per round, and the runs table grows by a row per pass,
        so a round over 1,000 mailboxes every 30 s slowed by about 10 s per 100 rounds.
        """
        stmt = select(RunRow).where(RunRow.connector == connector, RunRow.mailbox == mailbox)
        if status is not None:
            stmt = stmt.where(RunRow.status == status)
        newest = stmt.order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(1)
        with self._scope.session(write=False) as session:
            row = session.scalars(newest).first()
            return to_run(row) if row else None

    def last_success(self, connector: str, mailbox: str) -> Run | None:
        """The unit's most recent run that finished ``ok``."""
        return self.last(connector, mailbox, status="ok")

    def recent_errors(
        self, *, connector: str | None = None, mailbox: str | None = None, limit: int = 20
    ) -> list[Run]:
        """The most recent failed runs, newest first."""
        stmt = select(RunRow).where(RunRow.status == "error")
        if connector is not None:
            stmt = stmt.where(RunRow.connector == connector)
        if mailbox is not None:
            stmt = stmt.where(RunRow.mailbox == mailbox)
        with self._scope.session(write=False) as session:
            rows = session.scalars(stmt.order_by(RunRow.id.desc()).limit(limit))
            return [to_run(row) for row in rows]
