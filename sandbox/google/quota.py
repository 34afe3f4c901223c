"""Gmail/Calendar quota as Google accounts it: units per method, per user, per minute.

Gmail charges ``messages.list`` 5, ``messages.get`` 5, ``history.list`` 2, ``getProfile`` 1
units, and allows 15,000 units per user per minute; every call inside a batch is charged on
its own. Calendar is counted in requests (600 per user per minute). When the window is spent
the call is refused with 429 ``rateLimitExceeded`` and a ``Retry-After`` until the minute
rolls over. Tests can also inject refusals on demand (429 or 403 ``userRateLimitExceeded``).
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
GMAIL_USER_PER_MINUTE = 15_000
CALENDAR_USER_PER_MINUTE = 600


@dataclass(frozen=True)
class Refusal:
    """A rate-limit answer: status, Google error reason and Retry-After seconds."""

    status: int
    reason: str
    retry_after: int


class Quota:
    """Per-user, per-minute unit accounting with on-demand refusals."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.limits = {"gmail": GMAIL_USER_PER_MINUTE, "calendar": CALENDAR_USER_PER_MINUTE}
        self.used: Counter[str] = Counter()  # user → every unit charged, ever
        self.calls: Counter[str] = Counter()  # method id → calls, batch parts included
        self._window: dict[tuple[str, str], tuple[int, int]] = {}
        self._injected: dict[str, deque[Refusal]] = {}
        self._lock = threading.Lock()

    def inject(self, user: str, refusals: list[Refusal]) -> None:
        """The next calls for ``user`` are refused with these answers, in order."""
        with self._lock:
            self._injected.setdefault(user, deque()).extend(refusals)

    def charge(self, api: str, method: str, user: str) -> Refusal | None:
        """Charge one call; a :class:`Refusal` when it must be refused instead."""
        units = GMAIL_UNITS.get(method, 1) if api == "gmail" else 1
        now = self.clock()
        minute = int(now.timestamp() // 60)
        with self._lock:
            queue = self._injected.get(user)
            if queue:
                return queue.popleft()
            key = (api, user)
            start, spent = self._window.get(key, (minute, 0))
            if start != minute:
                start, spent = minute, 0
            if spent + units > self.limits[api]:
                wait = max(1, 60 - int(now.timestamp()) % 60)
                return Refusal(429, "rateLimitExceeded", wait)
            self._window[key] = (start, spent + units)
            self.used[user] += units
            self.calls[method] += 1
            return None
