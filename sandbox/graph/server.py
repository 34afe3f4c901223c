"""The Graph sandbox as a running HTTPS server: identity provider, Outlook mail and calendar.

``GraphSandbox().start()`` serves on 127.0.0.1 (a free port) with a certificate from
:mod:`sandbox.tls`, in a daemon thread. ``url`` is both the authority host
(``{url}/{tenant}``) and the Graph root (``{url}/v1.0``).

Identity: ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and
``POST /{tenant}/oauth2/v2.0/token`` (client_credentials with ``client_secret`` or a signed
``client_assertion``; the scope must be ``https://graph.microsoft.com/.default``). Tokens last
an hour of the sandbox clock; a bad or expired bearer gets 401 InvalidAuthenticationToken.

Graph (``/v1.0``): ``users/{id|upn}/mailFolders/{folder}/messages/delta``,
``users/{id}/messages/{id}`` (``$expand`` of an eventMessage's event, and
``.../microsoft.graph.eventMessage/event``), ``users/{id}/events/{id}``,
``users/{id}/calendarView/delta`` and ``$batch`` (at most 20 requests). Unknown query
options → 400, as Graph does. Throttling is :mod:`sandbox.graph.throttle`; routes live in
:mod:`sandbox.graph.routes`.
"""

from __future__ import annotations

import json
import logging
import secrets
import ssl
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography import x509
from werkzeug.wrappers import Request, Response

from sandbox import tls
from sandbox.graph.data import Mailbox, make_id
from sandbox.graph.routes import GraphError, Routes
from sandbox.graph.throttle import Throttle
from sandbox.latency import Latency
from sandbox.serving import Emulator

log = logging.getLogger(__name__)
SCOPE = "https://graph.microsoft.com/.default"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


