"""Engine construction: URL normalisation and per-backend connection settings.

SQLite is the embedded default for one process: WAL so readers never block the writer, a busy
timeout so concurrent writers wait instead of failing, foreign keys on, and every transaction
writing transaction begun with ``BEGIN IMMEDIATE`` so a writer takes the lock up front (a
deferred transaction that upgrades from read to write fails at once with "database is locked"
instead of waiting). Read-only work uses ``reader(engine)``, whose transactions begin deferred:
in WAL mode they neither wait for nor block the writer.
PostgreSQL goes through psycopg 3; a plain ``postgresql://`` URL is accepted and normalised.

PostgreSQL connections give up connecting after :data:`PG_CONNECT_TIMEOUT` seconds unless the
URL says otherwise (``?connect_timeout=``): libpq waits forever by default, so a host that
went silent (an old primary's address after a failover) held a capture round, and a SIGTERM
waiting for it, indefinitely. Established connections use TCP keepalives and a TCP user timeout
(:data:`PG_TCP`), so one whose peer vanished mid-query (a network partition) fails in about a
minute instead of the kernel's default of some 15 minutes. Keys in the URL win over these.

A new SQLite file is created 0600 before SQLite opens it (its WAL and shared-memory files take
the database file's mode): it holds unmatched subjects and addresses, and a umask of 022
would leave it readable to every local user outside systemd.

Both hide statement parameters in error messages (``hide_parameters``): a failed insert would
otherwise quote the values it carried (an unmatched email's subject and participants) into
the logs and the run's stored error. The statement itself is still named.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Seconds a PostgreSQL connection attempt may take (several may come in one drain).
PG_CONNECT_TIMEOUT = 5
#: libpq TCP settings for established connections: probe after 30 s idle, every 10 s, give up
#: after 3 unanswered probes; data unacknowledged for 60 s also ends the connection.
PG_TCP = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}
READ_ONLY_OPTION = "syncd_read_only"


def normalise_url(url: str | URL) -> URL:
    """Return ``url`` with PostgreSQL pointed at the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite_memory(url: URL) -> bool:
    """True for an in-memory SQLite database, which must live on a single connection."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: str | URL) -> Engine:
    """Create the engine for ``url`` with the settings this module's docstring describes."""
    parsed = normalise_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False}
        _create_private(parsed)
        if is_sqlite_memory(parsed):
            # One shared connection, or every checkout would see an empty database.
            kwargs["poolclass"] = StaticPool
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        wanted = {"connect_timeout": PG_CONNECT_TIMEOUT, **PG_TCP}
        kwargs["connect_args"] = {k: v for k, v in wanted.items() if k not in parsed.query}
    return create_engine(parsed, **kwargs)


def _create_private(url: URL) -> None:
    """Create a missing SQLite database file with mode 0600 (owner only)."""
    if is_sqlite_memory(url) or str(url.database).startswith("file:"):
        return
    path = Path(str(url.database))
    if path.parent.is_dir():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def reader(engine: Engine) -> Engine:
    """The same engine (pool, events) marked for read-only transactions."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def _use_wal(cursor: Any) -> None:
    """Switch the database file to WAL (a lasting property of the file), once.

    Switching needs the file to itself, and SQLite answers "database is locked" at once, without
    the busy timeout, while another connection is using it: two processes opening one new
    database together (one migrating it) hit that. So: leave a file already in WAL alone, and
    otherwise retry the switch for up to the busy timeout.
    """
    (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
    if str(mode).lower() == "wal":
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)  # another connection holds the file for a moment


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" hook below emits BEGIN itself,
        # which pysqlite would otherwise defer until the first write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            _use_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
