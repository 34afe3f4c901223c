"""seed_demo fills a dialer with reps' calls to contacts; a RingCentral connector configured in
TOML captures every one of them through ``syncd sync``, each on the right contact and owner."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sf_helpers import make_client, start_sandbox

from sandbox.dialers.aircall import AircallSandbox
from sandbox.dialers.demo import seed_demo
from sandbox.dialers.ringcentral import RingCentralSandbox
from sandbox.dialers.zoom import ZoomPhoneSandbox
from syncd.cli import main
from syncd.salesforce.setup import run_setup

REPS = ["ana@ourco.com", "bo@ourco.com"]
PHONES = ["(512) 757-6000", "+1 415 555 0142", "646.555.0123"]


def test_seed_demo_is_deterministic_for_every_dialer() -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    for cls in (RingCentralSandbox, AircallSandbox, ZoomPhoneSandbox):
        a, b = cls(), cls()
        assert seed_demo(a, REPS, PHONES, random.Random(7), now=now) == 16
        seed_demo(b, REPS, PHONES, random.Random(7), now=now)
        strip = [
            {
                k: v
                for k, v in c.items()
                if k not in {"user", "extension", "caller_ext_id", "callee_ext_id", "from", "to"}
            }
            for c in a.calls
        ]
        again = [
            {
                k: v
                for k, v in c.items()
                if k not in {"user", "extension", "caller_ext_id", "callee_ext_id", "from", "to"}
            }
            for c in b.calls
        ]
        assert strip == again


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, Path]]:
    sf = start_sandbox()
    rc = RingCentralSandbox().start()
    monkeypatch.setenv("SYNCD_TEST_SF_SECRET_DEMO", sf.client_secret)
    monkeypatch.setenv("SYNCD_TEST_RC_SECRET_DEMO", rc.client_secret)
    monkeypatch.setenv("SYNCD_TEST_RC_JWT_DEMO", rc.jwt)
    client = make_client(sf)
    run_setup(client)
    client.close()
    (account,) = sf.insert("Account", [{"Name": "Globex"}])
    sf.insert("User", [{"Username": r, "Email": r, "LastName": r[:2]} for r in REPS])
    sf.insert(
        "Contact",
        [{"LastName": f"C{i}", "Phone": p, "AccountId": account} for i, p in enumerate(PHONES)],
    )
    config = tmp_path / "syncd.toml"
    config.write_text(f"""
[state]
url = "sqlite:///{tmp_path / "state.db"}"

[salesforce]
login_url = "{sf.url}"
auth = "client_credentials"
client_id = "{sf.client_id}"
client_secret_env = "SYNCD_TEST_SF_SECRET_DEMO"
ca_bundle = "{sf.ca_bundle}"

[capture]
internal_domains = ["ourco.com"]

[[connectors]]
type = "ringcentral"
name = "phones"
server_url = "{rc.url}"
client_id = "{rc.client_id}"
client_secret_env = "SYNCD_TEST_RC_SECRET_DEMO"
jwt_env = "SYNCD_TEST_RC_JWT_DEMO"
ca_bundle = "{rc.ca_bundle}"
""")
    try:
        yield sf, rc, config
    finally:
        rc.stop()
        sf.stop()


def test_ringcentral_from_the_config_captures_the_demo_calls(
    world: tuple[Any, Any, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sf, rc, config = world
    added = seed_demo(rc, REPS, PHONES, random.Random(3), now=datetime.now(UTC))
    assert main(["check-config", "-c", str(config)]) == 0
    capsys.readouterr()
    assert main(["sync", "-c", str(config), "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["passes"]
    assert run["outcomes"] == {"written": added}
    users = {u["Email"]: u["Id"] for u in sf.records("User") if u.get("Email") in REPS}
    contacts = {c["Id"] for c in sf.records("Contact")}
    tasks = sf.records("Task")
    assert len(tasks) == added
    assert all(t["WhoId"] in contacts and t["TaskSubtype"] == "Call" for t in tasks)
    by_owner = {t["OwnerId"] for t in tasks}
    assert by_owner == set(users.values())
    assert rc.breaches == []
