"""A real org's field-level security, end to end through the CLI against the sandbox org.

setup → doctor all ok → ``sync`` of an mbox export writes every expected Task once (WhoId,
OwnerId, and the rep's own day: mail sent 18:30 in Los Angeles, already the next day in UTC, is
dated that day for a rep in Chicago) → a second ``sync`` changes nothing. With the grant
removed: doctor names field-level security, ``sync`` exits non-zero, nothing is
dead-lettered; ``setup`` repairs the grant and the next ``sync`` writes everything that waited,
with no ``deadletter retry``.
"""

from __future__ import annotations

import json
import mailbox
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))

from sf_helpers import salesforce_toml, start_sandbox
from test_cli_salesforce import SECRET_ENV, message

from syncd.cli import main

LA = ZoneInfo("America/Los_Angeles")
REP = "ana@ourco.com"
#: 18:30 in Los Angeles two days ago: 02:30 UTC (or 01:30) the next day, 20:30 in Chicago.
EVENING = datetime.combine(datetime.now(LA).date() - timedelta(days=2), time(18, 30), tzinfo=LA)
CONTACTS = ("alice@globex.com", "bob@globex.com", "carol@initech.com")


def _config(tmp_path: Path, sb: Any, box: Path) -> Path:
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
name = "export"
path = "{box}"
mailbox = "{REP}"
"""
    )
    return config


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    sb = start_sandbox()
    monkeypatch.setenv(SECRET_ENV, sb.client_secret)
    (globex, initech) = sb.insert("Account", [{"Name": "Globex"}, {"Name": "Initech"}])
    (rep,) = sb.insert(
        "User",
        [{"Username": REP, "Email": REP, "LastName": "Ana", "TimeZoneSidKey": "America/Chicago"}],
    )
    ids = sb.insert(
        "Contact",
        [
            {"LastName": address.split("@")[0], "Email": address, "AccountId": account}
            for address, account in zip(CONTACTS, (globex, globex, initech), strict=True)
        ],
    )
    path = tmp_path / "export.mbox"
    box = mailbox.mbox(path)
    for i, address in enumerate(CONTACTS * 2):
        sender, to = (address, REP) if i % 2 else (REP, address)
        msg = message(sender, to, f"<{i}@thread.example>", f"Renewal {i}")
        msg.replace_header("Date", format_datetime(EVENING))
        box.add(msg)
    box.flush()
    try:
        yield {
            "sb": sb,
            "config": str(_config(tmp_path, sb, path)),
            "rep": rep,
            "who": dict(zip(CONTACTS, ids, strict=True)),
            "box": box,
        }
    finally:
        sb.stop()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Exit code and what the command printed (stdout alone for ``--json``)."""
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out if "--json" in argv else out.out + out.err


def _tasks(sb: Any) -> list[dict[str, Any]]:
    return [t for t in sb.records("Task") if not t["IsDeleted"]]


def test_field_level_security_end_to_end(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, c = world["sb"], world["config"]
    assert _run(capsys, "setup", "salesforce", "-c", c)[0] == 0
    code, doctor = _run(capsys, "doctor", "-c", c)
    assert code == 0 and "problem" not in doctor, doctor

    code, out = _run(capsys, "sync", "-c", c, "--json")
    assert code == 0, out
    tasks = _tasks(sb)
    assert Counter(t["Syncd_Key__c"] for t in tasks).most_common(1)[0][1] == 1
    assert len(tasks) == 6
    assert {t["OwnerId"] for t in tasks} == {world["rep"]}
    assert Counter(t["WhoId"] for t in tasks) == Counter({w: 2 for w in world["who"].values()})
    assert {t["ActivityDate"] for t in tasks} == {EVENING.date().isoformat()}  # the rep's day
    stamps = {t["Id"]: t["SystemModstamp"] for t in tasks}

    code, out = _run(capsys, "sync", "-c", c, "--json")
    assert code == 0 and json.loads(out)["passes"][0]["outcomes"] == {}
    assert {t["Id"]: t["SystemModstamp"] for t in _tasks(sb)} == stamps  # nothing changed

    # An admin removes the assignment; new mail arrives meanwhile.
    (assignment,) = [r for r in sb.records("PermissionSetAssignment") if not r["IsDeleted"]]
    sb.delete("PermissionSetAssignment", assignment["Id"])
    world["box"].add(message(CONTACTS[0], REP, "<late-1@thread.example>", "Signed"))
    world["box"].add(message(REP, CONTACTS[2], "<late-2@thread.example>", "Kick-off"))
    world["box"].flush()

    code, doctor = _run(capsys, "doctor", "-c", c)
    assert code == 1 and "field-level security" in doctor, doctor
    code, out = _run(capsys, "sync", "-c", c)
    assert code == 1 and "syncd setup salesforce" in out, out
    assert "Traceback" not in out
    assert _run(capsys, "deadletter", "list", "-c", c, "--json")[1].strip() == "[]"
    code, status = _run(capsys, "status", "-c", c, "--json")
    (unit,) = json.loads(status)["units"]
    assert unit["last_run"]["status"] == "error"
    (outage,) = json.loads(status)["outages"]  # the cause and the fix, as the status page shows
    assert (outage["scope"], outage["error_class"]) == ("salesforce", "WritesRefused")
    assert outage["fix"].startswith("run `syncd setup salesforce`")
    assert len(_tasks(sb)) == 6

    code, out = _run(capsys, "setup", "salesforce", "-c", c)
    assert code == 0 and f"assigned to the API user {sb.auth.run_as_user_id}: created" in out
    code, out = _run(capsys, "sync", "-c", c, "--json")
    assert code == 0, out
    assert json.loads(out)["passes"][0]["outcomes"] == {"written": 2}
    tasks = _tasks(sb)
    assert len(tasks) == 8 and len({t["Syncd_Key__c"] for t in tasks}) == 8
    assert _run(capsys, "deadletter", "list", "-c", c, "--json")[1].strip() == "[]"
