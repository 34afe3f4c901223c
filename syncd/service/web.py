"""HTTP endpoints of the daemon: a werkzeug WSGI app and a threaded server on ``service.listen``.

- ``/healthz``: the process is alive and serving (200, always).
- ``/readyz``: 200 when a write to the state store commits (a full disk, a read-only or a
  deleted file fail it, not only a dead connection), the last directory load succeeded and
  the daemon is not stopping; 503 with a JSON ``reason`` otherwise (a load balancer or
  systemd watchdog can act on it).
- ``/metrics``: Prometheus text exposition from this process's registry.
- ``/``: the HTML status page, with a banner for every outage (the daemon's tracker and the
  units whose latest pass stopped on one: :mod:`syncd.service.outage_notes`).

Nothing here reads message content or configuration secrets: only the store's status, counts
and this process's metrics.

With ``service.token_env``/``_file`` set, every endpoint but ``/healthz``, ``/readyz`` and
``/webhooks/…`` wants ``Authorization: Bearer <token>`` (401 otherwise, RFC 6750): the status
page and metrics name reps, opportunities and error classes. Webhooks carry their vendor's own
proof (Aircall's token, Slack's signature), so they never take syncd's token; with
``service.webhook_listen`` they are served on that address alone (:class:`WebhookApp`), and
``listen`` can stay on loopback while vendors reach only the webhooks.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from syncd.service.metrics import CONTENT_TYPE, Metrics
from syncd.service.outage_notes import OutageNote, from_report, merge
from syncd.service.status import PageInfo, render_page

if TYPE_CHECKING:
    from syncd.state import Store

log = logging.getLogger(__name__)


class Readiness:
    """What /readyz reports beyond the store: the last directory load (set by the scheduler)."""

    def __init__(self) -> None:
        self.directory_ok = False
        self.directory_reason = "the directory has not been loaded yet"
        self.draining = False
        self._lock = threading.Lock()

    def directory_loaded(self) -> None:
        """The last load or refresh succeeded."""
        with self._lock:
            self.directory_ok, self.directory_reason = True, ""

    def directory_failed(self, error_class: str) -> None:
        """The last load or refresh failed with ``error_class``."""
        with self._lock:
            self.directory_ok = False
            self.directory_reason = f"the last directory load failed ({error_class})"


class WebApp:
    """The WSGI application."""

    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        readiness: Readiness,
        *,
        worker_id: str = "",
        intervals: Mapping[str, timedelta] | None = None,
        flags: Callable[[], Sequence[Any]] | None = None,
        webhooks: Mapping[str, Callable[..., Iterable[bytes]]] | None = None,
        token: str | None = None,
        outages: Callable[[], Sequence[OutageNote]] | None = None,
    ) -> None:
        self.store = store
        #: What this process's tracker has stopped now (the daemon's ``Outages``).
        self.outages = outages or (lambda: ())
        self.token = token
        self.metrics = metrics
        self.readiness = readiness
        self.worker_id = worker_id
        self.intervals = dict(intervals or {})
        self.flags = flags or (lambda: store.flags.list_open())
        #: Connector name → the WSGI receiver of its vendor's webhooks (Aircall), which
        #: checks the vendor's token or signature itself before accepting anything.
        self.webhooks = dict(webhooks or {})
        self.urls = Map(
            [
                Rule("/healthz", endpoint="healthz", methods=["GET", "HEAD"]),
                Rule("/readyz", endpoint="readyz", methods=["GET", "HEAD"]),
                Rule("/metrics", endpoint="metrics", methods=["GET", "HEAD"]),
                Rule("/", endpoint="status", methods=["GET", "HEAD"]),
                Rule("/webhooks/<name>", endpoint="webhook", methods=["POST"]),
            ]
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """WSGI entry point."""
        request = Request(environ)
        adapter = self.urls.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
            if endpoint == "webhook":
                receiver = self.webhooks.get(values["name"])
                if receiver is None:
                    raise NotFound()
                return receiver(environ, start_response)
            if endpoint not in OPEN_ENDPOINTS and not bearer_ok(request, self.token):
                response = UNAUTHORIZED()
            else:
                response = getattr(self, f"on_{endpoint}")(request)
        except (NotFound, MethodNotAllowed) as exc:
            response = exc.get_response()
        except HTTPException as exc:  # pragma: no cover - werkzeug's own answers
            response = exc.get_response()
        except Exception:  # an endpoint must answer, not drop the connection
            log.exception("endpoint failed", extra={"path": request.path})
            response = Response("internal error\n", status=500, mimetype="text/plain")
        return response(environ, start_response)

    def on_healthz(self, _request: Request) -> Response:
        """Alive."""
        return Response("ok\n", mimetype="text/plain")

    def store_problem(self) -> str | None:
        """None when a write commits in the state store, else the error's class."""
        return self.store.commit_problem()  # type: ignore[no-any-return]

    def readiness_reason(self) -> str | None:
        """None when ready, else why not."""
        if self.readiness.draining:
            return "stopping: finishing the batch in flight"
        problem = self.store_problem()
        if problem is not None:
            return f"the state store cannot commit ({problem})"
        if not self.readiness.directory_ok:
            return self.readiness.directory_reason
        return None

    def on_readyz(self, _request: Request) -> Response:
        """Ready for work, or 503 with the reason."""
        reason = self.readiness_reason()
        body = {"ready": reason is None} | ({"reason": reason} if reason else {})
        return Response(
            json.dumps(body) + "\n",
            status=200 if reason is None else 503,
            mimetype="application/json",
        )

    def on_metrics(self, _request: Request) -> Response:
        """Prometheus exposition."""
        return Response(self.metrics.exposition(), content_type=CONTENT_TYPE)

    def on_status(self, _request: Request) -> Response:
        """The status page."""
        reason = self.readiness_reason()
        queued, failed, problem = self.store.alerts.backlog()
        info = PageInfo(
            worker_id=self.worker_id,
            ready=reason is None,
            ready_reason=reason or "",
            alerts_queued=queued,
            alerts_failed=failed,
            alerts_problem=problem or "",
            flag_accounts=self.metrics.flag_accounts(),
        )
        try:
            flags = list(self.flags())
        except Exception:  # flags are a nicety: the page still shows the units
            log.warning("status page: flags unavailable", exc_info=True)
            flags = []
        report = self.store.status()
        outages = merge(self.outages(), from_report(report))
        page = render_page(
            report, intervals=self.intervals, flags=flags, info=info, outages=outages
        )
        return Response(page, mimetype="text/html")


