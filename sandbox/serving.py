"""How every emulator serves: its WSGI app on 127.0.0.1, in a daemon thread, quietly.

:class:`Emulator` is the base of the Salesforce, Google, Graph, Slack and dialer emulators.
A subclass supplies ``_wsgi`` (its app), ``latency`` (:mod:`sandbox.latency`, applied before
every request), ``name`` (the thread's and the log's label) and, to serve HTTPS,
:meth:`Emulator.ssl_context` from its test CA. ``start(port=0)`` picks a free port and sets
``url``; ``stop()`` is quick (the serving loop polls its shutdown flag every 50 ms) and
releases the port; ``with emulator:`` does both. Werkzeug's per-request log lines go to
``logging`` at DEBUG, never to stderr, so test output stays readable.
"""

from __future__ import annotations

import logging
import ssl
import threading
from typing import Any, ClassVar, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.latency import Latency

log = logging.getLogger(__name__)

#: How often the serving loop checks for shutdown: stop() waits at most about this long.
POLL_SECONDS = 0.05


class QuietHandler(WSGIRequestHandler):
    """Request handler that logs at DEBUG through logging instead of writing to stderr."""

    def log(self, type: str, message: str, *args: Any) -> None:
        """One request line, at DEBUG."""
        log.debug("%s " + message, type, *args)


class Emulator:
    """Serving, start/stop and ``with`` for one emulator (see the module docstring)."""

    name: ClassVar[str] = "sandbox"
    #: The base URL once started (``https://127.0.0.1:<port>``, http for plain emulators).
    url: str = ""
    latency: Latency
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server's TLS context; None serves plain HTTP."""
        return None

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        raise NotImplementedError

    def start(self, port: int = 0) -> Self:
        """Serve on 127.0.0.1 (``port`` 0 picks a free one) in a daemon thread; returns self."""
        context = self.ssl_context()
        server = make_server(
            "127.0.0.1",
            port,
            self.latency.wrap(self._wsgi),
            threaded=True,
            request_handler=QuietHandler,
            ssl_context=context,
        )
        self._server = server
        scheme = "https" if context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{server.server_port}"
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=POLL_SECONDS),
            name=f"{self.name}-sandbox",
            daemon=True,
        )
        self._thread.start()
        log.info("%s sandbox listening on %s", self.name, self.url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
