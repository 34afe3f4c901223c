"""Graceful stop: SIGTERM or SIGINT asks the daemon to drain, the second one is only logged.

Draining means: no new pass and no new unit starts; the pass in flight ends after the batch it
is writing has been committed (the runner asks ``should_stop`` between batches); then the
scheduler shuts down and the process exits 0. Nothing is cut off mid-batch, so nothing written
to Salesforce is left out of the ledger (and if a kill comes anyway, the upsert by key makes
the replay harmless).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

log = logging.getLogger(__name__)


class Drain:
    """A one-way switch from running to draining."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def request(self, reason: str) -> None:
        """Start draining (idempotent)."""
        if self._event.is_set():
            log.info("already draining", extra={"reason": reason})
            return
        self.reason = reason
        log.info("draining: finishing the batch in flight, then exiting", extra={"reason": reason})
        self._event.set()

    def is_set(self) -> bool:
        """True once a drain was requested."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a drain is requested (or ``timeout``); True if it was."""
        return self._event.wait(timeout)

    def install(self) -> None:
        """Route SIGTERM and SIGINT here (call from the main thread)."""

        def handler(signum: int, _frame: FrameType | None) -> None:
            self.request(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
