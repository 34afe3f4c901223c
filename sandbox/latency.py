"""Network latency for the emulators: a fixed wait before every HTTP request is handled.

Real services answer in tens of milliseconds; the emulators on loopback answer in well under
one. A benchmark that wants the services to cost what they cost in production (so that the
emulators are not what limits throughput, and waiting on the network is) gives an emulator a
latency: ``SalesforceSandbox(latency=0.05)``, ``python -m sandbox serve --latency 0.05``.

Every emulator wraps its WSGI application in its :class:`Latency` (``self.latency``), so the
wait applies to every request (token, API, batch, 404, injected fault alike), in the request's
own server thread, before the emulator looks at it: concurrent requests wait side by side, as
they would on a real network, and no emulator lock is held while waiting. This is not a fault:
it never runs out. ``seconds`` can be changed while serving; ``wait`` can be replaced (tests
inject a recorder instead of sleeping); ``applied`` counts the requests that waited.

The wrapper also turns Nagle's algorithm off on the request's connection (``TCP_NODELAY``, as
API front ends do), whatever the latency: werkzeug writes a response's headers and its body
separately, and over TLS the second write otherwise waits for the client's delayed ACK, which
added about 10 ms to every request on loopback, a wait no real service adds and that made
``--latency 0.05`` cost about 0.06 s.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

#: A WSGI application: ``app(environ, start_response)``.
WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class Latency:
    """``seconds`` of wait (0 = none) before every request of the application it wraps."""

    def __init__(self, seconds: float = 0.0, *, wait: Callable[[float], None] = time.sleep):
        if seconds < 0:
            raise ValueError(f"latency must be >= 0 seconds, not {seconds}")
        self.seconds = float(seconds)
        self.wait = wait
        self.applied = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Latency(seconds={self.seconds!r}, applied={self.applied})"

    def apply(self) -> None:
        """Wait ``seconds`` now (in the calling request's thread), counting the request."""
        seconds = self.seconds
        if seconds <= 0:
            return
        with self._lock:
            self.applied += 1
        self.wait(seconds)

    def wrap(self, app: WsgiApp) -> WsgiApp:
        """``app`` with the wait in front of every request."""

        def delayed(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            no_delay(environ.get("werkzeug.socket"))
            self.apply()
            return app(environ, start_response)

        return delayed


def no_delay(connection: Any) -> None:
    """Send small writes on ``connection`` (a TCP socket, or None) at once: no Nagle delay."""
    if connection is None:
        return
    try:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):  # not a TCP socket (a test double, a Unix socket)
        return
