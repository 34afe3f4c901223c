"""One process per SQLite state store: an exclusive lock naming its holder.

SQLite is the embedded store of *one* process: the org-wide job locks
(:mod:`syncd.state.locks`) exist only inside that process, so two ``syncd run`` on one file
would both run the rules and post every alert twice. A process that works on the store
(``run``, ``sync``, ``backfill``, rematch, retries) therefore takes an exclusive
``flock`` on ``<database>.lock`` beside the database and writes its pid, host and command
into it; a second one refuses at once with :class:`~syncd.errors.StoreHeld` naming them.
The kernel releases the lock when the process ends, however it ends, so a stale file never
blocks. Stores opened on the same file within one process share the lock (the in-process
job locks do their work there). Read-only commands (``status``, ``unmatched list``) do not
take it: SQLite's WAL lets them read beside the writer. PostgreSQL is the way to run several
processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

from syncd.errors import StoreHeld

#: Lock file → [its descriptor, how many stores of this process hold it].
_held: dict[Path, list[int]] = {}
_guard = threading.Lock()


class ProcessLock:
    """The exclusive lock of one SQLite database file, held until :meth:`release`."""

    def __init__(self, database: str | Path, command: str = "") -> None:
        self.database = Path(database)
        self.path = self.database.with_name(self.database.name + ".lock")
        self.command = command
        self._fd: int | None = None

    def acquire(self) -> ProcessLock:
        """Take the lock, or raise :class:`StoreHeld` naming the holder; never waits."""
        key = self.path.resolve()
        with _guard:
            if key in _held:  # another store of this process holds it already
                _held[key][1] += 1
                self._fd = _held[key][0]
                return self
            self._fd = self._take()
            _held[key] = [self._fd, 1]
        return self

    def _take(self) -> int:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(os.pread(fd, 4096, 0))
            os.close(fd)
            raise StoreHeld(
                f"the state store {self.database} is in use by {holder}. SQLite serves one"
                " process: stop that one first, or move [state] url to PostgreSQL to run"
                " several"
            ) from None
        os.ftruncate(fd, 0)
        facts = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.pwrite(fd, json.dumps(facts).encode(), 0)
        return fd

    def release(self) -> None:
        """Let the lock go (the file stays: removing it would race the next holder)."""
        if self._fd is None:
            return
        self._fd = None
        key = self.path.resolve()
        with _guard:
            entry = _held.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _held[key]
        with contextlib.suppress(OSError):
            fcntl.flock(entry[0], fcntl.LOCK_UN)
        os.close(entry[0])


def _describe(raw: bytes) -> str:
    try:
        facts = json.loads(raw.decode() or "{}")
    except ValueError:
        facts = {}
    if not isinstance(facts, dict) or "pid" not in facts:
        return "another process"
    what = f" ({facts['command']})" if facts.get("command") else ""
    return f"pid {facts['pid']} on host {facts.get('host', '?')}{what} since {facts.get('since')}"
