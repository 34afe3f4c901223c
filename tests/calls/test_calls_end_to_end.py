"""Call files end to end through ``syncd.cli.main``: numbers written every way match, bad rows
are listed by ``syncd deadletter list`` with file and line, ambiguity is reported, not guessed.

Real simple-salesforce over HTTPS to the Salesforce sandbox; the config file is the operator's.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sf_helpers import make_client, start_sandbox

from syncd.cli import main
from syncd.salesforce.setup import run_setup

SECRET_ENV = "SYNCD_TEST_SF_SECRET_CALLS"
REP = "ana@ourco.com"
# The same US number as reps' phone systems write it, and a UK one with the 00 prefix.
US_FORMS = ["+1 512-757-6000", "512.757.6000 x12", "(512) 757-6000", "5127576000", "+15127576000"]


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path, Path]]:
    sb = start_sandbox()
    monkeypatch.setenv(SECRET_ENV, sb.client_secret)
    client = make_client(sb)
    run_setup(client)
    client.close()
    (account,) = sb.insert("Account", [{"Name": "Globex", "Website": "globex.com"}])
    sb.insert("User", [{"Username": REP, "Email": REP, "LastName": "Ana"}])
    sb.insert(
        "Contact",
        [
            {"LastName": "Alice", "Phone": "(512) 757-6000", "AccountId": account},
            {"LastName": "Bob", "MobilePhone": "+44 20 7946 0958", "AccountId": account},
            {"LastName": "Cy", "OtherPhone": "415-555-0142", "AccountId": account},
            # Two contacts share the switchboard: a call to it must not be guessed.
            {"LastName": "Dee", "Phone": "(303) 555-0199", "AccountId": account},
            {"LastName": "Eve", "HomePhone": "303 555 0199", "AccountId": account},
        ],
    )
    sb.insert("Lead", [{"LastName": "Lee", "Company": "Initech", "MobilePhone": "646-555-0123"}])
    drop = tmp_path / "drop"
    drop.mkdir()
    config = tmp_path / "syncd.toml"
    config.write_text(
        f"""
[state]
url = "sqlite:///{tmp_path / "state.db"}"

[salesforce]
login_url = "{sb.url}"
auth = "client_credentials"
client_id = "{sb.client_id}"
client_secret_env = "{SECRET_ENV}"
ca_bundle = "{sb.ca_bundle}"

[capture]
internal_domains = ["ourco.com"]
default_region = "US"

[[connectors]]
type = "call_files"
name = "pbx"
path = "{drop}"
provider = "pbx"

[connectors.columns]
call_id = "ID"
started_at = "Start"
duration_seconds = "Secs"
direction = "Dir"
from = "From"
to = "To"
user_address = "Agent"
disposition = "Result"
"""
    )
    try:
        yield sb, config, drop
    finally:
        sb.stop()


def write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["ID", "Start", "Secs", "Dir", "From", "To", "Agent",
                                         "Result"])  # fmt: skip
        writer.writeheader()
        writer.writerows(rows)


def call(i: int, other: str, *, way: str = "outbound", start: str | None = None) -> dict[str, str]:
    when = start or (datetime.now(UTC) - timedelta(days=1, minutes=i)).isoformat()
    ours = "+1 415 555 0100"
    caller, callee = (ours, other) if way == "outbound" else (other, ours)
    return {"ID": f"k{i}", "Start": when, "Secs": "75", "Dir": way, "From": caller,
            "To": callee, "Agent": REP, "Result": "connected"}  # fmt: skip


def test_every_format_matches_ambiguity_is_reported_and_bad_rows_are_listed(
    org: tuple[Any, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, config, drop = org
    c = str(config)
    rows = [call(i, form) for i, form in enumerate(US_FORMS)]
    rows.append(call(10, "00 44 20 7946 0958", way="inbound"))
    rows.append(call(11, "+1 (415) 555-0142"))
    rows.append(call(12, "646.555.0123"))
    rows.append(call(13, "303-555-0199"))
    bad = call(14, "+15127576000", start="last tuesday")
    rows.insert(2, bad)  # file line 4
    rows.append(call(15, "+15127576000", way="sideways"))  # file line 12
    write(drop / "monday.csv", rows)

    assert main(["sync", "-c", c, "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["passes"]
    assert run["outcomes"] == {"written": 8, "unmatched": 1, "dead_letter": 2}

    contacts = {r["LastName"]: r["Id"] for r in sb.records("Contact")}
    (lead,) = [r["Id"] for r in sb.records("Lead")]
    (user,) = [r["Id"] for r in sb.records("User") if r.get("Email") == REP]
    tasks = {t["Syncd_Key__c"]: t for t in sb.records("Task")}
    for i in range(len(US_FORMS)):
        assert tasks[f"cl:pbx:k{i}"]["WhoId"] == contacts["Alice"], US_FORMS[i]
    assert tasks["cl:pbx:k10"]["WhoId"] == contacts["Bob"]
    assert tasks["cl:pbx:k11"]["WhoId"] == contacts["Cy"]
    assert tasks["cl:pbx:k12"]["WhoId"] == lead
    for task in tasks.values():
        assert task["TaskSubtype"] == "Call"
        assert task["CallDurationInSeconds"] == 75
        assert task["CallDisposition"] == "connected"
        assert task["OwnerId"] == user
    assert tasks["cl:pbx:k10"]["CallType"] == "Inbound"
    assert tasks["cl:pbx:k0"]["CallType"] == "Outbound"

    assert main(["unmatched", "list", "-c", c, "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["key"] == "cl:pbx:k13"
    assert item["reason"].startswith("ambiguous")
    assert contacts["Dee"] in item["reason"] and contacts["Eve"] in item["reason"]

    assert main(["deadletter", "list", "-c", c, "--json"]) == 0
    letters = json.loads(capsys.readouterr().out)
    assert sorted(d["source"] for d in letters) == ["monday.csv:12", "monday.csv:4"]
    assert {d["error"].split(":")[0] for d in letters} == {"bad_row"}

    # The next pass moves the committed file aside and writes nothing twice.
    assert main(["sync", "-c", c, "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["passes"]
    assert run["outcomes"] == {}
    assert sb.count("Task") == 8
    assert (drop / "processed" / "monday.csv").exists() and not (drop / "monday.csv").exists()
    assert main(["deadletter", "list", "-c", c, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
