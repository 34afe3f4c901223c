"""Leases: which worker works on which (connector, mailbox) unit, and until when.

Several ``syncd run`` processes share one PostgreSQL store. ``acquire`` picks up to N units
that are free, expired, or already this worker's, with ``SELECT … FOR UPDATE SKIP LOCKED`` so
two workers choosing at the same moment skip each other's candidate rows instead of waiting or
double-booking. On SQLite (one process) the same statement runs inside a ``BEGIN IMMEDIATE``
write transaction, which serialises choosers; FOR UPDATE is simply not rendered there.
A killed worker stops renewing; once ``expires_at`` passes, its units are taken over.

Times come from the store clock, so workers' clocks must agree to well within the lease TTL.

A unit's row is inserted the first time it is asked for, and this process remembers which rows
it has made sure of: a round over N units calls ``acquire`` N times with the units still left,
and inserting all of them again each time cost O(N²) rows per round (at 1,000 mailboxes most
of a 30-second round). Rows are never deleted by syncd; should one vanish anyway, an acquire
that finds nothing forgets what it remembered of those units and the next one inserts again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update

from syncd.state.schema import LeaseRow
from syncd.state.scope import Scope, chunks, insert_for


def unit_key(connector: str, mailbox: str) -> str:
    """The lease key of a unit: ``connector/mailbox``."""
    return f"{connector}/{mailbox}"


@dataclass(frozen=True)
class Lease:
    """Who holds a unit until when (holder None = free)."""

    unit_key: str
    holder: str | None
    expires_at: datetime | None
    acquired_at: datetime | None
    renewed_at: datetime | None


class Leases:
    """Acquire, renew and release unit leases; each call is its own transaction."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        #: Unit keys whose rows this instance has inserted or found (see the module docstring).
        self._known: set[str] = set()

    def acquire(
        self, worker: str, units: Iterable[str], *, limit: int, ttl: timedelta
    ) -> list[str]:
        """Lease up to ``limit`` of ``units`` to ``worker``; returns the units it now holds.

        Units the worker already holds come first (and are renewed), then free ones, then
        expired ones, oldest expiry first so every unit gets its turn. Free units go least
        recently leased first (never leased before all): in a round shared by several workers,
        a unit another worker has just done was leased moments ago, so it comes after every unit
        nobody has done yet, and workers do not lease, check and give back each other's finished
        units one by one while there is work left.
        """
        wanted = sorted(set(units))
        if not wanted or limit <= 0:
            return []
        self._ensure_rows(wanted)
        now = self._scope.now()
        with self._scope.session() as session:
            mine = LeaseRow.holder == worker
            candidates = session.scalars(
                select(LeaseRow)
                .where(
                    LeaseRow.unit_key.in_(wanted),
                    or_(LeaseRow.holder.is_(None), LeaseRow.expires_at <= now, mine),
                )
                .order_by(
                    case((mine, 0), else_=1),
                    LeaseRow.expires_at.asc().nulls_first(),
                    LeaseRow.acquired_at.asc().nulls_first(),
                    LeaseRow.unit_key,
                )
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row in candidates:
                if row.holder != worker:
                    row.acquired_at = now
                row.holder = worker
                row.expires_at = now + ttl
                row.renewed_at = now
            if not candidates:
                # All taken (or a row vanished): the next acquire makes sure of them again.
                self._known.difference_update(wanted)
            return sorted(row.unit_key for row in candidates)

    def renew(self, worker: str, units: Iterable[str], *, ttl: timedelta) -> list[str]:
        """Extend ``worker``'s unexpired leases; returns the units still held (lost ones absent)."""
        wanted = sorted(set(units))
        now = self._scope.now()
        renewed: list[str] = []
        with self._scope.session() as session:
            for part in chunks(wanted, 1000):
                result = session.execute(
                    update(LeaseRow)
                    .where(
                        LeaseRow.unit_key.in_(part),
                        LeaseRow.holder == worker,
                        LeaseRow.expires_at > now,
                    )
                    .values(expires_at=now + ttl, renewed_at=now)
                    .returning(LeaseRow.unit_key)
                )
                renewed.extend(result.scalars())
        return sorted(renewed)

    def release(self, worker: str, units: Iterable[str] | None = None) -> int:
        """Give back ``worker``'s leases (all of them when ``units`` is None)."""
        stmt = update(LeaseRow).where(LeaseRow.holder == worker)
        if units is not None:
            stmt = stmt.where(LeaseRow.unit_key.in_(sorted(set(units))))
        with self._scope.session() as session:
            result = session.execute(stmt.values(holder=None, expires_at=None))
            return result.rowcount

    def all(self) -> list[Lease]:
        """Every known unit's lease, by unit key."""
        with self._scope.session(write=False) as session:
            rows = session.scalars(select(LeaseRow).order_by(LeaseRow.unit_key))
            return [
                Lease(r.unit_key, r.holder, r.expires_at, r.acquired_at, r.renewed_at) for r in rows
            ]

    def _ensure_rows(self, units: list[str]) -> None:
        # Rows must exist before they can be locked; inserting is idempotent and committed
        # on its own so the choosing transaction below stays short. Only units not known yet.
        missing = [u for u in units if u not in self._known]
        if not missing:
            return
        with self._scope.session() as session:
            for part in chunks(missing, 500):
                values = [{"unit_key": u} for u in part]
                session.execute(
                    insert_for(session, LeaseRow).values(values).on_conflict_do_nothing()
                )
        self._known.update(missing)
