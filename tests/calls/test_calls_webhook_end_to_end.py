"""An Aircall webhook with a bad token writes nothing to Salesforce; a good one is written once.

The App is built from a TOML config; its Aircall connector's webhook receiver is served on
loopback; the Aircall sandbox sends the events; the capture runner writes to the Salesforce
sandbox over HTTPS.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sf_helpers import make_client, start_sandbox
from werkzeug.serving import make_server

from connectors.aircall import AircallConnector
from sandbox.dialers.aircall import AircallSandbox
from syncd.app import App, load_config
from syncd.salesforce.setup import run_setup

REP = "ana@ourco.com"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, App]]:
    sf = start_sandbox()
    ac = AircallSandbox().start()
    monkeypatch.setenv("SYNCD_TEST_SF_SECRET_HOOK", sf.client_secret)
    monkeypatch.setenv("SYNCD_TEST_AC_TOKEN_HOOK", ac.api_token)
    monkeypatch.setenv("SYNCD_TEST_AC_WEBHOOK", ac.webhook_token)
    client = make_client(sf)
    run_setup(client)
    client.close()
    sf.insert("User", [{"Username": REP, "Email": REP, "LastName": "Ana"}])
    sf.insert("Contact", [{"LastName": "Alice", "MobilePhone": "(512) 757-6000"}])
    config = tmp_path / "syncd.toml"
    config.write_text(
        f"""
[state]
url = "sqlite:///{tmp_path / "state.db"}"

[salesforce]
login_url = "{sf.url}"
auth = "client_credentials"
client_id = "{sf.client_id}"
client_secret_env = "SYNCD_TEST_SF_SECRET_HOOK"
ca_bundle = "{sf.ca_bundle}"

[capture]
internal_domains = ["ourco.com"]

[[connectors]]
type = "aircall"
name = "aircall"
api_url = "{ac.url}"
api_id = "{ac.api_id}"
api_token_env = "SYNCD_TEST_AC_TOKEN_HOOK"
webhook_token_env = "SYNCD_TEST_AC_WEBHOOK"
ca_bundle = "{ac.ca_bundle}"
"""
    )
    app = App(load_config(config))
    try:
        yield sf, ac, app
    finally:
        app.close()
        ac.stop()
        sf.stop()


def test_bad_token_writes_nothing_good_token_writes_once(world: tuple[Any, Any, App]) -> None:
    sf, ac, app = world
    connector = app.connector("aircall")
    assert isinstance(connector, AircallConnector)
    receiver = connector.webhook_app()
    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        user = ac.add_user(REP)
        # Ended moments ago: inside the settle time, so polling alone would not bring it yet.
        call = ac.add_call(
            user,
            start=datetime.now(UTC) - timedelta(minutes=2),
            direction="inbound",
            other="+1 512-757-6000",
            duration=42,
        )
        assert ac.send_webhook(url, call, valid=False) == 401
        (unit,) = connector.mailboxes()
        first = app.runner.run(connector, unit)
        assert first.outcomes.get("written", 0) == 0
        assert sf.count("Task") == 0
        assert receiver.refused == 1 and receiver.accepted == 0

        assert ac.send_webhook(url, call) == 200
        second = app.runner.run(connector, unit)
        assert second.outcomes["written"] == 1
        (task,) = sf.records("Task")
        (alice,) = sf.records("Contact")
        assert task["WhoId"] == alice["Id"]
        assert task["CallType"] == "Inbound" and task["CallDurationInSeconds"] == 42
        # The same event delivered twice (Aircall retries) is still one Task.
        assert ac.send_webhook(url, call) == 200
        third = app.runner.run(connector, unit)
        assert third.outcomes.get("written", 0) == 0
        assert sf.count("Task") == 1
    finally:
        server.shutdown()
