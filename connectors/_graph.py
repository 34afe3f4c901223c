"""The Microsoft Graph edge shared by the Outlook connectors: auth, throttling, errors, $batch.

- Auth: msal ``ConfidentialClientApplication`` with a client secret or a certificate (private
  key and certificate by reference), app-only (``.default`` scope); msal's token cache keeps
  the token until it expires. A 401 from Graph drops the cached token once and retries; a
  second 401, or msal refusing the credentials, is :class:`~syncd.errors.AuthExpired`.
  ``authority_host`` may point at the sandbox: instance discovery is then off and the
  authority is not validated (msal reads the host's OpenID configuration instead).
- HTTP: one ``requests`` session for msal and Graph, ``trust_env = False`` (so
  ``REQUESTS_CA_BUNDLE`` cannot override ``ca_bundle``), timeouts on every request.
- Throttling: Outlook allows 4 concurrent requests per (app, mailbox)
  (https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits). The
  gate counts requests, not HTTP calls: a ``$batch`` of n members takes ``min(4, n)`` slots,
  because Graph runs up to 4 members at once and each counts
  (https://learn.microsoft.com/en-us/graph/json-batching). The gate is per (app, mailbox) and
  per process, shared by every connector and worker thread of the process (mail and calendar
  units of one mailbox add up); it does not reach across processes, so with several ``syncd
  run`` processes set ``max_concurrent_per_mailbox`` to 4 divided by their number. A 429/503
  Retry-After blocks the whole mailbox until it has passed (so no concurrent worker sends
  early); without Retry-After the retry backs off exponentially with full jitter, as Graph
  asks (https://learn.microsoft.com/en-us/graph/throttling#best-practices-to-handle-throttling),
  through :mod:`syncd.retry` with the injectable sleep.
- Errors: 410 / ``syncStateNotFound`` / ``resyncRequired`` → CursorExpired; 429, 503, 504,
  other 5xx and network failures → Transient/RateLimited; 401 (after one fresh token) →
  AuthExpired; 403 on a mailbox (``ErrorAccessDenied``: an ApplicationAccessPolicy leaves it
  out, https://learn.microsoft.com/en-us/graph/auth-limit-mailbox-access) → MailboxDenied,
  that mailbox's unit only; other 4xx → Permanent. Nothing above this module sees msal or
  requests.
- ``$batch``: up to 20 GETs per request, one batch at a time per mailbox (each holds the
  mailbox's 4 slots); throttled members are retried after their Retry-After.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import msal
import requests
from pydantic import Field

from syncd import retry
from syncd.config import ConnectorSettings
from syncd.config.types import SecretRef, secret_field
from syncd.errors import (
    AuthExpired,
    ConfigError,
    CursorExpired,
    MailboxDenied,
    Permanent,
    Problem,
    RateLimited,
    Transient,
)

SCOPE = ["https://graph.microsoft.com/.default"]
MAX_IN_FLIGHT = 4
BATCH_LIMIT = 20
_GONE_CODES = {"syncstatenotfound", "resyncrequired", "syncstateinvalid"}


class GraphSettings(ConnectorSettings):
    """``[[connectors]]`` keys shared by ``outlook_mail`` and ``outlook_calendar``."""

    tenant_id: str
    client_id: str
    client_secret: SecretRef | None = secret_field("the app registration's client secret")
    #: PEM private key of the app's certificate (instead of a secret).
    certificate_key: SecretRef | None = secret_field("PEM private key of the app certificate")
    #: PEM file of the certificate uploaded to the app registration.
    certificate_path: str | None = None
    authority_host: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    #: CA bundle to verify Graph and the authority with (None: the system's).
    ca_bundle: str | None = None
    timeout_seconds: float = 30.0
    #: Concurrent requests per mailbox this process may have in flight (Graph allows 4 per
    #: app and mailbox): with N ``syncd run`` processes, give each 4 / N.
    max_concurrent_per_mailbox: int = Field(default=MAX_IN_FLIGHT, ge=1, le=MAX_IN_FLIGHT)


class _Gate:
    """Per (app, mailbox): ``limit`` request slots and the time before which nothing is sent."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        #: Threads waiting for slots (observed by tests; a gauge of contention).
        self.waiting = 0
        self.free = threading.Condition()
        self.not_before: datetime | None = None
        self.lock = threading.Lock()

    @contextmanager
    def slots(self, count: int = 1) -> Iterator[int]:
        """Hold ``count`` slots (at most ``limit``) for the block: a batch waits for all."""
        with self.free:
            count = min(count, self.limit)
            self.waiting += 1
            try:
                self.free.wait_for(lambda: self.in_flight + count <= self.limit)
            finally:
                self.waiting -= 1
            self.in_flight += count
        try:
            yield count
        finally:
            with self.free:
                self.in_flight -= count
                self.free.notify_all()


_GATES: dict[tuple[str, str], _Gate] = {}
_GATES_LOCK = threading.Lock()


def _gate(app: str, mailbox: str, limit: int = MAX_IN_FLIGHT) -> _Gate:
    with _GATES_LOCK:
        gate = _GATES.setdefault((app, mailbox.lower()), _Gate(limit))
        gate.limit = min(gate.limit, limit)  # two connectors of one app: the stricter holds
        return gate


