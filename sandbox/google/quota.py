"""Gmail/Calendar quota as Google accounts it: units per method, per user and per project.

Gmail charges ``messages.list`` 5, ``messages.get`` 5, ``history.list`` 2, ``getProfile`` 1
units; every call inside a batch is charged on its own. Two per-minute limits apply at once
(https://developers.google.com/workspace/gmail/api/reference/quota): per project, 1,200,000
units, refused with 403 ``rateLimitExceeded``; per user per project, refused with 403
``userRateLimitExceeded``. Since May 1, 2026 a new Cloud project gets 6,000 units per user per
minute (projects that used the API between November 2025 and April 2026 keep the 15,000 they
had); the sandbox defaults to the new project's 6,000, and both figures are settable
(``limits``). Parallel requests for one user beyond ``concurrent_per_user`` are refused with 429
``rateLimitExceeded`` "Too many concurrent requests for user"
(https://developers.google.com/workspace/gmail/api/guides/handle-errors#resolve_a_429_error_too_many_requests).
Calendar is counted in requests (600 per user per minute). Minute windows are aligned to the
clock's minutes; a per-minute refusal carries ``Retry-After`` until the minute rolls over.
Tests can also inject refusals on demand (429 or 403 ``userRateLimitExceeded``).
``peak_project``/``peak_user`` keep the most units charged in any one minute, for benchmarks,
and ``refused`` counts the refusals by reason.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

#: Units per Gmail method (Google's published table for the methods syncd calls).
GMAIL_UNITS: dict[str, int] = {
    "gmail.users.getProfile": 1,
    "gmail.users.messages.list": 5,
    "gmail.users.messages.get": 5,
    "gmail.users.history.list": 2,
}
GMAIL_USER_PER_MINUTE = 6_000
GMAIL_PROJECT_PER_MINUTE = 1_200_000
CALENDAR_USER_PER_MINUTE = 600
#: Google publishes no figure for Gmail's concurrent requests per user; a few is safe.
CONCURRENT_PER_USER = 4


@dataclass(frozen=True)
class Refusal:
    """A rate-limit answer: status, Google error reason and Retry-After seconds."""

    status: int
    reason: str
    retry_after: int
    message: str = ""


class Quota:
    """Per-user and per-project per-minute unit accounting, concurrency, injected refusals."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.limits = {
            "gmail": GMAIL_USER_PER_MINUTE,
            "gmail_project": GMAIL_PROJECT_PER_MINUTE,
            "calendar": CALENDAR_USER_PER_MINUTE,
        }
        self.concurrent_per_user = CONCURRENT_PER_USER
        self.used: Counter[str] = Counter()  # user → every unit charged, ever
        self.calls: Counter[str] = Counter()  # method id → calls, batch parts included
        self.refused: Counter[str] = Counter()  # reason → refusals the limits made
        self.peak_project = 0  # most Gmail units charged in one minute, all users
        self.peak_user = 0  # most Gmail units one user was charged in one minute
        self._window: dict[tuple[str, str], tuple[int, int]] = {}
        self._in_flight: Counter[str] = Counter()
        self._injected: dict[str, deque[Refusal]] = {}
        self._lock = threading.Lock()

    def inject(self, user: str, refusals: list[Refusal]) -> None:
        """The next calls for ``user`` are refused with these answers, in order."""
        with self._lock:
            self._injected.setdefault(user, deque()).extend(refusals)

    def enter(self, api: str, user: str) -> Refusal | None:
        """A request for ``user`` starts; a 429 when too many are already running."""
        if api != "gmail":
            return None
        with self._lock:
            if self._in_flight[user] >= self.concurrent_per_user:
                self.refused["concurrent"] += 1
                return Refusal(429, "rateLimitExceeded", 1, "Too many concurrent requests for user")
            self._in_flight[user] += 1
            return None

    def leave(self, api: str, user: str) -> None:
        """A request :meth:`enter` let in has been answered."""
        if api == "gmail":
            with self._lock:
                self._in_flight[user] -= 1

    def _spend(self, key: tuple[str, str], minute: int, units: int, limit: int) -> int | None:
        """Units in ``key``'s current minute after adding ``units``; None when over ``limit``."""
        start, spent = self._window.get(key, (minute, 0))
        if start != minute:
            spent = 0
        if spent + units > limit:
            return None
        return spent + units

    def charge(self, api: str, method: str, user: str) -> Refusal | None:
        """Charge one call; a :class:`Refusal` when it must be refused instead."""
        units = GMAIL_UNITS.get(method, 1) if api == "gmail" else 1
        now = self.clock()
        minute = int(now.timestamp() // 60)
        wait = max(1, 60 - int(now.timestamp()) % 60)
        with self._lock:
            queue = self._injected.get(user)
            if queue:
                return queue.popleft()
            user_total = self._spend((api, user), minute, units, self.limits[api])
            if user_total is None:
                reason = "userRateLimitExceeded" if api == "gmail" else "rateLimitExceeded"
                self.refused[reason] += 1
                status = 403 if api == "gmail" else 429
                return Refusal(status, reason, wait, "User-rate limit exceeded")
            project_total = units
            if api == "gmail":
                total = self._spend(("gmail", "*"), minute, units, self.limits["gmail_project"])
                if total is None:
                    self.refused["rateLimitExceeded"] += 1
                    return Refusal(403, "rateLimitExceeded", wait, "Rate Limit Exceeded")
                project_total = total
                self._window[("gmail", "*")] = (minute, project_total)
                self.peak_project = max(self.peak_project, project_total)
                self.peak_user = max(self.peak_user, user_total)
            self._window[(api, user)] = (minute, user_total)
            self.used[user] += units
            self.calls[method] += 1
            return None
