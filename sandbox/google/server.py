"""The Google sandbox as a running HTTPS server: Gmail v1, Calendar v3, OAuth and batch.

``GoogleSandbox().start()`` serves on 127.0.0.1 (a free port) with a certificate from
:mod:`sandbox.tls`. Paths and query parameters are checked against the discovery documents
google-api-python-client ships: an unknown path is 404, an unknown parameter 400, as Google
does. Every request needs ``Authorization: Bearer`` from ``/token`` (401 otherwise), acting
for the user in ``userId`` (``me`` is the token's user; another user is 403). Batch endpoints
(``/batch``, ``/batch/gmail/v1``, ``/batch/calendar/v3``) take ≤100 parts, each charged and
answered on its own. ``requests`` counts every HTTP request by kind (``token``, ``batch``,
``api``); ``quota`` counts units per user.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from werkzeug.wrappers import Request, Response

from sandbox import tls
from sandbox.google import batch, scope
from sandbox.google.auth import Auth, Grant, TokenError
from sandbox.google.calendar import Calendar
from sandbox.google.errors import ApiError
from sandbox.google.gmail import Gmail
from sandbox.google.quota import Quota, Refusal
from sandbox.latency import Latency
from sandbox.serving import Emulator

log = logging.getLogger(__name__)

GMAIL_METADATA = "https://www.googleapis.com/auth/gmail.metadata"
GMAIL_READONLY = "https://www.googleapis.com/auth/gmail.readonly"
CALENDAR_READONLY = "https://www.googleapis.com/auth/calendar.readonly"
CALENDAR_EVENTS_READONLY = "https://www.googleapis.com/auth/calendar.events.readonly"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@functools.cache
def _discovery(name: str) -> dict[str, Any]:
    package = resources.files("googleapiclient") / "discovery_cache" / "documents"
    return json.loads((package / name).read_text(encoding="utf-8"))


_Route = tuple[str, str, re.Pattern[str], set[str], frozenset[str]]


def _routes(doc: dict[str, Any], prefix: str) -> list[_Route]:
    """(HTTP method, method id, path regex, allowed parameters, scopes) for every method."""
    common = set(doc.get("parameters", {}))
    found: list[_Route] = []

    def walk(resource: dict[str, Any]) -> None:
        for method in resource.get("methods", {}).values():
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(prefix + method["path"]))
            params = common | set(method.get("parameters", {}))
            scopes = frozenset(method.get("scopes", ()))
            route = (method["httpMethod"], method["id"], re.compile(f"^{pattern}$"), params, scopes)
            found.append(route)
        for child in resource.get("resources", {}).values():
            walk(child)

    walk(doc)
    return found


class GoogleSandbox(Emulator):
    """A strict emulator of Gmail and Calendar for one Workspace domain."""

    name = "google"

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        ca: tls.TestCA | None = None,
        latency: float = 0.0,
    ) -> None:
        self.clock = clock or _utcnow
        self._ca = ca or tls.default_ca()
        self.ca_bundle = self._ca.ca_bundle_path
        #: Wait before every request (:mod:`sandbox.latency`); ``latency.seconds`` to change.
        self.latency = Latency(latency)
        self.auth = Auth(lambda: f"{self.url}/token")
        self.gmail = Gmail()
        self.calendar = Calendar(self.clock)
        self.quota = Quota(self.clock)
        self.requests: Counter[str] = Counter()
        self.methods: Counter[str] = Counter()
        self.fail_next: list[int] = []  # statuses for the next API calls (5xx injection)
        self._routes = {
            "gmail": _routes(_discovery("gmail.v1.json"), "/"),
            "calendar": _routes(_discovery("calendar.v3.json"), "/calendar/v3/"),
        }
        self._served_account: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GoogleSandbox(url={self.url!r})"

    # -- test API ---------------------------------------------------------------------------

    def add_user(self, address: str) -> None:
        """A user of the domain (a delegation subject), with an empty mailbox and calendar."""
        self.auth.users.add(address.lower())
        self.gmail.mailbox(address)
        self.calendar.calendar(address)

    def service_account(self) -> dict[str, Any]:
        """A service account with domain-wide delegation for the read-only scopes syncd uses."""
        return self.auth.service_account(
            [GMAIL_METADATA, GMAIL_READONLY, CALENDAR_READONLY, CALENDAR_EVENTS_READONLY]
        )

    def reset_counters(self) -> None:
        """Zero the request and quota counters."""
        self.requests.clear()
        self.methods.clear()
        self.quota.used.clear()
        self.quota.calls.clear()
        self.quota.refused.clear()
        self.quota.peak_project = self.quota.peak_user = 0

    def inject_rate_limit(self, user: str, n: int = 1, *, status: int = 429, wait: int = 2) -> None:
        """The next ``n`` calls for ``user`` are refused (429, or 403 userRateLimitExceeded)."""
        reason = "rateLimitExceeded" if status == 429 else "userRateLimitExceeded"
        self.quota.inject(user.lower(), [Refusal(status, reason, wait)] * n)

    # -- server -----------------------------------------------------------------------------

    def describe_credentials(self) -> dict[str, Any]:
        """What ``python -m sandbox serve`` prints: endpoints and a service account key.

        The key is the sandbox's own throwaway test key (it signs nothing outside it).
        """
        if self._served_account is None:
            self._served_account = self.service_account()
        return {
            "url": self.url,
            "gmail_endpoint": f"{self.url}/",
            "calendar_endpoint": f"{self.url}/calendar/v3/",
            "service_account_key": self._served_account,
            "users": sorted(self.auth.users),
        }

    # -- dispatch ---------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """HTTPS with the test CA."""
        return self._ca.server_ssl_context()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._respond(request)
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        path = request.path
        if path == "/token" and request.method == "POST":
            with self._lock:
                self.requests["token"] += 1
            try:
                body = self.auth.grant({k: v for k, v in request.form.items()})
            except TokenError as exc:
                err = {"error": exc.error, "error_description": exc.description}
                return Response(json.dumps(err), exc.status, mimetype="application/json")
            return Response(json.dumps(body), 200, mimetype="application/json")
        if path in ("/batch", "/batch/gmail/v1", "/batch/calendar/v3") and request.method == "POST":
            with self._lock:
                self.requests["batch"] += 1
            return self._batch(request)
        with self._lock:
            self.requests["api"] += 1
        status, headers, payload = self._call(
            request.method,
            request.full_path if request.query_string else path,
            request.headers.get("Authorization"),
        )
        return Response(
            json.dumps(payload) if payload is not None else "",
            status,
            headers=headers,
            mimetype="application/json",
        )

    def _batch(self, request: Request) -> Response:
        try:
            parts = batch.parse(request.headers.get("Content-Type", ""), request.get_data())
        except batch.BatchFormatError as exc:
            err = ApiError(400, "badRequest", str(exc))
            return Response(json.dumps(err.body()), 400, mimetype="application/json")
        outer = request.headers.get("Authorization")
        answers = []
        for part in parts:
            # A part's own Authorization wins; otherwise the batch request's applies.
            auth = part.headers.get("authorization", outer)
            status, headers, payload = self._call(part.method, part.target, auth)
            answers.append((part.content_id, status, headers, payload))
        content_type, body = batch.render(answers)
        return Response(body, 200, content_type=content_type)

    def _call(
        self, method: str, target: str, authorization: str | None
    ) -> tuple[int, dict[str, str], Any]:
        try:
            return 200, {}, self._dispatch(method, target, authorization)
        except ApiError as exc:
            return exc.status, exc.headers, exc.body()

    def _dispatch(self, method: str, target: str, authorization: str | None) -> Any:
        split = urlsplit(target)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        api, method_id, params = self._route(method, path)
        unknown = set(query) - params[1]
        if unknown:
            name = sorted(unknown)[0]
            raise ApiError(
                400, "badRequest", f'Invalid JSON payload received. Unknown name "{name}"'
            )
        grant = self.auth.check(authorization)
        if grant is None:
            raise ApiError(
                401,
                "authError",
                "Request had invalid authentication credentials.",
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        scope.check(method_id, params[2], grant.scopes, query)
        user = self._user(api, params[0], grant)
        with self._lock:
            self.methods[method_id] += 1
            failure = self.fail_next.pop(0) if self.fail_next else None
        if failure is not None:
            raise ApiError(failure, "backendError", "Backend Error")
        refusal = self.quota.enter(api, user)
        if refusal is None:
            try:
                refusal = self.quota.charge(api, method_id, user)
                if refusal is None:
                    return self._invoke(api, method_id, params[0], user, query)
            finally:
                self.quota.leave(api, user)
        default = "Rate Limit Exceeded" if refusal.status == 403 else "Too many requests"
        raise ApiError(
            refusal.status,
            refusal.reason,
            refusal.message or default,
            {"Retry-After": str(refusal.retry_after)},
        )

    def _route(
        self, verb: str, path: str
    ) -> tuple[str, str, tuple[dict[str, str], set[str], frozenset[str]]]:
        for api, routes in self._routes.items():
            for http_method, method_id, pattern, allowed, scopes in routes:
                match = pattern.match(path)
                if match and http_method == verb:
                    return api, method_id, (match.groupdict(), allowed, scopes)
        raise ApiError(404, "notFound", f"The requested URL {path} was not found on this server.")

    def _user(self, api: str, path_params: dict[str, str], grant: Grant) -> str:
        wanted = path_params.get("userId") or path_params.get("calendarId") or "me"
        if wanted in ("me", "primary"):
            return grant.user
        if wanted.lower() != grant.user:
            raise ApiError(403, "forbidden", "Delegation denied for " + grant.user)
        return grant.user

    def _invoke(
        self,
        api: str,
        method_id: str,
        path_params: dict[str, str],
        user: str,
        query: dict[str, list[str]],
    ) -> Any:
        if api == "gmail":
            if user not in self.gmail.mailboxes:
                raise ApiError(400, "failedPrecondition", "Mail service not enabled")
            box = self.gmail.mailbox(user)
            if method_id == "gmail.users.getProfile":
                return self.gmail.get_profile(box, query)
            if method_id == "gmail.users.messages.list":
                return self.gmail.list_messages(box, query)
            if method_id == "gmail.users.messages.get":
                return self.gmail.get_message(box, path_params["id"], query)
            if method_id == "gmail.users.history.list":
                return self.gmail.list_history(box, query)
            if method_id == "gmail.users.labels.list":
                return self.gmail.list_labels(box, query)
        elif method_id == "calendar.events.list":
            return self.calendar.list_events(user, query)
        elif method_id == "calendar.events.get":
            return self.calendar.get_event(user, path_params["eventId"])
        raise ApiError(501, "notImplemented", f"{method_id} is not emulated by the sandbox")
