"""Outages that stop work: said once when they start and once when they end, never as a trace.

An outage is a failure no retry fixes and no record is to blame for: credentials refused
(:class:`~syncd.errors.AuthExpired`), one mailbox kept from the app
(:class:`~syncd.errors.MailboxDenied`), every write refused for one org-wide cause
(:class:`~syncd.errors.WritesRefused`), the API budget spent
(:class:`~syncd.errors.BudgetExhausted`). Its scope (:func:`scope_of`) is ``"salesforce"`` when
Salesforce is the cause (the whole org pauses: no unit can write), the connector's name when
the vendor refuses the app itself (a tenant's revoked consent or secret: every mailbox of that
connector pauses), or the unit (``connector/mailbox``) when only one mailbox is refused (a
Gmail mailbox whose delegation is refused, a mailbox an access policy leaves out).

:class:`Outages` turns a stream of such failures into state changes: the first failure of a
scope logs one ERROR line with the fix and raises one ops alert (the ``syncd_ops_alerts``
counter and the ``syncd_outage`` gauge), later ones are silent (DEBUG), and the first success
afterwards logs one INFO line "recovered". A stopped scope is tried again after 1 s, then 2,
4, … up to 5 minutes (:meth:`Outages.due`), not on every firing. A wrong client secret used
to write ten ~85-line tracebacks in 0.3 s; now it writes one line until it is fixed, and one
when it is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from syncd.errors import AuthExpired, BudgetExhausted, MailboxDenied, WritesRefused
from syncd.salesforce.errors import LoginRefused, SessionExpired

log = logging.getLogger(__name__)

STOPPING = (AuthExpired, MailboxDenied, WritesRefused, BudgetExhausted)
SALESFORCE = "salesforce"
#: While a scope is stopped it is tried again after this long, doubling up to :data:`MAX_PAUSE`
#: (Salesforce counts failed sign-ins against the user: a probe a second would reach its
#: 3,600 logins an hour).
FIRST_PAUSE, MAX_PAUSE = 1.0, 300.0

_SALESFORCE_SIGN_IN = (
    "check the Salesforce credentials the config points to and that the connected app still "
    "authorises the API user; `syncd doctor` names what is wrong"
)
_FIXES = {
    MailboxDenied: "add the mailbox to the group the tenant's ApplicationAccessPolicy allows, "
    "or remove it from the connector's mailboxes",
    LoginRefused: _SALESFORCE_SIGN_IN,
    SessionExpired: _SALESFORCE_SIGN_IN,
    AuthExpired: "check the credentials the config points to and that the app is still "
    "authorised; `syncd doctor` names what is wrong",
    BudgetExhausted: "wait for the rolling 24 h API window, or lower salesforce.api_reserve",
}


def stops(exc: BaseException) -> bool:
    """True for a failure that stops a scope until someone fixes its cause."""
    return isinstance(exc, STOPPING)


def scope_of(exc: BaseException, unit: str) -> str:
    """What ``exc`` stops: ``"salesforce"`` (every unit), a connector (its units) or ``unit``.

    A connector's :class:`AuthExpired` stops the whole connector when it says the app itself
    was refused (``connector_wide``: a tenant's secret or consent revoked), else only the unit
    (a Gmail mailbox whose delegation is refused).
    """
    if isinstance(exc, WritesRefused | BudgetExhausted | LoginRefused | SessionExpired):
        return SALESFORCE
    if getattr(exc, "connector_wide", False):
        return unit.partition("/")[0]
    return unit


def fix_for(exc: BaseException) -> str:
    """What the operator should do about ``exc``."""
    fix = getattr(exc, "fix", None)
    if fix:
        return str(fix)
    for cls, text in _FIXES.items():
        if isinstance(exc, cls):
            return text
    return "see `syncd doctor`"


def with_fix(exc: BaseException) -> str:
    """``exc``'s message with the fix, on one line (syncd's messages carry no secret)."""
    return str(exc) if getattr(exc, "fix", None) else f"{exc}; fix: {fix_for(exc)}"


def fix_for_class(error_class: str) -> str:
    """The fix for an error stored by its class name (the runs table keeps only the name)."""
    known = {c.__name__: c for c in (*STOPPING, LoginRefused, SessionExpired)}
    cls = known.get(error_class)
    for base, text in _FIXES.items():
        if cls is not None and issubclass(cls, base):
            return text
    return "see `syncd doctor`"


class Outages:
    """The scopes stopped now, and the once-per-change logging and alerting of them."""

    def __init__(
        self, metrics: Any | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.metrics = metrics
        self.clock = clock
        self._active: dict[str, tuple[str, str]] = {}  # scope -> (error class, fix)
        self._retry: dict[str, tuple[float, float]] = {}  # scope -> (next try, pause)
        self._lock = threading.Lock()

    def due(self, scope: str = SALESFORCE) -> bool:
        """Whether a stopped ``scope`` may be tried again now (always, when it is not stopped)."""
        with self._lock:
            at = self._retry.get(scope)
        return at is None or self.clock() >= at[0]

    def active(self, scope: str = SALESFORCE) -> bool:
        """Whether ``scope`` is stopped now."""
        with self._lock:
            return scope in self._active

    def scopes(self) -> list[str]:
        """Every scope stopped now."""
        with self._lock:
            return sorted(self._active)

    def stopped(self) -> list[tuple[str, str, str]]:
        """``(scope, error class, fix)`` of every scope stopped now, by scope."""
        with self._lock:
            return sorted((scope, kind, fix) for scope, (kind, fix) in self._active.items())

    def failed(self, scope: str, exc: BaseException) -> bool:
        """Record a stopping failure of ``scope``; True (and one log line) when it is new."""
        kind = type(exc).__name__
        with self._lock:
            new = self._active.get(scope, ("", ""))[0] != kind
            self._active[scope] = (kind, fix_for(exc))
            pause = FIRST_PAUSE if new else min(self._retry[scope][1] * 2, MAX_PAUSE)
            self._retry[scope] = (self.clock() + pause, pause)
        if not new:
            log.debug("still stopped", extra={"scope": scope, "error_class": kind})
            return False
        # The message of a syncd error names codes and paths, never secrets or record content.
        log.error(
            "%s stopped: %s", scope, with_fix(exc), extra={"scope": scope, "error_class": kind}
        )
        if self.metrics is not None:
            self.metrics.ops_alerts.labels(scope, kind).inc()
            self.metrics.outage.labels(scope).set(1)
        return True

    def recovered(self, scope: str) -> bool:
        """Record a success of ``scope``; True (and one log line) when it was stopped."""
        with self._lock:
            was = self._active.pop(scope, None)
            self._retry.pop(scope, None)
        if was is None:
            return False
        kind = was[0]
        log.info("%s recovered", scope, extra={"scope": scope, "error_class": kind})
        if self.metrics is not None:
            self.metrics.outage.labels(scope).set(0)
        return True
