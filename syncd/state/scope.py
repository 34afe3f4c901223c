"""How a store class reaches the database: its own transaction per call, or the caller's.

Every store class (cursors, ledger, …) takes a ``Scope``. ``Scope.autocommit`` opens and
commits a transaction for each call; ``Scope.bound`` reuses the one session of a
``store.transaction()`` block, so ledger rows, counters and the cursor advance commit together.
The scope also carries the clock (injected in tests) and the text redactor for error messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

Clock = Callable[[], datetime]
Redact = Callable[[str], str]

#: Longest error text kept in a row; the full text belongs in the logs, already redacted.
MAX_ERROR_CHARS = 2000


def utc_now() -> datetime:
    """The default clock: the current time, aware, in UTC."""
    return datetime.now(UTC)


class Scope:
    """A source of sessions plus the clock and redactor shared by the store classes."""

    def __init__(
        self,
        *,
        factory: sessionmaker[Session] | None = None,
        read_factory: sessionmaker[Session] | None = None,
        session: Session | None = None,
        clock: Clock = utc_now,
        redact: Redact | None = None,
    ) -> None:
        if (factory is None) == (session is None):
            raise ValueError("a Scope needs exactly one of factory or session")
        self._factory = factory
        self._read_factory = read_factory or factory
        self._session = session
        self._clock = clock
        self._redact = redact

    def bound(self, session: Session) -> Scope:
        """A scope that runs every call inside ``session``'s transaction."""
        return Scope(session=session, clock=self._clock, redact=self._redact)

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """Yield a session; commit at the end unless bound to an outer transaction.

        ``write=False`` marks read-only work, which on SQLite neither takes nor waits for the
        write lock (so reading while a ``store.transaction()`` is open cannot stall).
        """
        if self._session is not None:
            yield self._session
            return
        factory = self._factory if write else self._read_factory
        assert factory is not None
        with factory.begin() as session:
            yield session

    def now(self) -> datetime:
        """The current time from the injected clock, checked to be aware."""
        value = self._clock()
        if value.tzinfo is None:
            raise ValueError("the store's clock returned a naive datetime")
        return value.astimezone(UTC)

    def clean_error(self, text: str) -> str:
        """Redact credential-looking text and cap the length before it is stored."""
        if self._redact is not None:
            text = self._redact(text)
        if len(text) > MAX_ERROR_CHARS:
            text = text[: MAX_ERROR_CHARS - 1] + "…"
        return text


def insert_for(session: Session, table: type[Any] | Table) -> Any:
    """A dialect-specific INSERT, which offers ``on_conflict_do_nothing/do_update``."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"state store does not support the {name} backend")


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """Split ``items`` into lists of at most ``size`` (bounded statement parameters)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
