"""Graph's throttling, per app and mailbox, and the record of clients that break it.

Graph's Outlook limits (per app id and mailbox): at most 4 concurrent requests, and 10,000
requests per 10 minutes. A request over either limit gets 429 with ``Retry-After``. The
sandbox also records, per (app, mailbox):

- ``concurrency_breaches``: a request that arrived while 4 were already in flight;
- ``early_requests``: a request that arrived before a Retry-After it was given had expired.

A well-behaved client keeps both at zero; tests and the benchmark assert exactly that.
Injected 429s and 503s (:meth:`Throttle.inject`) behave like real ones: with a Retry-After the
client must honour it; without one (Graph does not always send it) the client is expected to
back off exponentially (https://learn.microsoft.com/en-us/graph/throttling#best-practices-to-handle-throttling).

``$batch``: Graph dispatches up to 4 members of one batch to the mailbox at once, and every
member counts against the mailbox's limit of 4 concurrent requests; a member that does not fit
is answered 429 inside the batch (https://learn.microsoft.com/en-us/graph/json-batching,
https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits). So a batch
of n members holds ``min(4, n)`` slots while it runs (:meth:`Throttle.reserve`); if fewer are
free, the members beyond them are refused, each one a concurrency breach.
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
    #: Refused (True) even when ``retry_after`` is None: a fault injected without Retry-After.
    refused: bool = False
    status: int = 429
    #: For :meth:`Throttle.reserve`: how many concurrent slots the batch was given.
    slots: int = 1

    @property
    def ok(self) -> bool:
        """The request may go ahead."""
        return self.retry_after is None and not self.refused


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
    _injected: deque[tuple[int | None, int]] = field(default_factory=deque)
    _spacing: int = 0
    _until_next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(
        self,
        count: int = 1,
        retry_after: int | None = 5,
        *,
        spacing: int = 0,
        status: int = 429,
    ) -> None:
        """Answer ``count`` mailbox requests with ``status`` (429 or 503) and this Retry-After.

        ``retry_after=None`` sends no Retry-After header. The first comes at once; ``spacing``
        admitted requests pass between two of them (0: back to back, as one request retried
        into the same throttling).
        """
        with self._lock:
            self._injected.extend([(retry_after, status)] * count)
            self._spacing = spacing

    def _refuse(
        self, key: tuple[str, str], now: datetime, seconds: int | None, why: str, status: int = 429
    ) -> Verdict:
        self.throttled += 1
        if seconds is not None:
            self.blocked_until[key] = now + timedelta(seconds=seconds)
        return Verdict(seconds, why, refused=True, status=status)

    def _early(self, key: tuple[str, str], now: datetime) -> Verdict | None:
        until = self.blocked_until.get(key)
        if until is not None and now < until:
            self.early_requests += 1
            left = max(1, int((until - now).total_seconds() + 0.999))
            return self._refuse(key, now, left, "request before Retry-After expired")
        return None

    def _spend(self, key: tuple[str, str], now: datetime) -> Verdict | None:
        """The budget and injected faults for one request that has a concurrency slot."""
        recent = self._recent.setdefault(key, deque())
        while recent and recent[0] <= now - WINDOW:
            recent.popleft()
        if len(recent) >= self.budget:
            wait = int((recent[0] + WINDOW - now).total_seconds()) + 1
            return self._refuse(key, now, wait, "request budget per 10 minutes spent")
        if self._injected and self._until_next <= 0:
            self._until_next = self._spacing
            seconds, status = self._injected.popleft()
            return self._refuse(key, now, seconds, "injected throttling", status)
        self._until_next -= 1
        recent.append(now)
        return None

    def enter(self, app: str, mailbox: str) -> Verdict:
        """Admit one request or refuse it; an admitted request must :meth:`leave`."""
        key = (app, mailbox)
        with self._lock:
            now = self.clock()
            refused = self._early(key, now)
            if refused is not None:
                return refused
            if self.in_flight[key] >= self.concurrency_limit:
                self.concurrency_breaches += 1
                return self._refuse(key, now, 1, "more than 4 concurrent requests")
            refused = self._spend(key, now)
            if refused is not None:
                return refused
            self.in_flight[key] += 1
            self.peak[key] = max(self.peak[key], self.in_flight[key])
            return Verdict()

    def reserve(self, app: str, mailbox: str, members: int) -> Verdict:
        """Slots for a ``$batch``'s ``members`` requests to one mailbox, run 4 at a time.

        The batch wants ``min(4, members)`` slots; ``slots`` says how many were free (each
        missing one is a breach). Whatever was given must go back through :meth:`leave`.
        """
        key = (app, mailbox)
        want = min(self.concurrency_limit, members)
        with self._lock:
            now = self.clock()
            refused = self._early(key, now)
            if refused is not None:
                return refused
            free = max(0, self.concurrency_limit - self.in_flight[key])
            given = min(want, free)
            self.concurrency_breaches += want - given
            self.in_flight[key] += given
            self.peak[key] = max(self.peak[key], self.in_flight[key] + want - given)
            return Verdict(slots=given)

    def member(self, app: str, mailbox: str) -> Verdict:
        """One ``$batch`` member running in a slot :meth:`reserve` gave: budget and faults."""
        key = (app, mailbox)
        with self._lock:
            return self._spend(key, self.clock()) or Verdict()

    def crowded(self, app: str, mailbox: str) -> Verdict:
        """A ``$batch`` member that found no free slot: 429, as Graph answers it."""
        with self._lock:
            return self._refuse((app, mailbox), self.clock(), 1, "more than 4 concurrent requests")

    def leave(self, app: str, mailbox: str, slots: int = 1) -> None:
        """An admitted request (or a batch's ``slots``) finished."""
        with self._lock:
            self.in_flight[(app, mailbox)] -= slots

    def reset(self) -> None:
        """Forget counts and blocks (not the injected faults still queued)."""
        with self._lock:
            self.concurrency_breaches = self.early_requests = self.throttled = 0
            self.blocked_until.clear()
            self.peak.clear()
            self._recent.clear()
