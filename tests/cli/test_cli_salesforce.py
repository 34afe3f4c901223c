"""The operator's Salesforce commands end to end: a config file, the CLI, a sandbox org.

``setup salesforce``, ``doctor``, ``sync``, ``status``, ``unmatched list|rematch`` run through
``syncd.cli.main`` with the real simple-salesforce client over HTTPS to the sandbox.
"""

from __future__ import annotations

import json
import mailbox
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))

from sf_helpers import salesforce_toml, start_sandbox

from syncd.cli import main

SECRET_ENV = "SYNCD_TEST_SF_SECRET"


def message(sender: str, to: str, mid: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, to, subject, mid
    msg["Date"] = format_datetime(datetime.now(UTC) - timedelta(days=2))
    msg.set_content("body")
    return msg


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path]]:
    sb = start_sandbox()
    monkeypatch.setenv(SECRET_ENV, sb.client_secret)
    (account,) = sb.insert("Account", [{"Name": "Globex", "Website": "globex.com"}])
    sb.insert("User", [{"Username": "ana@ourco.com", "Email": "ana@ourco.com", "LastName": "A"}])
    sb.insert("Contact", [{"LastName": "Alice", "Email": "alice@globex.com", "AccountId": account}])
    box = mailbox.mbox(tmp_path / "ana.mbox")
    box.add(message("alice@globex.com", "ana@ourco.com", "<1@globex.com>", "Contract"))
    box.add(message("zoe@stranger.example", "ana@ourco.com", "<2@stranger.example>", "Hi"))
    box.flush()
    config = tmp_path / "syncd.toml"
    config.write_text(
        f"""
[state]
url = "sqlite:///{tmp_path / "state.db"}"

{salesforce_toml(sb, SECRET_ENV)}
[capture]
internal_domains = ["ourco.com"]

[[connectors]]
type = "mbox"
name = "archive"
path = "{tmp_path / "ana.mbox"}"
mailbox = "ana@ourco.com"
"""
    )
    try:
        yield sb, config
    finally:
        sb.stop()


def test_setup_doctor_sync_status_and_rematch(
    org: tuple[Any, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, config = org
    c = str(config)
    assert main(["doctor", "-c", c]) == 1  # the key field is missing: doctor says so
    assert "Syncd_Key__c" in capsys.readouterr().out

    assert main(["setup", "salesforce", "-c", c]) == 0
    first = capsys.readouterr().out
    assert "Syncd_Key__c" in first and "created" in first and "Syncd_Integration" in first
    assert main(["setup", "salesforce", "-c", c]) == 0
    again = capsys.readouterr().out.splitlines()
    assert again and all(line.endswith(": exists") for line in again)
    assert main(["doctor", "-c", c]) == 0
    assert "problem" not in capsys.readouterr().out

    assert main(["sync", "-c", c, "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["passes"]
    assert run["outcomes"] == {"written": 1, "unmatched": 1}
    assert run["salesforce_calls"] >= 1
    assert [t["Subject"] for t in sb.records("Task")] == ["Email: Contract"]

    assert main(["status", "-c", c, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["unmatched_total"] == 1
    assert status["units"][0]["counts"]["written"] == 1

    assert main(["unmatched", "list", "-c", c, "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["connector"] == "archive"

    # the stranger becomes a lead; a rematch writes the waiting email, once
    sb.insert("Lead", [{"LastName": "Zoe", "Company": "Stranger", "Email": "zoe@stranger.example"}])
    assert main(["unmatched", "rematch", "-c", c]) == 0
    assert "written=1" in capsys.readouterr().out
    assert sb.count("Task") == 2
    assert main(["sync", "-c", c, "--json"]) == 0  # nothing new: the cursor moved
    (run,) = json.loads(capsys.readouterr().out)["passes"]
    assert run["outcomes"] == {}
    assert run["salesforce_calls"] == 0
    assert sb.count("Task") == 2
    assert main(["unmatched", "list", "-c", c, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_wrong_secret_is_an_auth_error_that_never_shows_it(
    org: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = org
    monkeypatch.setenv(SECRET_ENV, "definitely-wrong-secret-123")
    assert main(["sync", "-c", str(config)]) == 1
    out = capsys.readouterr()
    assert "definitely-wrong-secret-123" not in out.out + out.err
    assert "error" in out.err.lower()
    assert "fix:" in out.err and "syncd doctor" in out.err and "Traceback" not in out.err
