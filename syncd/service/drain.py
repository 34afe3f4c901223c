"""Graceful stop: SIGTERM or SIGINT asks the daemon to drain, the second one is only logged.

Draining means: no new pass and no new unit starts; the pass in flight ends after the batch it
is writing has been committed (the runner asks ``should_stop`` between batches); then the
scheduler shuts down and the process exits 0. Nothing is cut off mid-batch, so nothing written
to Salesforce is left out of the ledger (and if a kill comes anyway, the upsert by key makes
the replay harmless).

The one thing that could hold a batch up for minutes is a backoff (a 503 burst, a Retry-After).
The daemon's clients sleep through :meth:`Drain.sleep`: once a drain is requested, a wait that
would end more than :data:`STOP_BUDGET` seconds after the request raises :class:`Draining`
instead, a :class:`~syncd.errors.Transient`, so the records still waiting are deferred exactly
as if the retries had run out: what landed is committed, the rest is retried after the restart.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType

from syncd.errors import Transient

log = logging.getLogger(__name__)

#: Seconds after a drain request that backoff waits may still run; systemd allows 45 in all.
STOP_BUDGET = 20.0


class Draining(Transient):
    """The daemon is stopping and this wait would outlast the stop budget; retry after restart."""


class Drain:
    """A one-way switch from running to draining."""

    def __init__(self, budget: float = STOP_BUDGET) -> None:
        self._event = threading.Event()
        self.reason = ""
        self.budget = budget
        self._requested_at = 0.0

    def request(self, reason: str) -> None:
        """Start draining (idempotent)."""
        if self._event.is_set():
            log.info("already draining", extra={"reason": reason})
            return
        self.reason = reason
        self._requested_at = time.monotonic()
        log.info("draining: finishing the batch in flight, then exiting", extra={"reason": reason})
        self._event.set()

    def is_set(self) -> bool:
        """True once a drain was requested."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a drain is requested (or ``timeout``); True if it was."""
        return self._event.wait(timeout)

    def sleep(self, seconds: float) -> None:
        """A backoff wait that ends early, by raising :class:`Draining`, if it would delay a stop.

        Not draining: sleeps ``seconds`` (waking at once when a drain starts, to re-check).
        Draining: sleeps only if the wait ends within the stop budget, else raises.
        """
        ends = time.monotonic() + seconds
        if not self._event.wait(seconds):
            return
        if ends > self._requested_at + self.budget:
            raise Draining(f"stopping: not waiting {seconds:.0f} s to retry; retried after restart")
        time.sleep(max(0.0, ends - time.monotonic()))

    def install(self) -> None:
        """Route SIGTERM and SIGINT here (call from the main thread)."""

        def handler(signum: int, _frame: FrameType | None) -> None:
            self.request(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
