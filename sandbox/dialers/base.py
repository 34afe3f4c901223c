"""What the three dialer emulators share: an HTTPS server, counters, faults and a limit window.

Each emulator is a :class:`DialerServer` subclass with a ``route(request)`` method. The server
serves TLS with :func:`sandbox.tls.default_ca` on 127.0.0.1 (a free port) in a daemon thread,
counts every request by ``METHOD path``, replays injected faults (``fail_next``) before any
route runs, and records each request that went over a vendor rate limit in ``breaches`` (the
emulator answers it with the vendor's 429 as well). Time comes from an injectable clock, so a
test can run a minute-long rate window in no real time.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox import tls
from sandbox.latency import Latency
from sandbox.serving import Emulator

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The real time, aware."""
    return datetime.now(UTC)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(json.dumps(body), status=status, headers=headers or {},
                    content_type="application/json")  # fmt: skip


@dataclass(frozen=True)
class Breach:
    """A request over a rate limit: which group, when, and how many were in the window."""

    group: str
    at: datetime
    in_window: int


class Window:
    """A sliding-window limit: ``limit`` requests in any ``seconds`` (RingCentral, Zoom)."""

    def __init__(self, group: str, limit: int, seconds: float) -> None:
        self.group, self.limit, self.seconds = group, limit, seconds
        self._times: deque[datetime] = deque()

    def take(self, now: datetime) -> tuple[bool, int, float]:
        """Count a request at ``now``: (allowed, remaining, seconds until a slot frees)."""
        while self._times and (now - self._times[0]).total_seconds() >= self.seconds:
            self._times.popleft()
        if len(self._times) >= self.limit:
            wait = self.seconds - (now - self._times[0]).total_seconds()
            return False, 0, max(wait, 0.0)
        self._times.append(now)
        return True, self.limit - len(self._times), 0.0


class DialerServer(Emulator):
    """Base of the emulators: serving, counting, fault injection, breach recording."""

    name = "dialer"

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = utc_now,
        ca: tls.TestCA | None = None,
        latency: float = 0.0,
    ) -> None:
        self.clock = clock
        #: Wait before every request (:mod:`sandbox.latency`); ``latency.seconds`` to change.
        self.latency = Latency(latency)
        self.ca = ca or tls.default_ca()
        self.requests: Counter[str] = Counter()
        self.breaches: list[Breach] = []
        self._faults: deque[tuple[int, dict[str, str], Any]] = deque()
        self._lock = threading.RLock()

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def ca_bundle(self) -> str:
        """The CA bundle clients trust."""
        return self.ca.ca_bundle_path

    # -- faults and counters -------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` API requests with ``status`` (429, 503, 401…)."""
        with self._lock:
            for _ in range(times):
                self._faults.append((status, headers or {}, body))

    def count(self, prefix: str = "") -> int:
        """Requests served whose ``METHOD path`` starts with ``prefix``."""
        with self._lock:
            return sum(n for k, n in self.requests.items() if k.startswith(prefix))

    def breach(self, group: str, in_window: int) -> None:
        """Record a request that went over a limit."""
        with self._lock:
            self.breaches.append(Breach(group, self.clock(), in_window))

    # -- dispatch ------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """HTTPS with the test CA."""
        return self.ca.server_ssl_context()

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self._lock:
            self.requests[f"{request.method} {request.path}"] += 1
            fault = self._faults.popleft() if self._faults and self.faultable(request) else None
        if fault is not None:
            status, headers, body = fault
            response = json_response(body or {"error": "injected fault"}, status, headers)
        else:
            try:
                response = self.route(request)
            except Exception:  # a bug in an emulator must be a 500 the test sees, not a hang
                log.exception("%s emulator failed", self.name)
                response = json_response({"error": "emulator error"}, 500)
        return response(environ, start_response)

    def faultable(self, request: Request) -> bool:
        """Whether injected faults apply to ``request`` (token endpoints are exempt)."""
        return True

    def route(self, request: Request) -> Response:
        """Answer one request."""
        raise NotImplementedError
