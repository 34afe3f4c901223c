"""Gmail's per-minute quotas paced on our side: a token bucket per user and one per project.

Gmail applies two per-minute limits at once, per Cloud project and per user of the project
(https://developers.google.com/workspace/gmail/api/reference/quota), and answers past them with
403 ``rateLimitExceeded`` / ``userRateLimitExceeded``. Reacting to those answers alone wastes
requests and, with many mailboxes, keeps the whole project at the limit; so every Gmail call
first takes its units from the user's bucket and the project's. The buckets live in this
module, shared by every connector and mailbox of the process that use the same project (the
service account's ``project_id``, or the OAuth client's id, and the token endpoint); other
processes sharing the project are not seen, so give each worker a share of the project figure.

A bucket holds at most a sixth of the minute's units and refills at the rest over the minute,
so no 60-second span (hence no minute Google counts in) ever gets more than the limit, while
sustained throughput is five sixths of it. A call that finds the bucket short reserves its
units and waits (through the connector's ``sleep``) until the refill covers them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any


class TokenBucket:
    """Units per minute, with a burst of a sixth of them; reservations may go below zero."""

    def __init__(self, per_minute: int, now: datetime) -> None:
        self.per_minute = per_minute
        self.capacity = per_minute / 6
        self.rate = (per_minute - self.capacity) / 60  # units per second
        self.tokens = self.capacity
        self.stamp = now

    def reserve(self, units: int, now: datetime) -> float:
        """Take ``units``; the seconds to wait before spending them."""
        if now < self.stamp:
            # The clock went back (another clock: a test's, or a stepped system clock): start
            # afresh rather than refill nothing until it catches up with the old stamp.
            self.tokens, self.stamp = self.capacity, now
        elapsed = max(0.0, (now - self.stamp).total_seconds())
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.stamp = max(now, self.stamp)
        self.tokens -= units
        return max(0.0, -self.tokens / self.rate)


_BUCKETS: dict[tuple[Any, ...], TokenBucket] = {}
_LOCK = threading.Lock()


def project_of(credentials: Any) -> str:
    """What Google counts a project's quota by, as far as the credentials tell."""
    project = getattr(credentials, "project_id", None) or getattr(credentials, "client_id", None)
    token_uri = getattr(credentials, "_token_uri", None) or getattr(credentials, "token_uri", "")
    return f"{project or 'default'}@{token_uri}"


class QuotaPacer:
    """Waits before each call until the user's and the project's buckets allow its units."""

    def __init__(
        self,
        user_per_minute: int,
        project_per_minute: int,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        time_source: object = None,
    ) -> None:
        self.user_per_minute = user_per_minute
        self.project_per_minute = project_per_minute
        self.clock = clock
        # Buckets are per time source too: connectors on the same clock share them (the
        # daemon's are all on the system clock); a test's simulated clock gets its own.
        self._source = id(time_source)
        self.sleep = sleep
        self.waited = 0.0

    def _bucket(self, key: tuple[Any, ...], per_minute: int, now: datetime) -> TokenBucket:
        bucket = _BUCKETS.get(key)
        if bucket is None or bucket.per_minute != per_minute:
            bucket = _BUCKETS[key] = TokenBucket(per_minute, now)
        return bucket

    def take(self, project: str, user: str, units: int) -> None:
        """Reserve ``units`` for ``user`` of ``project``; sleep until they may be spent."""
        with _LOCK:
            now = self.clock()  # read under the lock: one clock never steps back between takes
            mine = self._bucket((self._source, project, user), self.user_per_minute, now)
            shared = self._bucket((self._source, project, "*"), self.project_per_minute, now)
            wait = max(mine.reserve(units, now), shared.reserve(units, now))
        if wait > 0:
            self.waited += wait
            self.sleep(wait)
