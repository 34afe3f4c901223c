"""The store's identity, checked on every commit: a deleted or replaced store stops syncd.

A SQLite file deleted under a running daemon goes on taking writes (the process still holds
the unlinked file), and after a restart the ledger starts empty: every activity would be
written again. So the store is known by a row written when it was created
(``store_identity``, a random id) and, for SQLite, by the file's device and inode. Before
every commit of a writing session both are compared with what was read at open; a mismatch
(the file is gone, is another file, or the database was re-created) raises
:class:`~syncd.errors.StoreReplaced` and the transaction rolls back.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from syncd.errors import StoreReplaced
from syncd.state.schema import StoreIdentityRow


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a file-based SQLite engine, else None."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if str(url.database).startswith("file:"):
        return None  # a URI filename: not a plain path we can stat
    return Path(str(url.database)).resolve()


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class StoreIdentity:
    """What the store was when opened; :meth:`check` fails when that is no longer so."""

    def __init__(self, engine: Engine) -> None:
        self.path = sqlite_path(engine)
        self.file = _file_id(self.path) if self.path is not None else None
        self.store_id: str | None = None
        #: Told once when the check first fails, wherever the commit came from (a pass, a
        #: lease renewal, a readiness probe): the daemon stops itself there.
        self.on_lost: Callable[[StoreReplaced], None] | None = None
        self._lost: StoreReplaced | None = None
        with engine.connect() as connection:
            if inspect(connection).has_table(StoreIdentityRow.__tablename__):
                self.store_id = connection.scalar(select(StoreIdentityRow.store_id))

    def check(self, session: Session) -> None:
        """Raise :class:`StoreReplaced` unless the store is still the one opened."""
        try:
            self._compare(session)
        except StoreReplaced as exc:
            first, self._lost = self._lost is None, self._lost or exc
            if first and self.on_lost is not None:
                self.on_lost(exc)
            raise

    def _compare(self, session: Session) -> None:
        if self.path is not None and self.file is not None:
            now = _file_id(self.path)
            if now != self.file:
                what = "was deleted" if now is None else "was replaced by another file"
                raise StoreReplaced(
                    f"the state store {self.path} {what} while syncd was running; nothing more"
                    " is written to it. Restore the file from a backup (or move it back) and"
                    " start syncd again; starting on an empty store writes every activity"
                    " again"
                )
        if self.store_id is not None:
            found = session.scalar(select(StoreIdentityRow.store_id))
            if found != self.store_id:
                raise StoreReplaced(
                    "the state store is not the one syncd opened (its identity row changed:"
                    " the database was re-created or restored from elsewhere); restart syncd"
                    " to use it as it is now"
                )

    def guard(self, sessions: sessionmaker[Session]) -> None:
        """Check before every commit of sessions made by ``sessions``."""
        event.listen(sessions, "before_commit", self.check)
