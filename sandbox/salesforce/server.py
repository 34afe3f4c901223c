"""The sandbox org as a running HTTPS server, and its Python API for tests and seeding.

``SalesforceSandbox().start()`` serves the REST API on 127.0.0.1 (a free port) with a certificate
from :mod:`sandbox.tls`, in a daemon thread. Like a real org it has two hosts, both names in the
certificate and both loopback: ``url`` (``https://127.0.0.1:PORT``) is the org's My Domain and
instance URL; ``login_url`` (``https://localhost:PORT``) plays login.salesforce.com, which
refuses the client-credentials flow.
"""

from __future__ import annotations

import atexit
import json
import logging
import shutil
import ssl
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote, urlsplit

from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response

from sandbox import tls
from sandbox.latency import Latency
from sandbox.salesforce.activity_rules import SHARED_ACTIVITY_FIELDS
from sandbox.salesforce.api import API_VERSION, Api
from sandbox.salesforce.auth import Auth
from sandbox.salesforce.errors import ApiError, RecordError
from sandbox.salesforce.faults import Faults
from sandbox.salesforce.objects import org_schema, tooling_schema
from sandbox.salesforce.seed import DEFAULT_STAGES, replace_stages, seed_csv, stage_rows
from sandbox.salesforce.store import Store
from sandbox.salesforce.wire import Request
from sandbox.serving import Emulator

log = logging.getLogger(__name__)