class GraphSandbox(Emulator):
    """A strict Microsoft Graph + Entra ID emulator on loopback."""

    name = "graph"

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        ca: tls.TestCA | None = None,
        budget: int = 10_000,
        latency: float = 0.0,
    ) -> None:
        self.clock = clock or _utcnow
        #: Wait before every request (:mod:`sandbox.latency`); ``latency.seconds`` to change.
        self.latency = Latency(latency)
        self._ca = ca or tls.default_ca()
        self.ca_bundle = self._ca.ca_bundle_path
        self.tenant = "sandbox-tenant"
        self.client_id = str(uuid.uuid4())  # per instance: client-side gates never mix
        self.client_secret = secrets.token_urlsafe(24)
        self.certificates: dict[str, x509.Certificate] = {}
        self.mailboxes: dict[str, Mailbox] = {}
        #: Mailboxes an ApplicationAccessPolicy keeps from the app (403 ErrorAccessDenied).
        self.access_denied: set[str] = set()
        self.throttle = Throttle(self.clock, budget=budget)
        self.requests: Counter[str] = Counter()
        self.tokens_issued = 0
        self._tokens: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()
        self.routes = Routes(self)

    def __repr__(self) -> str:
        return f"GraphSandbox(url={self.url!r})"

    # -- life cycle -----------------------------------------------------------------------------

    @property
    def authority(self) -> str:
        """The authority URL a client gives msal."""
        return f"{self.url}/{self.tenant}"

    @property
    def graph_url(self) -> str:
        """The Graph API root."""
        return f"{self.url}/v1.0"

    def describe_credentials(self) -> dict[str, str]:
        """What ``python -m sandbox serve`` prints for this service."""
        return {
            "authority": self.authority,
            "graph_url": self.graph_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    # -- seeding --------------------------------------------------------------------------------

    def add_certificate(self, certificate_pem: str | bytes) -> None:
        """Upload a certificate to the app registration (for client assertions)."""
        data = certificate_pem.encode() if isinstance(certificate_pem, str) else certificate_pem
        cert = x509.load_pem_x509_certificate(data)
        self.certificates[cert.fingerprint(cert.signature_hash_algorithm).hex()] = cert  # type: ignore[arg-type]

    def add_user(self, address: str) -> Mailbox:
        """A licensed user with a mailbox; returns it (idempotent)."""
        address = address.lower()
        found = self.mailboxes.get(address)
        if found is None:
            found = Mailbox(user_id=make_id("user", address)[:36], address=address)
            self.mailboxes[address] = found
        return found

    def deny_access(self, address: str) -> None:
        """Exclude a mailbox from the app, as an ApplicationAccessPolicy does (see routes)."""
        self.access_denied.add(address.lower())

    def mailbox(self, ref: str) -> Mailbox:
        """A mailbox by address (UPN) or user id; raises GraphError 404 otherwise."""
        found = self.mailboxes.get(ref.lower())
        if found is None:
            found = next((m for m in self.mailboxes.values() if m.user_id == ref), None)
        if found is None:
            raise GraphError(404, "ErrorInvalidUser", "The requested user is invalid.")
        return found

    def reset_counters(self) -> None:
        """Zero the request counts and the throttle's records."""
        self.requests.clear()
        self.throttle.reset()

    # -- identity -------------------------------------------------------------------------------

    def _openid(self) -> Response:
        base = self.authority
        return json_response(
            200,
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "token"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                ],
            },
        )

    def _token_error(self, code: str, description: str, status: int = 401) -> Response:
        return json_response(status, {"error": code, "error_description": description})

    def _assertion_ok(self, assertion: str) -> bool:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return False
        for cert in self.certificates.values():
            try:
                claims = jwt.decode(
                    assertion,
                    cert.public_key(),  # type: ignore[arg-type]
                    algorithms=["RS256", "PS256"],
                    audience=f"{self.authority}/oauth2/v2.0/token",
                    options={"require": ["exp", "iss", "sub", "aud"]},
                )
            except jwt.PyJWTError:
                continue
            if claims["iss"] == claims["sub"] == self.client_id and header.get("alg"):
                return True
        return False

    def _token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return self._token_error("unsupported_grant_type", "AADSTS70003", 400)
        if form.get("client_id") != self.client_id:
            return self._token_error("unauthorized_client", "AADSTS700016: unknown app", 400)
        if form.get("scope") != SCOPE:
            return self._token_error("invalid_scope", "AADSTS1002012: bad scope", 400)
        if form.get("client_assertion"):
            ok = form.get("client_assertion_type") == ASSERTION_TYPE and self._assertion_ok(
                form["client_assertion"]
            )
        else:
            ok = secrets.compare_digest(form.get("client_secret", ""), self.client_secret)
        if not ok:
            return self._token_error("invalid_client", "AADSTS7000215: invalid client secret")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (self.client_id, self.clock() + timedelta(hours=1))
            self.tokens_issued += 1
        return json_response(
            200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}
        )

    def bearer_app(self, request: Request) -> str:
        """The app id behind the request's bearer token; raises GraphError 401 otherwise."""
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self._lock:
            found = self._tokens.get(token)
        if found is None or found[1] <= self.clock():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
        return found[0]

    def expire_access_tokens(self) -> None:
        """Revoke every access token issued (clients must get a new one)."""
        with self._lock:
            self._tokens.clear()

    # -- WSGI -----------------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """HTTPS with the test CA."""
        return self._ca.server_ssl_context()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = urlsplit(request.url).path
        with self._lock:
            self.requests["total"] += 1
        if path == f"/{self.tenant}/v2.0/.well-known/openid-configuration":
            response = self._openid()
        elif path == f"/{self.tenant}/oauth2/v2.0/token" and request.method == "POST":
            with self._lock:
                self.requests["token"] += 1
            response = self._token(request)
        elif path.startswith("/v1.0/"):
            response = self.routes.handle(request, path[len("/v1.0") :])
        else:
            response = json_response(404, {"error": {"code": "NotFound", "message": path}})
        return response(environ, start_response)
