"""What the command line says when a command fails: one line with the cause and the fix.

Operators meet operational failures (a full disk, a read-only or missing state file, an
unreachable PostgreSQL, a network that is down) far more often than bugs; a raw traceback
hides the one thing they need. :func:`describe` turns any exception into ``(line, exit
code)``; the traceback is printed only with ``syncd --debug``.

Exit codes: 0 success; 1 the command ran and found a problem, or an operational failure
stopped it; 2 bad configuration or usage; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import errno

from syncd.errors import ConfigError, SyncdError

EXIT_PROBLEM = 1
EXIT_CONFIG = 2

#: (text found in the error, the cause and fix to print).
_STORE = (
    ("disk is full", "the state store's disk is full: free space on it (or move [state] url)"
     " and run the command again; nothing was marked done that was not written"),
    ("readonly database", "the state store is read-only: give the syncd user write access to"
     " the database file and its directory (or move [state] url)"),
    ("read-only", "the state store is read-only: give the syncd user write access to the"
     " database file and its directory (or move [state] url)"),
    ("unable to open database file", "the state store cannot be opened: check that the"
     " directory in [state] url exists and the syncd user may write in it"),
    ("connection", "the PostgreSQL state store is unreachable: check that it runs and that"
     " [state] url points at it, then run again"),
    ("could not translate host name", "the PostgreSQL host in [state] url does not resolve:"
     " check the name (or DNS) and run again"),
)  # fmt: skip

_OS = {
    errno.ENOSPC: "the disk is full: free space and run the command again",
    errno.EROFS: "the file system is read-only: point syncd at a writable location",
    errno.EACCES: "permission denied: give the syncd user access to the path named",
    errno.EPERM: "permission denied: give the syncd user access to the path named",
    errno.ENOENT: "a file or directory syncd needs does not exist: create it or fix the path",
}


def describe(exc: BaseException) -> tuple[str, int]:
    """The one line to print for ``exc`` (without a traceback) and the exit code."""
    if isinstance(exc, ConfigError):
        return str(exc), EXIT_CONFIG
    if isinstance(exc, SyncdError):
        from syncd.service.outages import fix_for, stops

        text = f"error: {exc}"
        if stops(exc) and "fix:" not in text:  # credentials refused, budget spent
            text += f"\nfix: {fix_for(exc)}"
        return text, EXIT_PROBLEM
    kind = type(exc).__name__
    text = str(exc).lower()
    if _is_database_error(exc):
        for needle, line in _STORE:
            if needle in text:
                return f"error: {line} ({kind})", EXIT_PROBLEM
        return (
            f"error: the state store failed ({kind}); run with --debug for details",
            EXIT_PROBLEM,
        )
    if isinstance(exc, OSError) and exc.errno in _OS:
        where = f" [{exc.filename}]" if exc.filename else ""
        return f"error: {_OS[exc.errno]}{where} ({kind})", EXIT_PROBLEM
    first = str(exc).splitlines()[0][:200] if str(exc) else ""
    return (
        f"error: unexpected {kind}{': ' + first if first else ''}; run again with --debug for"
        " the traceback and report it",
        EXIT_PROBLEM,
    )


def _is_database_error(exc: BaseException) -> bool:
    """SQLAlchemy's DBAPIError family or a DB driver error, without importing drivers."""
    return any(
        cls.__module__.split(".")[0] in {"sqlalchemy", "sqlite3", "psycopg"}
        for cls in type(exc).__mro__
        if cls.__name__.endswith("Error")
    )
