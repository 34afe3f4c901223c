"""Many workers: each (connector, mailbox) unit is worked by one worker at a time, by lease.

A worker has an id (``hostname:pid:random``) and goes through a job's units one lease at a
time: ``store.leases.acquire`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) hands it a unit that
is free, expired, or already its own; the pass runs; the lease is released. While the pass runs
the lease is renewed after every committed batch (the runner's ``should_stop`` hook) once a
third of the TTL has gone by, and by an optional heartbeat thread for long batches. A renewal
that comes back empty means another worker took the unit over (this one stalled past the
expiry): the pass stops at once, before its next batch, so two workers never write the same
unit's batches. A worker that dies simply stops renewing; its units are taken over after the
expiry, and because writes are upserts by key and the cursor commits with the ledger, the
batch it was writing is at worst written again, never twice.

On SQLite (one process) the same leases work between threads of that process.

Org-wide jobs (directory refresh, rules, digests) run only on the holder of
``store.try_advisory_lock(name)``: :meth:`Worker.org_job`.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from syncd.state.leases import unit_key

log = logging.getLogger(__name__)

#: A unit's work: ``fn(connector, mailbox, should_stop)``; ``should_stop()`` is True when the
#: pass must end after the batch it just committed (lease lost, or the daemon is draining).
UnitWork = Callable[[str, str, Callable[[], bool]], None]

DEFAULT_TTL = timedelta(minutes=2)


def new_worker_id() -> str:
    """``hostname:pid:random``: unique per process start, readable in the leases table."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WorkReport:
    """What one round over a job's units did, by unit key."""

    done: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # lease taken over mid-pass
    fresh: list[str] = field(default_factory=list)  # another worker already did it this round
    failed: list[str] = field(default_factory=list)


class _Guard:
    """One leased unit while it is worked: renews when due, knows when the lease is gone."""

    def __init__(self, worker: Worker, key: str, stop: Callable[[], bool]) -> None:
        self.worker = worker
        self.key = key
        self.stop = stop
        self.held = True
        self.renewed = worker.clock()

    def renew(self) -> bool:
        if not self.held:
            return False
        kept = self.worker.store.leases.renew(self.worker.id, [self.key], ttl=self.worker.ttl)
        self.renewed = self.worker.clock()
        if self.key not in kept:
            self.held = False
            log.warning("lease lost mid-pass; stopping", extra={"unit": self.key})
        return self.held

    def should_stop(self) -> bool:
        if self.worker.clock() - self.renewed >= self.worker.ttl / 3:
            self.renew()
        return not self.held or self.stop()


class Worker:
    """Leases units of work in one store; one instance per process (or per test thread)."""

    def __init__(
        self,
        store: Any,
        *,
        worker_id: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.id = worker_id or new_worker_id()
        self.ttl = ttl
        self.clock = clock
        self._current: _Guard | None = None
        self._lock = threading.Lock()

    def work(
        self,
        units: Iterable[tuple[str, str]],
        fn: UnitWork,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        round_started: datetime | None = None,
    ) -> WorkReport:
        """Work each unit this worker can lease, once; units others hold are theirs this round.

        ``round_started``: a unit whose last successful pass (by any worker) started at or
        after it was already done this round and is left alone.
        """
        remaining = {unit_key(c, m): (c, m) for c, m in units}
        report = WorkReport()
        while remaining and not should_stop():
            got = self.store.leases.acquire(self.id, list(remaining), limit=1, ttl=self.ttl)
            if not got:
                break  # every unit left is leased by another worker
            key = got[0]
            connector, mailbox = remaining.pop(key)
            if round_started is not None and self._done_since(connector, mailbox, round_started):
                self.store.leases.release(self.id, [key])
                report.fresh.append(key)
                continue
            guard = _Guard(self, key, should_stop)
            with self._lock:
                self._current = guard
            try:
                fn(connector, mailbox, guard.should_stop)
            except Exception:
                # The pass recorded its error (runs, cursors); the unit is free for next round.
                log.exception("pass failed", extra={"unit": key})
                report.failed.append(key)
            finally:
                with self._lock:
                    self._current = None
                if guard.held:
                    self.store.leases.release(self.id, [key])
            if key not in report.failed:
                (report.done if guard.held else report.lost).append(key)
        return report

    def _done_since(self, connector: str, mailbox: str, since: datetime) -> bool:
        # Only a finished, successful pass counts: a dead worker's pass never finishes, so its
        # unit is not mistaken for done once its lease has expired.
        last = self.store.runs.last_success(connector, mailbox)
        return last is not None and last.started_at >= since

    def heartbeat(self) -> None:
        """Renew the unit being worked now (call from a timer thread for long batches)."""
        with self._lock:
            guard = self._current
        if guard is not None:
            guard.renew()

    def release_all(self) -> int:
        """Give back every lease this worker holds (on shutdown)."""
        return int(self.store.leases.release(self.id))

    def org_job(self, name: str, fn: Callable[[], object]) -> bool:
        """Run ``fn`` only if this worker holds the advisory lock ``name``; True if it ran."""
        with self.store.try_advisory_lock(name) as held:
            if not held:
                log.debug("org-wide job held elsewhere", extra={"job": name})
                return False
            fn()
            return True


class Heartbeat:
    """A daemon thread calling ``worker.heartbeat()`` every ``every`` seconds until stopped."""

    def __init__(self, worker: Worker, every: float) -> None:
        self._worker = worker
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lease-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        """Start renewing."""
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._worker.heartbeat()
            except Exception:  # a database blip: the next beat or batch renews again
                log.warning("lease heartbeat failed", exc_info=True)

    def stop(self) -> None:
        """Stop renewing and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=5)