class _PlainRequestLog(WSGIRequestHandler):
    """werkzeug's handler, logging each request through our logging without ANSI colours.

    werkzeug colours its request line (status 4xx bold red, …) with escape codes that end up
    in journald and JSON logs; here the line is plain and carries method, path and status.
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One DEBUG line per request: method, path (no query string) and status."""
        path = self.path.split("?", 1)[0] if hasattr(self, "path") else "-"
        method = getattr(self, "command", "-")
        log.debug("%s %s %s", method, path, code, extra={"status": str(code)})

    def log(self, type: str, message: str, *args: Any) -> None:
        """Other werkzeug messages (errors) go to our logger too, uncoloured."""
        log.warning(message.rstrip(), *args)


#: Endpoints that never ask for the token: probes, and webhooks (their vendor's own proof).
OPEN_ENDPOINTS = frozenset({"healthz", "readyz", "webhook"})


def bearer_ok(request: Request, token: str | None) -> bool:
    """True without a token, or when the request carries ``Authorization: Bearer <token>``."""
    if not token:
        return True
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def UNAUTHORIZED() -> Response:  # noqa: N802 - reads as the constant answer it is
    """401 with the challenge RFC 6750 asks for."""
    return Response(
        "a bearer token is required (Authorization: Bearer …)\n",
        status=401,
        mimetype="text/plain",
        headers={"WWW-Authenticate": 'Bearer realm="syncd"'},
    )


class WebhookApp:
    """Only ``/webhooks/<name>``, for the separate ``service.webhook_listen`` address."""

    def __init__(self, webhooks: Mapping[str, Callable[..., Iterable[bytes]]]) -> None:
        self.webhooks = dict(webhooks)
        self.urls = Map([Rule("/webhooks/<name>", endpoint="webhook", methods=["POST"])])

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """WSGI entry point: the named receiver, or 404/405."""
        try:
            _, values = self.urls.bind_to_environ(environ).match()
            receiver = self.webhooks.get(values["name"])
            if receiver is None:
                raise NotFound()
        except (NotFound, MethodNotAllowed) as exc:
            return exc.get_response()(environ, start_response)
        return receiver(environ, start_response)


class WebServer:
    """A threaded werkzeug server in a daemon thread."""

    def __init__(self, app: Callable[..., Iterable[bytes]], listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self._server: BaseWSGIServer = make_server(
            host.strip("[]"), int(port), app, threaded=True, request_handler=_PlainRequestLog
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="syncd-web", daemon=True
        )

    @property
    def url(self) -> str:
        """``http://host:port`` actually bound (port 0 picks a free one)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> WebServer:
        """Serve in the background."""
        self._thread.start()
        log.info("serving health, metrics and status", extra={"url": self.url})
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
