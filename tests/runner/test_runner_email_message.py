"""Email as EmailMessage end to end: memory connector → real sandbox org over HTTPS → store.

``salesforce.email_as = "EmailMessage"``: one EmailMessage per Message-ID across mailboxes with
a relation for every matched sender and recipient and Salesforce's own activity on the deal;
replies in the same thread; exactly once across passes, lost ledgers and switches from Task.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from capture_helpers import NOW, REPS, Capture, email_bytes
from sf_helpers import make_client

from syncd.capture.org_rules import OrgRules
from syncd.capture.runner import Runner
from syncd.errors import ConfigError
from syncd.rules.inputs import load
from syncd.salesforce.directory import Directory
from syncd.salesforce.org_features import email_as, email_rule
from syncd.state import Store


def _runner(capture: Capture, store: Store, mode: str = "EmailMessage") -> Runner:
    directory = Directory.load(capture.client)
    resolved = email_as(mode, capture.client)
    return Runner(
        store,
        capture.runner.writer,
        directory,
        capture.runner.rules,
        org=OrgRules(email_as=resolved),
    )


@pytest.fixture
def mail(capture: Capture) -> Iterator[Capture]:
    capture.runner = _runner(capture, capture.store)
    capture.sandbox.reset_counters()
    yield capture


def run_all(capture: Capture, runner: Runner | None = None) -> None:
    for mailbox in capture.connector.mailboxes():
        (runner or capture.runner).run(capture.connector, mailbox)


def messages(sb: Any) -> list[dict[str, Any]]:
    return [m for m in sb.records("EmailMessage") if not m["IsDeleted"]]


def relations(sb: Any, message_id: str) -> set[tuple[str, str]]:
    return {
        (r["RelationId"], r["RelationType"])
        for r in sb.records("EmailMessageRelation")
        if r["EmailMessageId"] == message_id and not r["IsDeleted"]
    }


def test_same_email_in_three_mailboxes_is_one_emailmessage_with_its_relations(
    mail: Capture,
) -> None:
    raw = email_bytes(
        REPS[0],
        ["alice@globex.com", "stranger@elsewhere.org"],
        cc=["bob@globex.com", REPS[1], REPS[2]],
        message_id="<abc@ourco.com>",
    )
    for mailbox in REPS[:3]:
        mail.connector.add(mailbox, "email", raw)
    run_all(mail)

    (message,) = messages(mail.sandbox)
    org = mail.org
    assert message["Subject"] == "Pricing follow-up"
    assert message["Status"] == "3" and message["Incoming"] is False
    assert message["FromAddress"] == REPS[0]
    assert message["ToAddress"] == "stranger@elsewhere.org"  # people not in Salesforce only
    assert not message.get("CcAddress")
    assert message["MessageIdentifier"] == message["ThreadIdentifier"] == "<abc@ourco.com>"
    assert message["RelatedToId"] == org.opportunity
    assert not message.get("TextBody") and not message.get("HtmlBody")
    assert relations(mail.sandbox, message["Id"]) == {
        (org.users[REPS[0]], "FromAddress"),
        (org.contacts["alice@globex.com"], "ToAddress"),
        (org.contacts["bob@globex.com"], "CcAddress"),
        (org.users[REPS[1]], "CcAddress"),
        (org.users[REPS[2]], "CcAddress"),
    }
    # Salesforce's own activity is the only Task: syncd wrote none for this mail.
    (task,) = [t for t in mail.sandbox.records("Task") if not t["IsDeleted"]]
    assert task["Id"] == message["ActivityId"] and task["TaskSubtype"] == "Email"
    assert task["WhatId"] == org.opportunity and task["Status"] == "Completed"
    opportunity = mail.sandbox.get("Opportunity", org.opportunity)
    assert opportunity["LastActivityDate"] == task["ActivityDate"]

    entry = mail.store.ledger.get(message["Syncd_Key__c"])
    assert entry is not None and entry.sobject == "EmailMessage"
    assert entry.salesforce_id == message["Id"]
    assert {s.mailbox for s in mail.store.ledger.sightings(entry.key)} == set(REPS[:3])
    assert mail.sandbox.calls["composite"] == 1  # message and sender relation at once
    # The rules learn of this pass's activity from the ledger by deal, EmailMessages included.
    (deal,) = load(mail.client, NOW.date(), ledger=mail.store.ledger).deals
    assert deal.id == org.opportunity and deal.last_activity == NOW.date() - timedelta(days=1)


def test_a_reply_is_the_next_message_of_the_thread(mail: Capture) -> None:
    first = email_bytes(REPS[0], ["alice@globex.com"], message_id="<t1@ourco.com>")
    mail.connector.add(REPS[0], "email", first)
    run_all(mail)
    reply = email_bytes(
        "alice@globex.com",
        [REPS[0]],
        subject="Re: Pricing follow-up",
        message_id="<t2@globex.com>",
        when=NOW - timedelta(hours=2),
        headers={"In-Reply-To": "<t1@ourco.com>", "References": "<t1@ourco.com>"},
    )
    mail.connector.add(REPS[0], "email", reply)
    run_all(mail)

    by_id = {m["MessageIdentifier"]: m for m in messages(mail.sandbox)}
    parent, child = by_id["<t1@ourco.com>"], by_id["<t2@globex.com>"]
    assert child["ReplyToEmailMessageId"] == parent["Id"]
    assert child["ThreadIdentifier"] == parent["ThreadIdentifier"] == "<t1@ourco.com>"
    assert child["Incoming"] is True and child["Status"] == "1"  # read, so no open to-do
    assert (mail.org.contacts["alice@globex.com"], "FromAddress") in relations(
        mail.sandbox, child["Id"]
    )
    task = mail.sandbox.get("Task", child["ActivityId"])
    assert task is not None and task["Status"] == "Completed"


def test_a_second_pass_and_a_lost_ledger_write_nothing_twice(mail: Capture, tmp_path: Path) -> None:
    for i in range(3):
        raw = email_bytes(REPS[0], ["alice@globex.com"], message_id=f"<r{i}@ourco.com>")
        mail.connector.add(REPS[0], "email", raw)
    run_all(mail)
    before = {m["Id"]: m for m in messages(mail.sandbox)}
    relations_before = len(mail.sandbox.records("EmailMessageRelation"))
    mail.sandbox.reset_counters()
    run_all(mail)
    assert not any(label.startswith("composite") for label in mail.sandbox.calls)

    # A crash after the write and before the commit: the org has the messages, the ledger not.
    fresh = Store.open(f"sqlite:///{tmp_path / 'replay.db'}")
    try:
        replay = _runner(mail, fresh)
        mail.sandbox.reset_counters()
        run_all(mail, replay)
        after = {m["Id"]: m for m in messages(mail.sandbox)}
        assert after == before  # no new record, no field changed (LastModifiedDate included)
        assert len(mail.sandbox.records("EmailMessageRelation")) == relations_before
        assert mail.sandbox.calls["composite"] == 1
        assert mail.sandbox.calls["query"] == 1  # one look-up for the chunk's existing keys
        for m in before.values():
            entry = fresh.ledger.get(m["Syncd_Key__c"])
            assert entry is not None and entry.salesforce_id == m["Id"]
    finally:
        fresh.close()


def test_a_participant_matched_later_is_related_once(mail: Capture) -> None:
    raw = email_bytes(
        REPS[0], ["alice@globex.com", "dave@globex.com"], message_id="<late@ourco.com>"
    )
    mail.connector.add(REPS[0], "email", raw)
    run_all(mail)
    (message,) = messages(mail.sandbox)
    (dave,) = mail.sandbox.insert(
        "Contact", [{"LastName": "Dave", "Email": "dave@globex.com", "AccountId": mail.org.account}]
    )
    runner = _runner(mail, mail.store)  # the directory refreshed: Dave is a Contact now
    for mailbox in (REPS[1], REPS[2]):
        mail.connector.add(mailbox, "email", raw)
        runner.run(mail.connector, mailbox)
    got = relations(mail.sandbox, message["Id"])
    assert (dave, "ToAddress") in got
    dave_rows = [r for r in mail.sandbox.records("EmailMessageRelation") if r["RelationId"] == dave]
    assert len(dave_rows) == 1
    assert len(messages(mail.sandbox)) == 1


def test_switching_from_task_keeps_the_email_tasks_and_duplicates_nothing(
    capture: Capture,
) -> None:
    old = email_bytes(REPS[0], ["alice@globex.com"], message_id="<old@ourco.com>")
    capture.connector.add(REPS[0], "email", old)
    run_all(capture)  # email_as = "Task"
    (task,) = capture.sandbox.records("Task")

    runner = _runner(capture, capture.store, "auto")  # the org has Enhanced Email
    capture.connector.add(REPS[1], "email", old)  # the same mail, seen from another mailbox
    new = email_bytes(REPS[0], ["alice@globex.com"], message_id="<new@ourco.com>")
    capture.connector.add(REPS[0], "email", new)
    run_all(capture, runner)

    (message,) = messages(capture.sandbox)
    assert message["MessageIdentifier"] == "<new@ourco.com>"
    tasks = [t for t in capture.sandbox.records("Task") if not t["IsDeleted"]]
    assert {t["Id"] for t in tasks} == {task["Id"], message["ActivityId"]}
    assert capture.sandbox.get("Task", task["Id"]) == task  # kept, untouched


def test_chunks_of_200_cost_one_call_each(mail: Capture) -> None:
    for i in range(250):
        raw = email_bytes(REPS[0], ["alice@globex.com"], message_id=f"<bulk{i}@ourco.com>")
        mail.connector.add(REPS[0], "email", raw)
    mail.connector.page_size = 250  # one batch: 200 + 50
    result = mail.runner.run(mail.connector, REPS[0])
    assert len(messages(mail.sandbox)) == 250
    assert mail.sandbox.calls["composite"] == 2
    assert result.salesforce_calls == 2


def test_without_enhanced_email_auto_writes_tasks_and_emailmessage_is_an_error(
    capture: Capture,
) -> None:
    capture.sandbox.disable_enhanced_email()
    client = make_client(capture.sandbox)
    try:
        assert email_as("auto", client) == "Task"
        with pytest.raises(ConfigError) as refused:
            email_as("EmailMessage", client)
        assert "salesforce.email_as" in str(refused.value)
        assert "Enhanced Email" in str(refused.value)
        _name, ok, detail, in_force = email_rule("auto", client)
        assert ok and in_force == "Task" and "Enhanced Email is off" in detail
        _name, ok, detail, in_force = email_rule("EmailMessage", client)
        assert not ok and in_force is None and "Setup → Enhanced Email" in detail
    finally:
        client.close()


def test_a_relation_the_org_already_has_is_recorded_not_retried(
    mail: Capture, tmp_path: Path
) -> None:
    raw = email_bytes(REPS[0], ["alice@globex.com", "eve@globex.com"], message_id="<dup@o.com>")
    mail.connector.add(REPS[0], "email", raw)
    run_all(mail)
    (message,) = messages(mail.sandbox)
    (eve,) = mail.sandbox.insert(
        "Contact", [{"LastName": "Eve", "Email": "eve@globex.com", "AccountId": mail.org.account}]
    )
    mail.sandbox.insert(  # an admin related her by hand before syncd saw the mail again
        "EmailMessageRelation",
        [{"EmailMessageId": message["Id"], "RelationId": eve, "RelationType": "ToAddress"}],
    )
    runner = _runner(mail, mail.store)
    mail.connector.add(REPS[1], "email", raw)
    runner.run(mail.connector, REPS[1])
    entry = mail.store.ledger.get(message["Syncd_Key__c"])
    assert entry is not None and eve in entry.match_trace["related"]
    mail.sandbox.reset_counters()
    mail.connector.add(REPS[2], "email", raw)
    runner.run(mail.connector, REPS[2])
    assert not any(label.startswith("composite") for label in mail.sandbox.calls)


def test_a_chunk_with_an_existing_message_still_relates_the_new_ones_senders(
    mail: Capture, tmp_path: Path
) -> None:
    first = email_bytes(REPS[0], ["alice@globex.com"], message_id="<mixed1@ourco.com>")
    mail.connector.add(REPS[0], "email", first)
    run_all(mail)
    second = email_bytes(REPS[0], ["bob@globex.com"], message_id="<mixed2@ourco.com>")
    mail.connector.add(REPS[0], "email", second)
    fresh = Store.open(f"sqlite:///{tmp_path / 'mixed.db'}")
    try:
        replay = _runner(mail, fresh)  # the first message's ledger row is lost
        mail.sandbox.reset_counters()
        replay.run(mail.connector, REPS[0])
    finally:
        fresh.close()
    by_id = {m["MessageIdentifier"]: m for m in messages(mail.sandbox)}
    assert len(by_id) == 2
    new = by_id["<mixed2@ourco.com>"]
    assert (mail.org.users[REPS[0]], "FromAddress") in relations(mail.sandbox, new["Id"])
    # The senders' subrequest named the failed create's id, so Salesforce refused it whole:
    # one more call relates the sender of the message that was created.
    assert mail.sandbox.calls["composite"] == 1
    assert mail.sandbox.calls["query"] == 1
    assert mail.sandbox.calls["composite/sobjects:POST"] == 1
