"""Outages that stop work: said once when they start and once when they end, never as a trace.

An outage is a failure no retry fixes and no record is to blame for: credentials refused
(:class:`~syncd.errors.AuthExpired`), every write refused for one org-wide cause
(:class:`~syncd.errors.WritesRefused`), the API budget spent
(:class:`~syncd.errors.BudgetExhausted`). Its scope is ``"salesforce"`` when Salesforce is the
cause (the whole org pauses: no unit can write) or the unit (``connector/mailbox``) when one
mailbox's credentials are refused.

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

from syncd.errors import AuthExpired, BudgetExhausted, WritesRefused
from syncd.salesforce.errors import LoginRefused, SessionExpired

log = logging.getLogger(__name__)

STOPPING = (AuthExpired, WritesRefused, BudgetExhausted)
SALESFORCE = "salesforce"
#: While a scope is stopped it is tried again after this long, doubling up to :data:`MAX_PAUSE`
#: (Salesforce counts failed sign-ins against the user: a probe a second would reach its
#: 3,600 logins an hour).
FIRST_PAUSE, MAX_PAUSE = 1.0, 300.0

_FIXES = {
    AuthExpired: "check the credentials the config points to and that the app is still "
    "authorised; `syncd doctor` names what is wrong",
    BudgetExhausted: "wait for the rolling 24 h API window, or lower salesforce.api_reserve",
}


def stops(exc: BaseException) -> bool:
    """True for a failure that stops a scope until someone fixes its cause."""
    return isinstance(exc, STOPPING)


def scope_of(exc: BaseException, unit: str) -> str:
    """``"salesforce"`` when Salesforce is the cause (every unit is stopped), else ``unit``."""
    if isinstance(exc, WritesRefused | BudgetExhausted | LoginRefused | SessionExpired):
        return SALESFORCE
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


class Outages:
    """The scopes stopped now, and the once-per-change logging and alerting of them."""

    def __init__(
        self, metrics: Any | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.metrics = metrics
        self.clock = clock
        self._active: dict[str, str] = {}  # scope -> error class
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

    def failed(self, scope: str, exc: BaseException) -> bool:
        """Record a stopping failure of ``scope``; True (and one log line) when it is new."""
        kind = type(exc).__name__
        with self._lock:
            new = self._active.get(scope) != kind
            self._active[scope] = kind
            pause = FIRST_PAUSE if new else min(self._retry[scope][1] * 2, MAX_PAUSE)
            self._retry[scope] = (self.clock() + pause, pause)
        if not new:
            log.debug("still stopped", extra={"scope": scope, "error_class": kind})
            return False
        # The message of a syncd error names codes and paths, never secrets or record content.
        text = str(exc) if getattr(exc, "fix", None) else f"{exc}; fix: {fix_for(exc)}"
        log.error("%s stopped: %s", scope, text, extra={"scope": scope, "error_class": kind})
        if self.metrics is not None:
            self.metrics.ops_alerts.labels(scope, kind).inc()
            self.metrics.outage.labels(scope).set(1)
        return True

    def recovered(self, scope: str) -> bool:
        """Record a success of ``scope``; True (and one log line) when it was stopped."""
        with self._lock:
            kind = self._active.pop(scope, None)
            self._retry.pop(scope, None)
        if kind is None:
            return False
        log.info("%s recovered", scope, extra={"scope": scope, "error_class": kind})
        if self.metrics is not None:
            self.metrics.outage.labels(scope).set(0)
        return True
