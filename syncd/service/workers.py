"""Many workers: each (connector, mailbox) unit is worked by one worker at a time, by lease.

A worker has an id (``hostname:pid:space:random``) and goes through a job's units one lease at a
time: ``store.leases.acquire`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) hands it a unit that
is free, expired, or already its own; the pass runs; the lease is released. While the pass runs
the lease is renewed after every committed batch (the runner's ``should_stop`` hook) once a
third of the TTL has gone by, and by an optional heartbeat thread for long batches. A renewal
that comes back empty means another worker took the unit over (this one stalled past the
expiry): the pass stops at once, before its next batch, so two workers never write the same
unit's batches. A worker that dies simply stops renewing; its units are taken over after the
expiry, and because writes are upserts by key and the cursor commits with the ledger, the
batch it was writing is at worst written again, never twice.

A worker restarted on the same machine does not wait for the expiry of its dead predecessor's
leases: a worker id carries the process's pid space (boot id and pid namespace, hashed), and
when every unit left in a round is leased by someone else, :func:`holder_is_dead` checks the
holders that share this pid space; a holder whose pid no longer runs (or is a zombie) is dead,
and its leases are released (only while that holder still has them) and acquired again. Holders
on other machines or in other containers, and pids that run (even a reused pid), are never
judged: those units wait for the expiry, as before.

On SQLite (one process) the same leases work between threads of that process.

Org-wide jobs (directory refresh, rules, digests) run only on the holder of
``store.try_advisory_lock(name)``: :meth:`Worker.org_job`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncd.ports import StateStore
from syncd.state.leases import unit_key

log = logging.getLogger(__name__)

#: A unit's work: ``fn(connector, mailbox, should_stop)``; ``should_stop()`` is True when the
#: pass must end after the batch it just committed (lease lost, or the daemon is draining).
UnitWork = Callable[[str, str, Callable[[], bool]], None]

DEFAULT_TTL = timedelta(minutes=2)


def pid_space() -> str:
    """This process's pid namespace on this boot, as 8 hex digits; ``-`` where unknown.

    Two worker ids with the same pid space name pids that can be compared: one process table.
    The boot id tells a reboot apart (pids start again), the namespace tells containers apart
    (several may share a hostname with host networking, each with its own pids).
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:  # not Linux, or /proc hidden: never judge another process
        return "-"
    return hashlib.sha256(f"{boot}|{namespace}".encode()).hexdigest()[:8]


def new_worker_id() -> str:
    """``hostname:pid:space:random``: unique per process start, readable in the leases table."""
    return f"{socket.gethostname()}:{os.getpid()}:{pid_space()}:{secrets.token_hex(3)}"


def _pid_gone(pid: int) -> bool:
    """True when no process ``pid`` runs here (or it is a zombie waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: it runs
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def holder_is_dead(holder: str, me: str) -> bool:
    """True only when ``holder`` is a worker in ``me``'s pid space whose process is gone.

    Anything else (ids of another form, another machine or container, an unknown pid space,
    this process's own pid, a pid that runs) is False: the lease then waits for its expiry.
    """
    theirs, ours = holder.split(":"), me.split(":")
    if len(theirs) != 4 or len(ours) != 4 or holder == me:
        return False
    if theirs[2] == "-" or theirs[2] != ours[2] or not theirs[1].isdigit():
        return False
    pid = int(theirs[1])
    return pid != os.getpid() and pid > 0 and _pid_gone(pid)


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
        #: Set when the pass has ended, before the lease is released: a heartbeat renewal
        #: racing the release then finds the lease gone because it was given back, not lost.
        self.closed = False
        self.renewed = worker.clock()

    def renew(self) -> bool:
        if not self.held or self.closed:
            return self.held
        kept = self.worker.store.leases.renew(self.worker.id, [self.key], ttl=self.worker.ttl)
        self.renewed = self.worker.clock()
        if self.key not in kept and not self.closed:
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
        store: StateStore,
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
        quiet: Callable[[BaseException], bool] = lambda _exc: False,
    ) -> WorkReport:
        """Work each unit this worker can lease, once; units others hold are theirs this round.

        ``round_started``: a unit whose last successful pass (by any worker) started at or
        after it was already done this round and is left alone. ``quiet(exc)``: a failure the
        caller logs itself (once per outage), so no traceback here.
        """
        remaining = {unit_key(c, m): (c, m) for c, m in units}
        report = WorkReport()
        while remaining and not should_stop():
            got = self.store.leases.acquire(self.id, list(remaining), limit=1, ttl=self.ttl)
            if not got and self.take_over_dead(remaining):
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
            except Exception as exc:
                # The pass recorded its error (runs, cursors); the unit is free for next round.
                # ``quiet`` failures (an outage the caller reports once) get no traceback.
                if quiet(exc):
                    log.debug("pass failed", extra={"unit": key, "error_class": type(exc).__name__})
                else:
                    log.exception("pass failed", extra={"unit": key})
                report.failed.append(key)
            finally:
                guard.closed = True
                with self._lock:
                    self._current = None
                if guard.held:
                    self.store.leases.release(self.id, [key])
            if key not in report.failed:
                (report.done if guard.held else report.lost).append(key)
        return report

    def take_over_dead(self, units: Iterable[str]) -> int:
        """Release the leases on ``units`` held by dead workers of this pid space; how many.

        Each release names its dead holder, so a unit another worker took meanwhile stays theirs.
        """
        wanted = set(units)
        freed = 0
        for lease in self.store.leases.all():
            holder = lease.holder
            if lease.unit_key not in wanted or holder is None:
                continue
            if holder_is_dead(holder, self.id):
                released = int(self.store.leases.release(holder, [lease.unit_key]))
                if released:
                    log.warning(
                        "lease of a dead worker on this host taken over",
                        extra={"unit": lease.unit_key, "holder": holder},
                    )
                freed += released
        return freed

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
