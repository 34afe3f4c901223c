"""``Store``: the one entry point to syncd's state, and its transaction.

``Store.open(url)`` applies migrations and returns a store whose attributes are the small
stores (``cursors``, ``ledger``, ``counts``, ``unmatched``, ``dead_letters``, ``flags``,
``alerts``, ``runs``, ``leases``); each call on them is its own transaction.

``with store.transaction() as tx:`` gives the same stores (but not leases, which must commit on
their own) bound to one session: the capture runner records ledger rows, counters, unmatched
and dead-letter rows and advances the cursor there, so all of it commits together or not at
all. An exception inside the block rolls everything back and propagates.

Every writing commit first checks the store's identity (:mod:`syncd.state.identity`): a file
deleted or replaced under the process raises ``StoreReplaced`` instead of writing on.
``Store.open(url, hold="run")`` also takes the single-process lock of a SQLite file
(:mod:`syncd.state.single_process`). :meth:`Store.commit_problem` is the readiness probe: a
real write, so a full disk or a read-only file shows, not only a dead connection.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType

from sqlalchemy import Engine, update
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from syncd.logs import Redactor
from syncd.state.alerts import Alerts
from syncd.state.counts import Counts
from syncd.state.cursors import Cursors
from syncd.state.dead_letters import DeadLetters
from syncd.state.engine import make_engine, reader
from syncd.state.flags import Flags
from syncd.state.identity import StoreIdentity, sqlite_path
from syncd.state.leases import Leases
from syncd.state.ledger import Ledger
from syncd.state.locks import try_advisory_lock
from syncd.state.migrate import current_revision, head_revision, upgrade_engine
from syncd.state.runs import Runs
from syncd.state.schema import StoreIdentityRow
from syncd.state.scope import Clock, Redact, Scope, utc_now
from syncd.state.single_process import ProcessLock
from syncd.state.status import StatusReport, build_status
from syncd.state.unmatched import Unmatched

log = logging.getLogger(__name__)


class _Stores:
    """The stores that can share a transaction, built over one scope."""

    def __init__(self, scope: Scope) -> None:
        self.cursors = Cursors(scope)
        self.ledger = Ledger(scope)
        self.counts = Counts(scope)
        self.unmatched = Unmatched(scope)
        self.dead_letters = DeadLetters(scope)
        self.flags = Flags(scope)
        self.alerts = Alerts(scope)
        self.runs = Runs(scope)


class Transaction(_Stores):
    """The stores bound to one open transaction (see the module docstring)."""

    def __init__(self, scope: Scope, session: Session) -> None:
        super().__init__(scope)
        self.session = session


class Store(_Stores):
    """syncd's state store on SQLite or PostgreSQL."""

    def __init__(
        self, engine: Engine, *, clock: Clock = utc_now, redact: Redact | None = None
    ) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(reader(engine), expire_on_commit=False)
        self._scope = Scope(
            factory=self._sessions,
            read_factory=self._read_sessions,
            clock=clock,
            redact=redact or Redactor(),
        )
        super().__init__(self._scope)
        self.leases = Leases(self._scope)
        self.identity = StoreIdentity(engine)
        self.identity.guard(self._sessions)
        self._lock: ProcessLock | None = None

    @classmethod
    def open(
        cls,
        url: str | URL,
        *,
        clock: Clock = utc_now,
        redact: Redact | None = None,
        migrate: bool = True,
        hold: str | None = None,
    ) -> Store:
        """Connect to ``url``, bring its schema to head (unless ``migrate`` is False), return it.

        ``hold`` (the command's name) takes the single-process lock of a SQLite file first,
        raising ``StoreHeld`` naming the holder when another process has it.
        """
        engine = make_engine(url)
        path = sqlite_path(engine)
        lock = ProcessLock(path, hold).acquire() if hold and path is not None else None
        try:
            if migrate:
                upgrade_engine(engine)
            store = cls(engine, clock=clock, redact=redact)
        except Exception:
            engine.dispose()
            if lock is not None:
                lock.release()
            raise
        store._lock = lock
        log.debug("state store opened on %s", engine.dialect.name)
        return store

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction for several stores: all of it commits, or none of it."""
        with self._sessions.begin() as session:
            yield Transaction(self._scope.bound(session), session)

    def status(self) -> StatusReport:
        """Per unit: cursors, last run, last success, last error, counts; plus totals."""
        with self._read_sessions.begin() as session:
            return build_status(session, self._scope.now())

    def try_advisory_lock(self, name: str) -> AbstractContextManager[bool]:
        """``with store.try_advisory_lock("rules") as held:`` — run the job only if ``held``."""
        return try_advisory_lock(self.engine, name)

    def schema_revision(self) -> tuple[str | None, str | None]:
        """(the database's revision, the newest revision this syncd ships)."""
        return current_revision(self.engine), head_revision()

    def commit_problem(self) -> str | None:
        """None when a write commits now, else the error class (full disk, read-only, gone)."""
        try:
            with self.transaction() as tx:
                tx.session.execute(update(StoreIdentityRow).values(checked_at=self._scope.now()))
        except Exception as exc:  # noqa: BLE001 - any failure to commit is the answer here
            log.warning("state store cannot commit: %s", type(exc).__name__)
            return type(exc).__name__
        return None

    def close(self) -> None:
        """Release every pooled connection and the single-process lock."""
        self.engine.dispose()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        # Never the password: the URL may carry one.
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"
