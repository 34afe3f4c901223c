"""Graph's throttling, per app and mailbox, and the record of clients that break it.

Graph's Outlook limits (per app id and mailbox): at most 4 concurrent requests, and 10,000
requests per 10 minutes. A request over either limit gets 429 with ``Retry-After``. The
sandbox also records, per (app, mailbox):

- ``concurrency_breaches``: a request that arrived while 4 were already in flight;
- ``early_requests``: a request that arrived before a Retry-After it was given had expired.

A well-behaved client keeps both at zero; tests and the benchmark assert exactly that.
Injected 429s (:meth:`Throttle.inject`) behave like real ones: they set a Retry-After the
client must honour.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

CONCURRENCY_LIMIT = 4
WINDOW = timedelta(minutes=10)


@dataclass
class Verdict:
    """What the throttle decided for one request: None retry_after means go ahead."""

    retry_after: int | None = None
    reason: str = ""


@dataclass
class Throttle:
    """Concurrency, budget and Retry-After bookkeeping, thread-safe."""

    clock: Callable[[], datetime]
    concurrency_limit: int = CONCURRENCY_LIMIT
    budget: int = 10_000
    in_flight: Counter[tuple[str, str]] = field(default_factory=Counter)
    peak: Counter[tuple[str, str]] = field(default_factory=Counter)
    blocked_until: dict[tuple[str, str], datetime] = field(default_factory=dict)
    concurrency_breaches: int = 0
    early_requests: int = 0
    throttled: int = 0
    _recent: dict[tuple[str, str], deque[datetime]] = field(default_factory=dict)
    _injected: deque[int] = field(default_factory=deque)
    _spacing: int = 0
    _until_next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(self, count: int = 1, retry_after: int = 5, *, spacing: int = 0) -> None:
        """Answer ``count`` mailbox requests with 429 and this Retry-After.

        The first comes at once; ``spacing`` admitted requests pass between two of them (0:
        back to back, as one request retried into the same throttling).
        """
        with self._lock:
            self._injected.extend([retry_after] * count)
            self._spacing = spacing

    def _refuse(self, key: tuple[str, str], now: datetime, seconds: int, why: str) -> Verdict:
        self.throttled += 1
        self.blocked_until[key] = now + timedelta(seconds=seconds)
        return Verdict(seconds, why)

    def enter(self, app: str, mailbox: str) -> Verdict:
        """Admit one request or refuse it; an admitted request must :meth:`leave`."""
        key = (app, mailbox)
        with self._lock:
            now = self.clock()
            until = self.blocked_until.get(key)
            if until is not None and now < until:
                self.early_requests += 1
                left = max(1, int((until - now).total_seconds() + 0.999))
                return self._refuse(key, now, left, "request before Retry-After expired")
            if self.in_flight[key] >= self.concurrency_limit:
                self.concurrency_breaches += 1
                return self._refuse(key, now, 1, "more than 4 concurrent requests")
            recent = self._recent.setdefault(key, deque())
            while recent and recent[0] <= now - WINDOW:
                recent.popleft()
            if len(recent) >= self.budget:
                wait = int((recent[0] + WINDOW - now).total_seconds()) + 1
                return self._refuse(key, now, wait, "request budget per 10 minutes spent")
            if self._injected and self._until_next <= 0:
                self._until_next = self._spacing
                return self._refuse(key, now, self._injected.popleft(), "injected throttling")
            self._until_next -= 1
            recent.append(now)
            self.in_flight[key] += 1
            self.peak[key] = max(self.peak[key], self.in_flight[key])
            return Verdict()

    def leave(self, app: str, mailbox: str) -> None:
        """One admitted request finished."""
        with self._lock:
            self.in_flight[(app, mailbox)] -= 1

    def reset(self) -> None:
        """Forget counts and blocks (not the injected faults still queued)."""
        with self._lock:
            self.concurrency_breaches = self.early_requests = self.throttled = 0
            self.blocked_until.clear()
            self.peak.clear()
            self._recent.clear()
