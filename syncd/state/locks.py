"""Advisory locks for org-wide jobs (rules, digests, directory refresh): one holder at a time.

On PostgreSQL the lock is ``pg_try_advisory_lock`` on a dedicated autocommit connection kept
open for as long as the ``with`` block runs; it is released on exit, or by the server if the
process dies (the connection drops). Advisory locks belong to the whole database while syncd's
tables belong to a schema (the URL's search_path), so the key names the schema too: two
deployments in two schemas of one database (staging and production) never take each other's
locks and skip their own rules run for it. On SQLite there is one process by design, so the lock is
an in-process, non-blocking ``threading.Lock`` per (database, name).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select

_local_locks: dict[tuple[str, str], threading.Lock] = {}
_registry_guard = threading.Lock()


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL advisory locks take a bigint)."""
    raw = int.from_bytes(hashlib.blake2b(f"syncd:{name}".encode(), digest_size=8).digest(), "big")
    return raw - (1 << 64) if raw >= 1 << 63 else raw


@contextmanager
def try_advisory_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Try to take the lock ``name`` without waiting; yields whether this caller holds it."""
    if engine.dialect.name == "postgresql":
        with _postgres_lock(engine, name) as held:
            yield held
        return
    with _local_lock(engine, name) as held:
        yield held


@contextmanager
def _postgres_lock(engine: Engine, name: str) -> Iterator[bool]:
    # Autocommit: a session-level lock must not pin an idle open transaction for hours.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        schema = connection.scalar(select(func.current_schema()))
        key = lock_key(f"{schema}/{name}")
        held = bool(connection.scalar(select(func.pg_try_advisory_lock(key))))
        try:
            yield held
        finally:
            if held:
                connection.scalar(select(func.pg_advisory_unlock(key)))


@contextmanager
def _local_lock(engine: Engine, name: str) -> Iterator[bool]:
    ident = (engine.url.render_as_string(hide_password=True), name)
    with _registry_guard:
        lock = _local_locks.setdefault(ident, threading.Lock())
    held = lock.acquire(blocking=False)
    try:
        yield held
    finally:
        if held:
            lock.release()
