"""The capture runner end to end: memory connector → real sandbox org over HTTPS → store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from capture_helpers import NOW, REPS, Capture, email_bytes

from syncd.capture.keys import meeting_key


def run_all(capture: Capture) -> None:
    for mailbox in capture.connector.mailboxes():
        capture.runner.run(capture.connector, mailbox)


def tasks(sb: Any) -> list[dict[str, Any]]:
    return sb.records("Task")


def test_same_email_in_three_mailboxes_is_one_task(capture: Capture) -> None:
    raw = email_bytes(
        REPS[0], ["alice@globex.com"], cc=[REPS[1], REPS[2]], message_id="<abc@ourco.com>"
    )
    for mailbox in REPS[:3]:
        capture.connector.add(mailbox, "email", raw)
    run_all(capture)

    written = tasks(capture.sandbox)
    assert len(written) == 1
    task = written[0]
    assert task["Subject"] == "Email: Pricing follow-up"
    assert task["TaskSubtype"] == "Email"
    assert task["WhoId"] == capture.org.contacts["alice@globex.com"]
    # alice holds a contact role on the open opportunity
    assert task["WhatId"] == capture.org.opportunity
    assert task["OwnerId"] == capture.org.users[REPS[0]]
    assert not task.get("Description")  # bodies are not captured by default

    entry = capture.store.ledger.get(task["Syncd_Key__c"])
    assert entry is not None and entry.salesforce_id == task["Id"]
    seen_by = {s.mailbox for s in capture.store.ledger.sightings(entry.key)}
    assert seen_by == set(REPS[:3])
    counts = {u.mailbox: u.counts for u in capture.store.status().units}
    assert counts[REPS[0]]["written"] == 1
    assert counts[REPS[1]]["already_written"] == 1
    assert counts[REPS[2]]["already_written"] == 1


def test_a_second_pass_writes_nothing_and_costs_no_write_calls(capture: Capture) -> None:
    capture.connector.add(REPS[0], "email", email_bytes(REPS[0], ["bob@globex.com"]))
    run_all(capture)
    before = capture.sandbox.count("Task")
    capture.sandbox.reset_counters()
    run_all(capture)
    assert capture.sandbox.count("Task") == before == 1
    assert not any(label.startswith("composite") for label in capture.sandbox.calls)


def test_privacy_skips_are_counted_by_reason_and_never_written(capture: Capture) -> None:
    c = capture.connector
    c.add(REPS[0], "email", email_bytes(REPS[1], [REPS[0]], message_id="<internal@x>"))
    c.add(
        REPS[0],
        "email",
        email_bytes(
            "news@globex.com",
            [REPS[0]],
            message_id="<news@x>",
            headers={"List-Unsubscribe": "<mailto:u@globex.com>"},
        ),
    )
    c.add(REPS[0], "email", email_bytes("noreply@globex.com", [REPS[0]], message_id="<nr@x>"))
    run_all(capture)
    assert tasks(capture.sandbox) == []
    counts = capture.store.counts.for_unit("mem", REPS[0])
    assert counts["skipped:internal_only"] == 1
    assert counts["skipped:bulk_mail"] == 1
    assert counts["skipped:automated"] == 1


def test_unknown_sender_goes_to_the_unmatched_queue_with_a_reason(capture: Capture) -> None:
    capture.connector.add(REPS[0], "email", email_bytes("stranger@unknown-corp.example", [REPS[0]]))
    run_all(capture)
    assert tasks(capture.sandbox) == []
    items = capture.store.unmatched.list()
    assert len(items) == 1
    assert "no Contact, Lead or Account" in items[0].reason


def test_domain_match_writes_against_the_account(capture: Capture) -> None:
    capture.connector.add(REPS[0], "email", email_bytes("dave@initech.io", [REPS[0]]))
    run_all(capture)
    (task,) = tasks(capture.sandbox)
    assert task["WhatId"] == capture.org.other_account
    assert not task.get("WhoId")


def test_same_meeting_in_five_calendars_is_one_event_with_invitees(capture: Capture) -> None:
    start = NOW - timedelta(days=2)
    event = {
        "uid": "demo-meeting-1@ourco.com",
        "summary": "Globex evaluation",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        "location": "Zoom",
        "organizer": {"email": REPS[0]},
        "attendees": [{"email": r, "partstat": "ACCEPTED"} for r in REPS]
        + [
            {"email": "alice@globex.com", "partstat": "ACCEPTED"},
            {"email": "bob@globex.com", "partstat": "TENTATIVE"},
        ],
    }
    for rep in REPS:
        capture.connector.add(rep, "meeting", event)
    run_all(capture)

    events = capture.sandbox.records("Event")
    assert len(events) == 1
    (ev,) = events
    assert ev["Syncd_Key__c"] == meeting_key("demo-meeting-1@ourco.com")
    assert ev["Subject"] == "Globex evaluation"
    assert ev["WhoId"] in capture.org.contacts.values()
    relations = capture.sandbox.records("EventRelation")
    related = {r["RelationId"] for r in relations if r["EventId"] == ev["Id"]}
    others = {capture.org.contacts["alice@globex.com"], capture.org.contacts["bob@globex.com"]}
    assert related == others - {ev["WhoId"]}
    seen_by = {s.mailbox for s in capture.store.ledger.sightings(ev["Syncd_Key__c"])}
    assert seen_by == set(REPS)


def test_an_invitee_matched_later_becomes_an_event_relation_once(capture: Capture) -> None:
    start = NOW - timedelta(days=1)
    event = {
        "uid": "late-invitee@ourco.com",
        "summary": "Follow-up",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "organizer": {"email": REPS[0]},
        "attendees": [
            {"email": REPS[0], "partstat": "ACCEPTED"},
            {"email": "alice@globex.com", "partstat": "ACCEPTED"},
            {"email": "zed@globex.com", "partstat": "ACCEPTED"},
        ],
    }
    capture.connector.add(REPS[0], "meeting", event)
    run_all(capture)
    assert capture.sandbox.records("EventRelation") == []

    # zed becomes a contact; the meeting is then seen from a second calendar
    (zed,) = capture.sandbox.insert(
        "Contact",
        [{"LastName": "Zed", "Email": "zed@globex.com", "AccountId": capture.org.account}],
    )
    capture.runner.directory.refresh(capture.client)
    capture.connector.add(REPS[1], "meeting", event)
    capture.connector.add(REPS[2], "meeting", event)
    run_all(capture)
    relations = capture.sandbox.records("EventRelation")
    assert [r["RelationId"] for r in relations] == [zed]
    assert capture.sandbox.count("Event") == 1


def test_rematch_writes_only_what_matches_now_and_expires_old_items(capture: Capture) -> None:
    c = capture.connector
    c.add(REPS[0], "email", email_bytes("newbie@unknown.example", [REPS[0]], message_id="<n@x>"))
    c.add(REPS[0], "email", email_bytes("other@nowhere.example", [REPS[0]], message_id="<o@x>"))
    c.add(
        REPS[0],
        "email",
        email_bytes(
            "ancient@unknown.example",
            [REPS[0]],
            message_id="<a@x>",
            when=NOW - timedelta(days=60),
        ),
    )
    run_all(capture)
    assert len(capture.store.unmatched.list()) == 3
    before = capture.store.counts.for_unit("mem", REPS[0])

    capture.sandbox.insert("Contact", [{"LastName": "Newbie", "Email": "newbie@unknown.example"}])
    capture.runner.directory.refresh(capture.client)
    outcomes = capture.runner.rematch(
        capture.store.unmatched.due(), window_start=NOW - timedelta(days=30)
    )
    assert outcomes == {"written": 1, "still_unmatched": 1, "expired": 1}
    (task,) = tasks(capture.sandbox)
    assert task["Subject"] == "Email: Pricing follow-up"
    (left,) = capture.store.unmatched.list()
    assert left.attempts == 2
    after = capture.store.counts.for_unit("mem", REPS[0])
    assert after["written"] == before.get("written", 0) + 1
    assert after["unmatched"] == before["unmatched"]  # still-unmatched items are not recounted