class _Http:
    """The ``http_client`` msal calls: the shared session with a timeout on every request."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        self.session, self.timeout = session, timeout

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.session.get(url, timeout=self.timeout, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.session.post(url, timeout=self.timeout, **kwargs)

    def close(self) -> None:
        self.session.close()


def _retry_after(
    response: requests.Response | None, headers: dict[str, str] | None = None
) -> float | None:
    """The Retry-After seconds Graph sent; None when it sent none (back off exponentially)."""
    # ``if response`` would be False for any 4xx/5xx: requests.Response.__bool__ is ``ok``.
    source = headers if headers is not None else (response.headers if response is not None else {})
    value = {k.lower(): v for k, v in source.items()}.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def translate(
    status: int, body: Any, retry_after: float | None, what: str, mailbox: str = ""
) -> Exception:
    """A Graph error response → the syncd error the caller must act on."""
    error = body.get("error") if isinstance(body, dict) else None
    code = str(error.get("code", "")) if isinstance(error, dict) else ""
    if status == 410 or code.lower() in _GONE_CODES:
        return CursorExpired(f"{what}: delta state gone ({code or status})")
    if status == 429:
        return RateLimited(f"{what}: throttled ({code})", retry_after=retry_after)
    if status in (503, 504):
        return Transient(f"{what}: unavailable ({status})", retry_after=retry_after)
    if status >= 500:
        return Transient(f"{what}: server error {status}")
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    if status == 403 and mailbox and ("AccessPolicy" in message or "[RAOP]" in message):
        return MailboxDenied(
            f"{what}: Graph refuses the app this mailbox ({code or status}); check the "
            "ApplicationAccessPolicy's group",
            mailbox=mailbox,
        )
    if status in (401, 403):
        return AuthExpired(f"{what}: {code or status}")
    return Permanent(f"{what}: {status} {code}", code=code or str(status))


class GraphClient:
    """Authenticated, throttling-aware GETs and $batch against Graph for one app."""

    def __init__(
        self,
        settings: GraphSettings,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        policy: retry.RetryPolicy | str = "default",
    ) -> None:
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sleep = sleep
        self.policy = policy
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE must not override ca_bundle
        session.verify = settings.ca_bundle or True
        self._http = _Http(session, settings.timeout_seconds)
        self._app: msal.ConfidentialClientApplication | None = None
        self.requests_sent = 0
        self._count_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GraphClient(client_id={self.settings.client_id!r})"

    def close(self) -> None:
        """Close the HTTP session."""
        self._http.close()

    # -- auth -----------------------------------------------------------------------------------

    def _credential(self) -> str | dict[str, str]:
        s = self.settings
        if s.client_secret is not None:
            return s.client_secret.resolve()
        if s.certificate_key is not None and s.certificate_path:
            try:
                cert = Path(s.certificate_path).read_text(encoding="utf-8")
            except OSError as exc:
                problem = Problem(f"connectors.{s.name}.certificate_path", str(exc))
                raise ConfigError([problem]) from exc
            return {"private_key": s.certificate_key.resolve(), "public_certificate": cert}
        raise ConfigError(
            [
                Problem(
                    f"connectors.{s.name}",
                    "needs client_secret_env/_file, or certificate_key_env/_file "
                    "with certificate_path",
                )
            ]
        )

    def _msal(self) -> msal.ConfidentialClientApplication:
        with self._count_lock:  # $batch workers ask at once: build one app, one cache
            return self._build_msal()

    def _build_msal(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            s = self.settings
            known = s.authority_host.rstrip("/") == "https://login.microsoftonline.com"
            try:
                self._app = msal.ConfidentialClientApplication(
                    s.client_id,
                    client_credential=self._credential(),
                    authority=f"{s.authority_host.rstrip('/')}/{s.tenant_id}",
                    validate_authority=known,
                    instance_discovery=known,
                    http_client=self._http,
                    token_cache=msal.TokenCache(),
                )
            except (ValueError, requests.RequestException) as exc:
                raise Transient(f"Graph authority unavailable: {type(exc).__name__}") from exc
        return self._app

    def _token(self) -> str:
        app = self._msal()
        try:
            result = app.acquire_token_for_client(scopes=SCOPE)
        except requests.RequestException as exc:
            raise Transient(f"token endpoint unreachable: {type(exc).__name__}") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            # msal signs the client assertion here: a key it cannot use is a config problem.
            where = f"connectors.{self.settings.name}.certificate_key"
            raise ConfigError([Problem(where, f"unusable key: {type(exc).__name__}")]) from exc
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            error = result.get("error", "unknown") if isinstance(result, dict) else "unknown"
            if error in ("invalid_client", "unauthorized_client", "invalid_grant"):
                raise AuthExpired(
                    f"Graph refused the app credentials: {error}", connector_wide=True
                )
            raise Transient(f"no Graph token: {error}")
        return str(token)

    def _drop_token(self) -> None:
        # A fresh cache makes msal ask the token endpoint again on the next call.
        self._app = None

    # -- requests -------------------------------------------------------------------------------

    def _wait_gate(self, gate: _Gate) -> None:
        with gate.lock:
            until = gate.not_before
        if until is not None:
            left = (until - self.clock()).total_seconds()
            if left > 0:
                self.sleep(left)

    def _block(self, gate: _Gate, seconds: float) -> None:
        with gate.lock:
            until = self.clock() + timedelta(seconds=seconds)
            if gate.not_before is None or until > gate.not_before:
                gate.not_before = until

    def _gate(self, mailbox: str) -> _Gate:
        return _gate(self.settings.client_id, mailbox, self.settings.max_concurrent_per_mailbox)

    def _send(
        self, mailbox: str, method: str, url: str, *, members: int = 1, **kwargs: Any
    ) -> requests.Response:
        gate = self._gate(mailbox)
        with gate.slots(members):
            self._wait_gate(gate)
            headers = dict(kwargs.pop("headers", None) or {})
            for attempt in (1, 2):
                headers["Authorization"] = f"Bearer {self._token()}"
                with self._count_lock:
                    self.requests_sent += 1
                try:
                    response = self._http.session.request(
                        method,
                        url,
                        headers=headers,
                        timeout=self.settings.timeout_seconds,
                        **kwargs,
                    )
                except requests.RequestException as exc:
                    raise Transient(f"Graph unreachable: {type(exc).__name__}") from exc
                if response.status_code == 401 and attempt == 1:
                    self._drop_token()
                    continue
                wait = _retry_after(response)
                if response.status_code in (429, 503) and wait is not None:
                    self._block(gate, wait)
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, response: requests.Response, what: str, mailbox: str = "") -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise translate(response.status_code, body, _retry_after(response), what, mailbox)
        if not isinstance(body, dict):
            raise Transient(f"{what}: unreadable response")
        return body

    def get(
        self,
        mailbox: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        what: str = "Graph GET",
    ) -> dict[str, Any]:
        """GET ``url`` (absolute) for ``mailbox``, retried under the policy; the JSON body."""

        def once() -> dict[str, Any]:
            response = self._send(mailbox, "GET", url, params=params, headers=headers)
            return self._json(response, what, mailbox)

        return retry.call(once, self.policy, sleep=self.sleep)

    def batch_get(self, mailbox: str, paths: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """GET each relative path (``/users/…``) through ``$batch``: path → body (None: 404)."""
        todo = list(dict.fromkeys(paths))
        results: dict[str, dict[str, Any] | None] = {}
        # One batch at a time: a batch of 4+ members already fills the mailbox's 4 slots. Under
        # a smaller share, batches only as large as the share, since Graph runs members 4 at once.
        limit = self.settings.max_concurrent_per_mailbox
        size = BATCH_LIMIT if limit >= MAX_IN_FLIGHT else limit
        for i in range(0, len(todo), size):
            results.update(self._batch_chunk(mailbox, todo[i : i + size]))
        return results

    def _batch_chunk(self, mailbox: str, paths: list[str]) -> dict[str, dict[str, Any] | None]:
        results: dict[str, dict[str, Any] | None] = {}
        pending = list(paths)
        gate = self._gate(mailbox)
        url = self.settings.graph_url.rstrip("/") + "/$batch"

        def once() -> None:
            payload = {
                "requests": [
                    {"id": str(i), "method": "GET", "url": p} for i, p in enumerate(pending)
                ]
            }
            response = self._send(mailbox, "POST", url, json=payload, members=len(pending))
            body = self._json(response, "Graph $batch")
            throttled: list[str] = []
            waits: list[float | None] = []
            for member in body.get("responses", []):
                path = pending[int(member["id"])]
                status = int(member.get("status", 500))
                if status == 200:
                    results[path] = member.get("body")
                elif status == 404:
                    results[path] = None
                elif status in (429, 503) or status >= 500:
                    throttled.append(path)
                    waits.append(_retry_after(None, member.get("headers") or {}))
                else:
                    body_ = member.get("body")
                    raise translate(status, body_, None, "Graph $batch member", mailbox)
            pending[:] = throttled
            if throttled:
                told = [w for w in waits if w is not None]
                wait = max(told) if told else None  # none said: back off exponentially
                if wait is not None:
                    self._block(gate, wait)
                raise RateLimited(f"{len(throttled)} $batch members throttled", retry_after=wait)

        retry.call(once, self.policy, sleep=self.sleep)
        return results


def series_uids(client: GraphClient, mailbox: str, masters: Iterable[str]) -> dict[str, str | None]:
    """Each series master's ``iCalUId`` (one ``$batch`` member per master)."""
    paths = {m: f"/users/{mailbox}/events/{m}?$select=iCalUId" for m in sorted(set(masters))}
    if not paths:
        return {}
    bodies = client.batch_get(mailbox, paths.values())
    found: dict[str, str | None] = {}
    for master, path in paths.items():
        body = bodies.get(path) or {}
        uid = body.get("iCalUId") if isinstance(body, Mapping) else None
        found[master] = str(uid) if uid else None
    return found
