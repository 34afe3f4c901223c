"""The one error tree of syncd, classified by what the caller must do.

::

    SyncdError
    ├── ConfigError        the configuration is wrong: exit 2 listing every problem
    ├── Transient          safe to try again later: retry with backoff (429, 5xx, timeouts,
    │   │                  UNABLE_TO_LOCK_ROW, REQUEST_LIMIT_EXCEEDED from concurrency)
    │   └── RateLimited    the service said how long to wait (Retry-After)
    ├── Permanent          this one record can never succeed as it is: dead-letter it, go on
    ├── AuthExpired        credentials were revoked or expired: pause the mailbox, alert ops once
    ├── MailboxDenied      the app may not read this one mailbox (a tenant access policy
    │                      leaves it out): that unit's configuration problem, shown on it
    ├── CursorExpired      the saved cursor is too old: full resync of a bounded window
    ├── WritesRefused      every write is refused for one org-wide cause (key field hidden by
    │                      field-level security, no access to Task): stop, keep items pending
    ├── BudgetExhausted    the daily API allocation (less the reserve) is spent: stop writing
    │                      until the rolling window allows
    └── StoreUnusable      the state store cannot be used as it is: stop, say why and the fix
        ├── StoreHeld      a SQLite store another process holds (it names the pid and host)
        └── StoreReplaced  the store is not the one opened (file deleted or replaced)

Connectors and the Salesforce client translate vendor errors into these at their edge; nothing
above them catches a vendor exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class SyncdError(Exception):
    """Base of every error syncd raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration, at a key path such as ``connectors[1].interval``."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path} (line {self.line})" if self.line else self.path
        return f"{where}: {self.message}"


class ConfigError(SyncdError):
    """The configuration has one or more problems; all of them are listed at once."""

    def __init__(
        self,
        problems: Iterable[Problem],
        source: str | None = None,
        *,
        warnings: Iterable[Problem] = (),
    ) -> None:
        self.problems = list(problems)
        #: What check-config would warn about: shown beside the problems, not instead.
        self.warnings = list(warnings)
        self.source = source
        head = f"{source}: " if source else ""
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        text = f"{head}{count} configuration {noun}:\n{lines}"
        if self.warnings:
            text += "\nwarnings:\n" + "\n".join(f"  - {w}" for w in self.warnings)
        super().__init__(text)


class Transient(SyncdError):
    """A failure that may succeed if tried again later.

    ``retry_after`` is the number of seconds the service asked us to wait, when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Transient):
    """The service throttled us (HTTP 429, Slack ``ratelimited``, Graph throttling)."""


class Permanent(SyncdError):
    """One record is rejected for good (validation error, field too long).

    ``code`` is the service's error code (``STRING_TOO_LONG``), ``fields`` the fields named.
    """

    def __init__(
        self, message: str, *, code: str | None = None, fields: Iterable[str] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.fields = tuple(fields)


class AuthExpired(SyncdError):
    """Credentials no longer work (invalid_grant, revoked consent): pause and tell ops.

    ``connector_wide``: the vendor refused the app itself (a tenant's secret or consent), so
    every mailbox of the connector is paused, not only the one whose pass met it.
    """

    def __init__(self, message: str, *, connector_wide: bool = False) -> None:
        super().__init__(message)
        self.connector_wide = connector_wide


class MailboxDenied(SyncdError):
    """The vendor refuses the app one mailbox while the credentials work for the others.

    Microsoft Graph answers 403 ``ErrorAccessDenied`` for a mailbox an ApplicationAccessPolicy
    leaves out. It is not :class:`AuthExpired` (nothing is paused for the tenant): the pass of
    that unit fails with it, recorded on the unit, until the admin adds the mailbox to the
    policy's group or removes it from the connector.
    """

    def __init__(self, message: str, *, mailbox: str) -> None:
        super().__init__(message)
        self.mailbox = mailbox


class CursorExpired(SyncdError):
    """The stored cursor (history id, sync token, delta link) is no longer accepted."""


class WritesRefused(SyncdError):
    """Salesforce refuses every write for one org-wide cause; nothing is wrong with the records.

    The pass stops with its items still pending (not dead letters) and the command exits
    non-zero; once ``fix`` is applied the next pass writes them. ``code`` is Salesforce's.
    """

    def __init__(self, message: str, *, code: str, fix: str) -> None:
        super().__init__(f"{message}; fix: {fix}")
        self.code = code
        self.fix = fix


class BudgetExhausted(SyncdError):
    """The Salesforce daily API allocation, less the configured reserve, is used up."""

    def __init__(self, used: int, limit: int, reserve: float) -> None:
        self.used = used
        self.limit = limit
        self.reserve = reserve
        super().__init__(
            f"Salesforce API budget reached: {used}/{limit} calls used, "
            f"{reserve:.0%} kept in reserve for people using the org"
        )


class StoreUnusable(SyncdError):
    """The state store cannot be used as it is; the message names the cause and the fix."""


class StoreHeld(StoreUnusable):
    """A SQLite state store is held by another process (SQLite serves one process)."""


class StoreReplaced(StoreUnusable):
    """The store's identity changed under a running process: its file was deleted or replaced.

    Writing on would start an empty ledger (every activity written again after a restart), so
    the units stop instead.
    """
