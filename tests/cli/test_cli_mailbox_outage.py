"""``syncd sync`` over several mailboxes when the vendor refuses one, or the whole app.

Against the Graph sandbox (msal + requests) and the Salesforce sandbox (simple-salesforce), over
loopback HTTPS, through ``syncd.cli.main``:

- an ApplicationAccessPolicy leaves one mailbox out (Graph 403 ErrorAccessDenied): that unit is
  paused and reported on stderr in one line with the fix, the other mailbox is written, and
  ``sync`` exits 1; the paused unit's failure is on ``syncd status`` with the same fix; the
  next ``sync`` after the admin's fix writes what waited;
- the tenant's client secret is refused (invalid_client): the connector is paused after one
  sign-in attempt, not one per mailbox, and ``sync`` exits 1 with the fix;
- Google Workspace refuses the service account one mailbox (its delegation: the user is not
  among the domain's, ``unauthorized_client``): that mailbox is paused, the next one is
  written, ``syncd status`` prints the outage with its fix.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "graph"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "google"))

from google_helpers import deliver_mail, key_file
from graph_helpers import outlook_toml
from sf_helpers import salesforce_toml, start_sandbox
from test_cli_salesforce import SECRET_ENV

from sandbox.google import GoogleSandbox
from sandbox.graph import GraphSandbox
from sandbox.graph.seed import add_message
from syncd.cli import main

GRAPH_ENV = "SYNCD_TEST_CLI_GRAPH_SECRET"
ANA, CAL = "ana@ourco.com", "cal@ourco.com"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    sb = start_sandbox()
    graph = GraphSandbox().start()
    monkeypatch.setenv(SECRET_ENV, sb.client_secret)
    monkeypatch.setenv(GRAPH_ENV, graph.client_secret)
    (account,) = sb.insert("Account", [{"Name": "Globex", "Website": "globex.com"}])
    sb.insert(
        "User",
        [{"Username": a, "Email": a, "LastName": a.split("@")[0]} for a in (ANA, CAL)],
    )
    sb.insert("Contact", [{"LastName": "Alice", "Email": "alice@globex.com", "AccountId": account}])
    received = datetime.now(UTC) - timedelta(days=2)
    for rep in (ANA, CAL):
        add_message(
            graph,
            rep,
            message_id=f"renewal-{rep}@globex.com",
            sender="alice@globex.com",
            to=[rep],
            subject="Renewal terms",
            received=received,
        )
    config = tmp_path / "syncd.toml"
    config.write_text(
        f'[state]\nurl = "sqlite:///{tmp_path / "state.db"}"\n'
        + salesforce_toml(sb, SECRET_ENV)
        + '\n[capture]\ninternal_domains = ["ourco.com"]\n'
        + outlook_toml(graph, GRAPH_ENV, (ANA, CAL))
    )
    assert main(["setup", "salesforce", "-c", str(config)]) == 0
    try:
        yield {"sb": sb, "graph": graph, "config": str(config)}
    finally:
        graph.stop()
        sb.stop()


def _owners(sb: Any) -> list[str]:
    users = {u["Id"]: u["Email"] for u in sb.records("User")}
    return sorted(users[t["OwnerId"]] for t in sb.records("Task"))


def test_a_mailbox_the_access_policy_leaves_out_pauses_only_that_unit(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, graph, config = world["sb"], world["graph"], world["config"]
    graph.deny_access(ANA)  # the first mailbox: the one after it must still be synced
    capsys.readouterr()

    assert main(["sync", "-c", config, "--json"]) == 1
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"error: outlook/{ANA} paused:")
    assert "ApplicationAccessPolicy" in lines[0] and "fix:" in lines[0]
    assert json.loads(out)["paused"] == [
        {"scope": f"outlook/{ANA}", "error_class": "MailboxDenied"}
    ]
    assert _owners(sb) == [CAL]  # the other mailbox was written
    assert sb.count("Task") == 1

    assert main(["status", "-c", config, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    (outage,) = status["outages"]
    assert outage["scope"] == f"outlook/{ANA}" and outage["error_class"] == "MailboxDenied"
    assert "ApplicationAccessPolicy" in outage["fix"]

    graph.access_denied.clear()  # the admin adds the mailbox to the policy's group
    assert main(["sync", "-c", config]) == 0
    assert _owners(sb) == [ANA, CAL]  # what waited is written, once
    capsys.readouterr()
    assert main(["status", "-c", config, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outages"] == []


def test_a_refused_tenant_secret_pauses_the_connector_after_one_attempt(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, graph, config = world["sb"], world["graph"], world["config"]
    graph.client_secret = "rotated-by-the-admin"  # the configured secret no longer works
    capsys.readouterr()
    before = graph.requests["token"]

    assert main(["sync", "-c", config]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: outlook paused: Graph refused the app credentials")
    assert "invalid_client" in lines[0] and "fix:" in lines[0]
    assert sb.count("Task") == 0
    assert graph.requests["token"] - before == 1  # one refusal, not one per mailbox


def test_a_gmail_mailbox_whose_delegation_is_refused_pauses_only_that_unit(
    world: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sb, config = world["sb"], Path(world["config"])
    with GoogleSandbox() as google:
        google.add_user(CAL)  # ANA is not a user Google lets the service account act as
        deliver_mail(google, CAL, 0, 1, datetime.now(UTC) - timedelta(days=1))
        sb.insert("Contact", [{"LastName": "Buyer", "Email": "buyer0@globex.com"}])
        key = key_file(google, tmp_path / "google")
        config.write_text(
            config.read_text().split("[[connectors]]")[0]
            + f"""[[connectors]]
type = "gmail"
name = "gmail"
service_account_key_file = "{key}"
api_endpoint = "{google.url}/"
ca_bundle = "{google.ca_bundle}"
mailboxes = ["{ANA}", "{CAL}"]
"""
        )
        capsys.readouterr()
        assert main(["sync", "-c", str(config)]) == 1
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "Traceback" not in err, err
        assert lines[0].startswith(f"error: gmail/{ANA} paused: google token refresh refused")
        assert "unauthorized_client" in lines[0] and "fix:" in lines[0]
        assert _owners(sb) == [CAL]

        assert main(["status", "-c", str(config)]) == 0
        out = capsys.readouterr().out
        assert "STOPPED: gmail: the vendor refuses the connector's credentials (AuthExpired)" in out
