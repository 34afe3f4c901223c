"""``store.status()``: per unit, cursors, last run, last success, last error and counts.

The result is plain frozen dataclasses; ``as_dict()`` turns a report into JSON-ready values
(datetimes as ISO 8601 strings in UTC) for ``syncd status --json`` and the web status page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syncd.state.schema import (
    CursorRow,
    DeadLetterRow,
    LeaseRow,
    OutcomeCountRow,
    RunRow,
    UnmatchedRow,
)


@dataclass(frozen=True)
class StreamStatus:
    """One stream's cursor."""

    stream: str
    value: str | None
    updated_at: datetime
    resync_count: int
    last_error: str | None


@dataclass(frozen=True)
class RunSummary:
    """A run as status shows it."""

    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int] | None
    error_class: str | None
    error_message: str | None


@dataclass(frozen=True)
class UnitStatus:
    """Everything status knows about one (connector, mailbox)."""

    connector: str
    mailbox: str
    cursors: list[StreamStatus] = field(default_factory=list)
    last_run: RunSummary | None = None
    last_success: datetime | None = None
    last_error: RunSummary | None = None
    counts: dict[str, int] = field(default_factory=dict)
    lease_holder: str | None = None
    lease_expires_at: datetime | None = None


@dataclass(frozen=True)
class StatusReport:
    """The whole store at a glance."""

    generated_at: datetime
    units: list[UnitStatus]
    unmatched_total: int
    dead_letters_open: int

    def unit(self, connector: str, mailbox: str) -> UnitStatus | None:
        """The status of one unit, or None."""
        for unit in self.units:
            if (unit.connector, unit.mailbox) == (connector, mailbox):
                return unit
        return None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``json.dumps(report.as_dict())`` works."""
        converted = _jsonable(asdict(self))
        assert isinstance(converted, dict)
        return converted


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _summary(row: RunRow) -> RunSummary:
    return RunSummary(
        id=row.id,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        counts=row.counts,
        error_class=row.error_class,
        error_message=row.error_message,
    )


def _latest_runs(session: Session, status: str | None) -> dict[tuple[str, str], RunRow]:
    newest = select(func.max(RunRow.id)).group_by(RunRow.connector, RunRow.mailbox)
    if status is not None:
        newest = newest.where(RunRow.status == status)
    rows = session.scalars(select(RunRow).where(RunRow.id.in_(newest.scalar_subquery())))
    return {(row.connector, row.mailbox): row for row in rows}


def build_status(session: Session, now: datetime) -> StatusReport:
    """Read the status of every unit known to cursors, runs, counters or leases."""
    cursors: dict[tuple[str, str], list[StreamStatus]] = {}
    for c in session.scalars(select(CursorRow).order_by(CursorRow.stream)):
        cursors.setdefault((c.connector, c.mailbox), []).append(
            StreamStatus(c.stream, c.value, c.updated_at, c.resync_count, c.last_error)
        )
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for o in session.scalars(select(OutcomeCountRow)):
        counts.setdefault((o.connector, o.mailbox), {})[o.outcome] = o.count
    last = _latest_runs(session, None)
    success = _latest_runs(session, "ok")
    failure = _latest_runs(session, "error")
    leases: dict[tuple[str, str], LeaseRow] = {}
    for lease in session.scalars(select(LeaseRow).where(LeaseRow.holder.is_not(None))):
        connector, _, mailbox = lease.unit_key.partition("/")
        leases[(connector, mailbox)] = lease

    units = []
    for key in sorted(set(cursors) | set(counts) | set(last) | set(leases)):
        lease_row = leases.get(key)
        units.append(
            UnitStatus(
                connector=key[0],
                mailbox=key[1],
                cursors=cursors.get(key, []),
                last_run=_summary(last[key]) if key in last else None,
                last_success=success[key].finished_at if key in success else None,
                last_error=_summary(failure[key]) if key in failure else None,
                counts=counts.get(key, {}),
                lease_holder=lease_row.holder if lease_row else None,
                lease_expires_at=lease_row.expires_at if lease_row else None,
            )
        )
    unmatched = session.scalar(select(func.count()).select_from(UnmatchedRow)) or 0
    dead = session.scalar(select(func.count()).where(DeadLetterRow.resolved.is_(False))) or 0
    return StatusReport(
        generated_at=now, units=units, unmatched_total=unmatched, dead_letters_open=dead
    )