#: The login host's name: another name of loopback in the sandbox certificate (not the My Domain).
LOGIN_HOST = "localhost"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SalesforceSandbox(Emulator):
    """A strict Salesforce org emulator over HTTPS on loopback."""

    name = "salesforce"

    def __init__(
        self,
        *,
        api_limit: int = 100_000,
        session_idle_timeout: float = 7200.0,
        clock: Callable[[], datetime] | None = None,
        ca: tls.TestCA | None = None,
        latency: float = 0.0,
    ) -> None:
        self.clock = clock or _utcnow
        #: Wait before every request (:mod:`sandbox.latency`); ``latency.seconds`` to change.
        self.latency = Latency(latency)
        self.api_version = API_VERSION
        self._ca = ca or tls.default_ca()
        self.ca_bundle = self._ca.ca_bundle_path
        self.store = Store(org_schema(), clock=self.clock)
        self._tooling = Store(tooling_schema(), clock=self.clock)
        self.auth = Auth(clock=self.clock, idle_timeout=session_idle_timeout)
        self.faults = Faults()
        self.api = Api(
            self.store, self._tooling, self.auth, self.faults, api_limit, lambda: self.url
        )
        self._key_file: str | None = None
        self._seed_defaults()

    def __repr__(self) -> str:
        return f"SalesforceSandbox(url={self.url!r})"

    def _seed_defaults(self) -> None:
        replace_stages(self.store, stage_rows(DEFAULT_STAGES))
        # The org itself; its TimeZoneSidKey is every new user's default zone.
        self.store.create(
            "Organization",
            {
                "Name": "Sandbox Org",
                "TimeZoneSidKey": "GMT",
                "OrganizationType": "Enterprise Edition",
            },
            system=True,
        )
        admin = self.store.create(
            "User",
            {
                "Username": self.auth.username,
                "Email": self.auth.username,
                "FirstName": "Integration",
                "LastName": "User",
                "Alias": "integ",
            },
            system=True,
        )
        self.store.default_user_id = admin["Id"]
        self.auth.run_as_user_id = admin["Id"]
        self.auth.find_user = self._active_user_id

    def _active_user_id(self, username: str) -> str | None:
        row = self.store.find_by_key("User", "Username", username)
        return row["Id"] if row is not None and row.get("IsActive") else None

    # -- credentials (read-only views of the connected app) ------------------------------------

    @property
    def client_id(self) -> str:
        """The connected app's consumer key."""
        return self.auth.client_id

    @property
    def client_secret(self) -> str:
        """The connected app's consumer secret."""
        return self.auth.client_secret

    @property
    def username(self) -> str:
        """The integration user's username."""
        return self.auth.username

    @property
    def password(self) -> str:
        """The integration user's password (without the security token)."""
        return self.auth.password

    @property
    def security_token(self) -> str:
        """The integration user's security token."""
        return self.auth.security_token

    @property
    def jwt_certificate_pem(self) -> str:
        """The certificate uploaded to the connected app for the JWT bearer flow."""
        return self.auth.jwt_certificate_pem

    @property
    def jwt_private_key_pem(self) -> str:
        """The private key matching :attr:`jwt_certificate_pem`, for signing test assertions."""
        return self.auth.jwt_private_key_pem

    @property
    def jwt_private_key_file(self) -> str:
        """Path of a file (mode 0600) holding :attr:`jwt_private_key_pem`, for ``*_file`` config."""
        if self._key_file is None:
            folder = Path(tempfile.mkdtemp(prefix="syncd-sandbox-jwt-"))
            atexit.register(shutil.rmtree, folder, True)
            path = folder / "jwt_private_key.pem"
            path.touch(mode=0o600)
            path.write_text(self.jwt_private_key_pem)
            self._key_file = str(path)
        return self._key_file

    # -- server --------------------------------------------------------------------------------

    def start(self, port: int = 0) -> Self:
        """Serve (see :class:`sandbox.serving.Emulator`); slow faults wait again."""
        self.faults.stop.clear()
        self.auth.login_hosts = frozenset({LOGIN_HOST})
        return super().start(port)

    @property
    def login_url(self) -> str:
        """The login host's URL (login.salesforce.com's stand-in): no client credentials there."""
        port = self.url.rsplit(":", 1)[-1]
        return f"https://{LOGIN_HOST}:{port}" if self.url else ""

    def stop(self) -> None:
        """End slow faults' waits at once, then stop serving."""
        self.faults.stop.set()
        super().stop()

    def ssl_context(self) -> ssl.SSLContext:
        """HTTPS with the test CA."""
        return self._ca.server_ssl_context()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        wreq = WsgiRequest(environ)
        req = Request(
            wreq.method.upper(),
            # The raw path keeps %2F inside an external id value from splitting the route;
            # the router unquotes each segment itself.
            urlsplit(environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(wreq.path)).path,
            {k: v for k, v in wreq.args.items()},
            {k.lower(): v for k, v in wreq.headers.items()},
            wreq.get_data(),
        )
        reply = self.api.handle(req)
        if reply.body is None:
            payload = b""
        elif isinstance(reply.body, str):
            payload = reply.body.encode()
        else:
            payload = json.dumps(reply.body).encode()
        response = Response(
            payload,
            status=reply.status,
            headers=reply.headers,
            content_type=reply.content_type if payload else None,
        )
        return response(environ, start_response)

    # -- data access for tests and seeding -----------------------------------------------------

    def insert(self, sobject: str, records: list[dict[str, Any]]) -> list[str]:
        """Insert records validated like the API (audit fields and Ids allowed); return ids."""
        ids: list[str] = []
        try:
            with self.store.transaction():
                for record in records:
                    ids.append(self.store.create(sobject, record, system=True)["Id"])
        except RecordError as err:
            raise ValueError(f"{sobject} record {len(ids)}: {err.code}: {err.message}") from None
        except ApiError as err:
            raise ValueError(f"{sobject} record {len(ids)}: {err.code}: {err.message}") from None
        return ids

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Update one record as the API would, with Salesforce's side effects (history, …).

        Audit fields are allowed: setting ``LastModifiedDate`` back-dates the change and the
        history rows it creates, which is how tests build a deal's past.
        """
        try:
            return dict(self.store.update(sobject, record_id, values, system=True))
        except (RecordError, ApiError) as err:
            raise ValueError(f"{sobject} {record_id}: {err.code}: {err.message}") from None

    def delete(self, sobject: str, record_id: str) -> None:
        """Move one record to the recycle bin (queryAll still sees it)."""
        try:
            self.store.delete(sobject, record_id)
        except RecordError as err:
            raise ValueError(f"{sobject} {record_id}: {err.code}: {err.message}") from None

    def set_multiday_events(self, enabled: bool) -> None:
        """Turn the org's "Enable multiday events" activity setting on or off (off by default)."""
        self.store.multiday_events = enabled

    def disable_shared_activities(self) -> None:
        """Make this an org without Shared Activities: EventRelation loses IsParent and IsWhat."""
        obj = self.store.schema.get("EventRelation")
        assert obj is not None
        for name in SHARED_ACTIVITY_FIELDS:
            obj.remove(name)

    def disable_enhanced_email(self) -> None:
        """Make this an org without Enhanced Email: no EmailMessage for the API user.

        https://help.salesforce.com/s/articleView?id=sf.enable_enhanced_email.htm
        """
        for name in ("EmailMessage", "EmailMessageRelation"):
            self.store.schema.remove_object(name)

    def records(self, sobject: str) -> list[dict[str, Any]]:
        """Return copies of the live and deleted records of ``sobject``."""
        with self.store.lock:
            return [dict(row) for row in self.store.table(sobject).rows.values()]

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """Return a copy of one record, or None."""
        with self.store.lock:
            row = self.store.get(sobject, record_id)
            return dict(row) if row is not None else None

    def count(self, sobject: str) -> int:
        """Return how many live (not deleted) records ``sobject`` has."""
        with self.store.lock:
            return sum(1 for r in self.store.table(sobject).rows.values() if not r["IsDeleted"])

    def seed_csv(self, directory: str | Path) -> dict[str, int]:
        """Load Data Loader CSVs (``<SObject>.csv``) from ``directory``; return counts."""
        return seed_csv(self.store, directory)

    def set_stages(self, stages: list[dict[str, Any]]) -> None:
        """Replace the OpportunityStage set (MasterLabel, IsClosed, IsWon, SortOrder, …)."""
        replace_stages(self.store, stages)

    def expire_sessions(self) -> None:
        """Invalidate every session now."""
        self.auth.expire_all()

    @property
    def calls(self) -> Counter[str]:
        """Requests per endpoint label (``oauth``, ``query``, ``composite/sobjects:PATCH`` …)."""
        return self.api.calls

    @property
    def api_calls_used(self) -> int:
        """Calls counted against the allocation in the rolling 24 hours (OAuth is not)."""
        return self.api.api_calls_used

    @property
    def api_limit(self) -> int:
        """The daily API allocation."""
        return self.api.api_limit

    def reset_counters(self) -> None:
        """Zero the call counters and the API usage."""
        self.api.calls.clear()
        self.api.reset_usage()

    def describe_credentials(self) -> dict[str, Any]:
        """Return what a client needs to connect (for ``python -m sandbox serve``)."""
        return {
            "url": self.url,
            "login_url": self.login_url,
            "api_version": self.api_version,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "username": self.username,
            "password": self.password,
            "security_token": self.security_token,
            "jwt_private_key_file": self.jwt_private_key_file,
        }
