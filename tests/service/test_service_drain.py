"""A drain is never held up by a backoff: waits that would outlast the stop budget end at once.

:meth:`Drain.sleep` is the daemon's sleep for every retry wait. While running it sleeps; once a
stop is requested, a wait that would end after the budget raises :class:`Draining` (Transient),
so the records still waiting are deferred like exhausted retries. End to end: a pass stuck behind
a 503 with ``Retry-After: 60`` stops in well under the budget, commits nothing half-done, and the
next run writes the message once.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from service_helpers import SECRET_ENV, start_org
from werkzeug.test import Client

from connectors.base import ConnectorContext
from connectors.gmail import GmailConnector, GmailSettings
from sandbox.google import GoogleSandbox
from syncd.app import App, load_config
from syncd.config import CaptureConfig, SecretRef
from syncd.errors import Transient
from syncd.service.drain import Drain, Draining
from syncd.service.scheduler import Service

BUDGET = 2.0


def test_sleep_sleeps_while_running() -> None:
    drain = Drain(budget=BUDGET)
    began = time.monotonic()
    drain.sleep(0.05)
    assert time.monotonic() - began >= 0.05


def test_a_stop_during_a_long_wait_raises_draining_at_once() -> None:
    drain = Drain(budget=BUDGET)
    threading.Timer(0.1, drain.request, args=["test"]).start()
    began = time.monotonic()
    with pytest.raises(Draining) as err:
        drain.sleep(60)
    assert time.monotonic() - began < 10  # not the 60 s asked for
    assert isinstance(err.value, Transient)  # deferred like exhausted retries, not dead-lettered


def test_a_short_wait_within_the_budget_still_runs() -> None:
    drain = Drain(budget=BUDGET)
    drain.request("test")
    began = time.monotonic()
    drain.sleep(0.1)
    assert time.monotonic() - began >= 0.1


def test_drain_does_not_wait_out_a_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = start_org(tmp_path, interval="1s")
    monkeypatch.setenv(SECRET_ENV, org.sb.client_secret)
    faults = 50
    org.sb.faults.inject(
        "status", path="composite/sobjects", times=faults, status=503, retry_after=60
    )
    drain = Drain(budget=BUDGET)
    try:
        with App(load_config(org.config), sleep=drain.sleep) as app:
            assert all(c.context.sleep == drain.sleep for c in app.connectors())
            service = Service(app, drain=drain, listen="")
            service.start()
            deadline = time.monotonic() + 30
            while org.sb.faults.pending == faults:  # the first write got its 503
                assert time.monotonic() < deadline, "the pass never reached its write"
                time.sleep(0.05)  # polling the daemon's own progress
            took = service.stop()
            assert took < BUDGET + 5, took
            assert org.sb.faults.pending == faults - 1  # it did not retry during the stop
            assert org.sb.count("Task") == 0
            assert app.store.ledger.count() == 0

        org.sb.faults.clear()
        with App(load_config(org.config)) as app:
            Service(app, listen="").run_once()
            assert org.sb.count("Task") == 1
            assert app.store.ledger.count() == 1
    finally:
        org.sb.stop()


def test_connectors_wait_through_the_daemons_sleep(tmp_path: Path) -> None:
    """A Gmail 429 with Retry-After: 60 does not hold up a stop either."""
    google = GoogleSandbox().start()
    try:
        rep = "ana@ourco.com"
        google.add_user(rep)
        key = tmp_path / "sa.json"
        key.write_text(json.dumps(google.service_account()), encoding="utf-8")
        key.chmod(0o600)
        settings = GmailSettings(
            type="gmail",
            name="gmail",
            mailboxes=(rep,),
            service_account_key=SecretRef(file=key),
            api_endpoint=f"{google.url}/",
            ca_bundle=google.ca_bundle,
        )
        drain = Drain(budget=BUDGET)
        context = ConnectorContext(
            capture=CaptureConfig(internal_domains=["ourco.com"]), sleep=drain.sleep
        )
        connector = GmailConnector(settings, context)
        google.inject_rate_limit(rep, 5, wait=60)
        threading.Timer(0.3, drain.request, args=["test"]).start()
        began = time.monotonic()
        with pytest.raises(Draining):
            connector.pull(rep, None)
        assert time.monotonic() - began < 10
    finally:
        google.stop()


def test_readyz_says_stopping_once_a_drain_begins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = start_org(tmp_path)
    monkeypatch.setenv(SECRET_ENV, org.sb.client_secret)
    try:
        with App(load_config(org.config)) as app:
            service = Service(app, listen="")
            client = Client(service.web_app)
            assert service.load_directory()
            assert client.get("/readyz").status_code == 200
            service.stop()
            answer = client.get("/readyz")
            assert answer.status_code == 503
            assert "stopping" in answer.get_json()["reason"]
    finally:
        org.sb.stop()
