"""Injected latency: every request to every emulator waits first, and waits side by side.

The wait is replaced by a recorder (or a barrier), so nothing here depends on timing: the
Salesforce and Google emulators are driven by the real clients (simple-salesforce, the Gmail
connector over google-api-python-client) and the recorded waits must equal the requests each
emulator counted itself; every emulator ``python -m sandbox serve`` starts takes ``--latency``;
three requests from three clients must all be inside their wait at once (a server that
handled one request at a time would break the barrier); and the request's connection has
Nagle's algorithm off.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sfsandbox_helpers import connect, http_session

from connectors.base import ConnectorContext
from connectors.gmail import GmailConnector, GmailSettings
from sandbox import tls
from sandbox.__main__ import SERVICES, parse_args
from sandbox.google import GoogleSandbox
from sandbox.latency import Latency
from sandbox.salesforce import SalesforceSandbox
from syncd.config import CaptureConfig, SecretRef

LATENCY = 0.05
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


class Recorder:
    """Stands in for ``time.sleep``: remembers every wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)


def _plain_session(ca_bundle: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE must not override the test CA
    session.verify = ca_bundle
    return session


def test_latency_zero_never_waits_and_negative_is_refused() -> None:
    recorder = Recorder()
    latency = Latency(0.0, wait=recorder)
    calls: list[str] = []
    app = latency.wrap(lambda environ, start_response: calls.append("handled") or [b""])
    app({}, None)
    assert calls == ["handled"] and recorder.waits == [] and latency.applied == 0
    with pytest.raises(ValueError, match="latency"):
        Latency(-0.1)


def test_the_request_connection_sends_without_nagle_delay() -> None:
    # werkzeug writes headers and body separately; with Nagle on, over TLS the body waited
    # for the client's delayed ACK (~10 ms a request). The wrapper turns it off, latency or not.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server_side, _ = listener.accept()
        with client, server_side:
            assert server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            app = Latency(0.0).wrap(lambda environ, start_response: [b""])
            app({"werkzeug.socket": server_side}, None)
            assert server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    app({}, None)  # no socket (a test double's environ): nothing to set, no error


def test_every_salesforce_request_waits_first_with_the_real_client() -> None:
    recorder = Recorder()
    with SalesforceSandbox(latency=LATENCY) as sb:
        sb.latency.wait = recorder
        sb.insert("Account", [{"Name": "Globex", "Website": "globex.com"}])
        sf = connect(sb)  # OAuth token request
        for _ in range(3):
            sf.query("SELECT Id, Name FROM Account")
        sf.Task.create({"Subject": "Call", "Status": "Completed"})
        missing = http_session(sb).get(f"{sb.url}/no/such/path", timeout=10)
        assert missing.status_code == 404
        counted = sum(sb.calls.values())
    # every request the org counted (the 404 among them) waited once, before it was handled
    assert counted >= 6 and sb.calls["oauth"] == 1 and sb.calls["query"] == 3
    assert recorder.waits == [LATENCY] * counted
    assert sb.latency.applied == counted


def test_every_google_request_waits_first_with_the_gmail_connector(tmp_path: Path) -> None:
    recorder = Recorder()
    mailbox = "rep@ourco.com"
    with GoogleSandbox(clock=lambda: NOW, latency=LATENCY) as gs:
        gs.latency.wait = recorder
        gs.add_user(mailbox)
        for i in range(60):  # more than one batch of messages.get
            when = NOW - timedelta(hours=i + 1)
            gs.gmail.deliver(
                mailbox,
                [
                    ("From", "Alice <alice@globex.com>"),
                    ("To", mailbox),
                    ("Subject", f"Hello {i}"),
                    ("Date", format_datetime(when)),
                    ("Message-ID", f"<lat-{i}@globex.com>"),
                ],
                when=when,
            )
        key = tmp_path / "sa.json"
        key.write_text(json.dumps(gs.service_account()))
        key.chmod(0o600)
        settings = GmailSettings(
            type="gmail", name="gmail", mailboxes=(mailbox,),
            service_account_key=SecretRef(file=key), api_endpoint=f"{gs.url}/",
            ca_bundle=gs.ca_bundle,
        )  # fmt: skip
        context = ConnectorContext(
            clock=lambda: NOW,
            capture=CaptureConfig(internal_domains=["ourco.com"], backfill_days=90),
        )
        batch = GmailConnector(settings, context).pull(mailbox, None)
        assert len(batch.activities) == 60
        counted = sum(gs.requests.values())
    assert gs.requests["token"] >= 1 and gs.requests["batch"] >= 2
    assert recorder.waits == [LATENCY] * counted
    assert gs.latency.applied == counted


def _args(latency: float) -> argparse.Namespace:
    return argparse.Namespace(seed=None, port=0, latency=latency)


def _base_url(described: dict[str, object]) -> str:
    """``scheme://host:port`` of the first URL a service describes."""
    for value in described.values():
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            parts = urlsplit(value)
            return f"{parts.scheme}://{parts.netloc}"
    raise AssertionError(f"no URL in {sorted(described)}")


@pytest.fixture
def served() -> Iterator[Callable[[str], object]]:
    started: list[object] = []

    def start(name: str) -> object:
        service = SERVICES[name](_args(LATENCY), tls.default_ca())
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()  # type: ignore[attr-defined]


def test_serve_latency_option_reaches_every_emulator(
    served: Callable[[str], object],
) -> None:
    assert parse_args(["serve", "--latency", "0.05"]).latency == LATENCY
    assert parse_args(["serve"]).latency == 0.0
    with pytest.raises(SystemExit):
        parse_args(["serve", "--latency", "-1"])
    ca = tls.default_ca()
    for name in SERVICES:
        service = served(name)
        latency = service.latency  # type: ignore[attr-defined]
        assert isinstance(latency, Latency) and latency.seconds == LATENCY, name
        recorder = Recorder()
        latency.wait = recorder
        base = _base_url(service.describe_credentials())  # type: ignore[attr-defined]
        session = _plain_session(ca.ca_bundle_path)
        statuses = [
            session.get(f"{base}/latency-probe-{i}", timeout=10).status_code for i in (1, 2)
        ]
        assert all(s >= 400 for s in statuses), name  # unknown paths: answered, after waiting
        assert recorder.waits == [LATENCY, LATENCY], name


def test_requests_from_several_clients_wait_side_by_side() -> None:
    # Each request's wait is a barrier of three: it returns only once three requests are in
    # their wait together, which a server handling one request at a time can never reach.
    barrier = threading.Barrier(3, timeout=20)
    results: list[int] = []
    errors: list[BaseException] = []
    with SalesforceSandbox(latency=LATENCY) as sb:
        sb.latency.wait = lambda _seconds: barrier.wait() and None

        def one() -> None:
            try:
                reply = http_session(sb).post(
                    f"{sb.url}/services/oauth2/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": sb.client_id,
                        "client_secret": sb.client_secret,
                    },
                    timeout=30,
                )
                results.append(reply.status_code)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
    assert not errors and not barrier.broken
    assert results == [200, 200, 200]
    assert sb.latency.applied == 3
