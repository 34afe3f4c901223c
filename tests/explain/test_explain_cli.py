"""``syncd explain`` through ``syncd.cli.main``: offline (no [salesforce]) and against a sandbox.

Offline, privacy rules and the key are explained and the match step says no directory is
available. Online, the real simple-salesforce client reaches the sandbox org over HTTPS and the
chosen WhoId and the fields that would be written are shown; after a sync, ``--key`` shows the
ledger row of the written Task.
"""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from explain_helpers import REP, SECRET_ENV, raw_message, start_org, write_config, write_mbox

from syncd.capture.keys import message_key
from syncd.cli import main

CORPUS = Path("/work/shared/data/email/imap_tools_corpus")


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str, str, str]]:
    sb, account, user, contact = start_org()
    monkeypatch.setenv(SECRET_ENV, sb.client_secret)
    try:
        yield sb, account, user, contact
    finally:
        sb.stop()


def corpus_file(name: str) -> Path:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (see /work/shared/data/README)")
    return path


def explain_json(config: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["explain", "-c", str(config), *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_offline_corpus_message_shows_activity_rules_and_key_without_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eml = corpus_file("simple.eml")
    parsed = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    config = write_config(tmp_path, None, tmp_path / "none.mbox")

    assert main(["explain", "-c", str(config), "--eml", str(eml)]) == 0
    text = capsys.readouterr().out
    expected_key = message_key(str(parsed["Message-ID"]))
    assert expected_key is not None and expected_key in text
    assert "no directory available" in text
    assert "privacy decision: kept" in text
    sender = parsed["From"].addresses[0].addr_spec
    assert sender in text  # participants are shown to the operator
    # the body is never shown while capture_body is off
    body = parsed.get_body(("plain",))
    assert body is not None
    longest = max(body.get_content().splitlines(), key=len)
    assert len(longest) > 10 and longest not in text

    report = explain_json(config, "--eml", str(eml), capsys=capsys)
    assert report["key"] == expected_key
    assert report["activity"]["kind"] == "email"
    assert report["activity"]["participants"]["from"] == [f"{parsed['From'].addresses[0]}"]
    assert report["match"]["available"] is False
    assert report["ledger"]["written"] is False
    assert report["body"]["captured"] is False
    assert "WhoId" not in report["record"]["fields"]
    assert report["record"]["fields"]["Syncd_Key__c"] == expected_key
    assert report["privacy"]["rules"][0]["rule"] == "always"


def test_newsletter_shows_the_bulk_mail_rule_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eml = tmp_path / "news.eml"
    eml.write_text(
        raw_message(
            "news@globex.com",
            REP,
            "<n1@globex.com>",
            "Monthly news",
            extra="List-Unsubscribe: <mailto:unsub@globex.com>\n",
        )
    )
    config = write_config(tmp_path, None, tmp_path / "none.mbox")
    report = explain_json(config, "--eml", str(eml), capsys=capsys)
    decision = report["privacy"]["decision"]
    assert decision == {
        "keep": False,
        "reason": "bulk_mail",
        "detail": "list headers",
        "rule": "skip_bulk_mail",
    }
    verdicts = {r["rule"]: r["verdict"] for r in report["privacy"]["rules"]}
    assert verdicts["skip_bulk_mail"] == "skip"
    assert verdicts["always"] == "pass"
    assert verdicts["exclude_domains"] == "not configured"
    assert report["outcome"].startswith("skipped by privacy rule: bulk_mail")

    assert main(["explain", "-c", str(config), "--eml", str(eml)]) == 0
    assert "skipped: bulk_mail" in capsys.readouterr().out


def test_online_shows_the_chosen_who_and_fields_then_key_shows_the_ledger_row(
    tmp_path: Path, org: tuple[Any, str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, account, user, contact = org
    message = raw_message("alice@globex.com", REP, "<c1@globex.com>", "Contract", body="SECRETX")
    mbox = tmp_path / "ana.mbox"
    write_mbox(mbox, [message])
    eml = tmp_path / "c1.eml"
    eml.write_text(message)
    config = write_config(tmp_path, sb, mbox)
    c = str(config)
    assert main(["setup", "salesforce", "-c", c]) == 0
    capsys.readouterr()

    report = explain_json(config, "--eml", str(eml), capsys=capsys)
    assert report["match"]["available"] is True
    assert report["match"]["who_id"] == contact
    assert report["match"]["what_id"] == account
    fields = report["record"]["fields"]
    assert fields["WhoId"] == contact and fields["OwnerId"] == user
    assert fields["Subject"] == "Email: Contract" and fields["TaskSubtype"] == "Email"
    assert report["outcome"] == "would upsert a Task by Syncd_Key__c"
    assert sb.count("Task") == 0  # explain writes nothing

    assert main(["explain", "-c", c, "--eml", str(eml)]) == 0
    text = capsys.readouterr().out
    assert f"WhoId Contact {contact}" in text
    assert "SECRETX" not in text

    assert main(["sync", "-c", c, "--json"]) == 0
    capsys.readouterr()
    (task,) = sb.records("Task")

    by_key = explain_json(config, "--key", report["key"], capsys=capsys)
    ledger = by_key["ledger"]
    assert ledger["written"] is True
    assert (ledger["sobject"], ledger["salesforce_id"]) == ("Task", task["Id"])
    assert [s["mailbox"] for s in ledger["seen_by"]] == [REP]
    assert by_key["outcome"] == f"written as Task {task['Id']}"

    again = explain_json(config, "--eml", str(eml), "--mailbox", "bo@ourco.com", capsys=capsys)
    assert again["outcome"].startswith(f"already written as Task {task['Id']}")

    assert main(["explain", "-c", c, "--key", report["key"]]) == 0
    assert f"written as Task {task['Id']}" in capsys.readouterr().out


def test_unknown_key_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, None, tmp_path / "none.mbox")
    report = explain_json(config, "--key", "em:nope", capsys=capsys)
    assert report["ledger"]["written"] is False
    assert report["outcome"].startswith("unknown key")
    assert main(["explain", "-c", str(config), "--eml", str(tmp_path / "absent.eml")]) == 2
    assert "--eml" in capsys.readouterr().err


def test_explain_shows_the_emailmessage_and_its_relations_then_sync_writes_it(
    tmp_path: Path, org: tuple[Any, str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, account, user, contact = org
    message = raw_message("alice@globex.com", REP, "<e1@globex.com>", "Renewal")
    mbox = tmp_path / "ana.mbox"
    write_mbox(mbox, [message])
    eml = tmp_path / "e1.eml"
    eml.write_text(message)
    config = write_config(tmp_path, sb, mbox, email_as="auto")
    assert main(["setup", "salesforce", "-c", str(config)]) == 0
    capsys.readouterr()

    report = explain_json(config, "--eml", str(eml), capsys=capsys)
    record = report["record"]
    assert record["sobject"] == "EmailMessage"
    assert record["fields"]["ToIds"] == [user] and record["fields"]["RelatedToId"] == account
    assert record["fields"]["Status"] == "1" and record["fields"]["Incoming"] is True
    assert record["relations"] == [
        {"RelationId": contact, "RelationType": "FromAddress"},
        {"RelationId": user, "RelationType": "ToAddress"},
    ]
    assert report["outcome"] == "would create an EmailMessage by Syncd_Key__c, with 2 relation(s)"
    assert main(["explain", "-c", str(config), "--eml", str(eml)]) == 0
    assert f"FromAddress {contact}" in capsys.readouterr().out
    assert sb.count("EmailMessage") == 0  # explain writes nothing

    assert main(["sync", "-c", str(config), "--json"]) == 0
    capsys.readouterr()
    (written,) = sb.records("EmailMessage")
    got = {
        (r["RelationId"], r["RelationType"])
        for r in sb.records("EmailMessageRelation")
        if r["EmailMessageId"] == written["Id"]
    }
    assert got == {(r["RelationId"], r["RelationType"]) for r in record["relations"]}
