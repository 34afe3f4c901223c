"""The demo's run (``syncd.demo.run_world``) checked against the world it seeded.

Every emulator serves over real sockets on loopback and the real vendor clients talk to them:
reps split between Google, Microsoft 365 and mbox, calls from RingCentral, rules alerts to
Slack. It runs in-process so the Salesforce records can be inspected; the command itself
(``syncd demo --json`` in a subprocess) is tested in tests/cli/test_cli.py.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from sandbox.world.emulators import DemoEmulators
from sandbox.world.providers import GOOGLE, MICROSOFT
from syncd.capture.keys import meeting_key, message_key
from syncd.demo.run import run_world


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One whole demo run in-process, emulators kept up while the tests inspect them."""
    folder = tmp_path_factory.mktemp("demo")
    with DemoEmulators() as emulators:
        world, result = run_world(emulators, folder)
        # Through JSON, as ``syncd demo --json`` prints it.
        yield world, emulators.salesforce, json.loads(json.dumps(result))


@pytest.fixture(scope="module")
def summary(captured: Any) -> dict[str, Any]:
    return captured[2]


def test_summary_is_consistent(summary: dict[str, Any]) -> None:
    world, written = summary["world"], summary["written"]
    assert 0 < written["email"] <= world["messages_distinct"] <= world["messages_delivered"]
    assert 0 < written["meeting"] <= world["meetings_distinct"]
    assert written["event_relations"] > 0
    assert {"internal_only", "bulk_mail", "automated"} <= summary["skipped"].keys()
    assert summary["unmatched"] == sum(summary["unmatched_by_kind"].values())
    assert summary["unmatched_by_kind"]["email"] > 0
    assert summary["dead_letters"] == 0
    # every delivered message ends in exactly one outcome
    outcomes = (
        written["email"]
        + summary["already_written"]["email"]
        + summary["unmatched_by_kind"]["email"]
        + sum(n for r, n in summary["skipped"].items() if r in {"internal_only", "bulk_mail",
                                                                 "automated", "role_sender"})
    )  # fmt: skip
    assert outcomes == world["messages_delivered"]
    sf = summary["salesforce"]
    # email_as = "auto" on an org with Enhanced Email: every email is an EmailMessage, and
    # Salesforce creates its Task (ActivityId) itself.
    assert written["email_messages"] == written["email"]
    assert sf["records"] == {
        "Task": written["email"] + written["call"],
        "EmailMessage": written["email_messages"],
        "Event": written["meeting"],
        "EventRelation": written["event_relations"],
    }
    calls = sf["calls"]
    assert calls["total"] == sum(calls["by_endpoint"].values())
    assert sf["calls_by_capture"] >= math.ceil(written["email"] / 200) + 1
    # Tasks and Events go in sObject collections; EmailMessages with their relations in
    # composite calls, a label the directory's batched queries share.
    composite = calls["by_endpoint"].get("composite", 0)
    assert calls["collections"] < sf["calls_by_capture"] <= calls["collections"] + composite


def test_rules_ran_over_the_org_and_alerts_reached_slack(summary: dict[str, Any]) -> None:
    rules = summary["rules"]
    assert rules["open_deals"] == summary["world"]["org"]["opportunities_open"]
    assert rules["flags"] == sum(rules["flags_by_rule"].values()) > 0
    assert {"no_activity", "past_close_date"} <= rules["flags_by_rule"].keys()
    # every alert sent is one message the Slack sandbox received
    assert 0 < rules["alerts_sent"] == rules["slack_messages"]
    assert rules["alerts_requeued"] == 0
    # The first run: one digest per rep, never a burst; every flag accounted for.
    assert rules["first_run"] and rules["alerts_sent"] <= rules["flagged_deals"]
    acc = rules["alerts"]
    assert acc["sent"] + acc["merged"] + acc["suppressed"] + acc["failed"] == rules["flags"]
    assert acc["queued"] == 0 and acc["merged"] > 0


def test_summary_is_json_of_counts_only(summary: dict[str, Any]) -> None:
    text = json.dumps(summary)
    assert "@" not in text  # no addresses
    assert "Pricing" not in text and "Re:" not in text  # no subjects


def test_one_pass_gives_the_world_expected_counts(captured: Any) -> None:
    world, _, result = captured
    expected = world.expected()
    assert result["written"]["email"] == expected["written"]["email"]
    assert result["written"]["meeting"] == expected["written"]["meeting"]
    assert result["written"]["call"] > 0
    assert result["already_written"] == {**expected["already_written"], "call": 0}
    # every seeded call is one outcome: a Task, or unmatched when no contact has its number
    calls = result["by_connector_type"]["ringcentral"]
    assert result["written"]["call"] == calls["written"] > 0
    assert calls["written"] + calls["unmatched"] + calls["skipped"] == world.calls
    assert result["unmatched_by_kind"]["email"] == expected["unmatched"]
    assert result["unmatched_by_kind"]["call"] == calls["unmatched"]
    assert result["skipped"] == expected["skipped"]


def test_a_message_in_several_mailboxes_is_one_email_message(captured: Any) -> None:
    world, sb, _ = captured
    keys = [m["Syncd_Key__c"] for m in sb.records("EmailMessage")]
    assert len(keys) == len(set(keys))
    shared = world.shared_written_ids()
    assert len(shared) > 10
    for mid in shared:
        assert keys.count(message_key(mid)) == 1


def test_a_meeting_in_several_calendars_is_one_event(captured: Any) -> None:
    world, sb, _ = captured
    copies: dict[str, int] = {}
    for events in world.meetings.values():
        for event in events:
            copies[event["uid"]] = copies.get(event["uid"], 0) + 1
    shared = [uid for uid, n in copies.items() if n > 2]
    events = [e["Syncd_Key__c"] for e in sb.records("Event")]
    written = [uid for uid in shared if meeting_key(uid) in events]
    assert written
    assert all(events.count(meeting_key(uid)) == 1 for uid in written)


def _spanning(copies: dict[str, list[str]], providers: dict[str, str]) -> list[str]:
    """Ids held by at least one Google rep and at least one Microsoft rep."""
    return [
        ident
        for ident, boxes in copies.items()
        if {GOOGLE, MICROSOFT} <= {providers.get(b) for b in boxes}
    ]


def test_each_provider_wrote_something(captured: Any) -> None:
    world, _, result = captured
    by_type = result["by_connector_type"]
    assert set(by_type) == {
        "gmail",
        "google_calendar",
        "outlook_mail",
        "outlook_calendar",
        "mbox",
        "ringcentral",
    }
    # Which connector writes a shared item first is an order detail: each saw its own items.
    for ctype, row in by_type.items():
        assert row["written"] + row["already_written"] > 0, ctype
    assert {p for p in world.providers.values()} == {"google", "microsoft", "mbox"}
    assert result["vendors"]["gmail_quota_units"] > 0
    assert result["vendors"]["requests"]["google"] > 0
    assert result["vendors"]["requests"]["graph"] > 0


def test_a_thread_shared_by_a_google_and_a_microsoft_rep_is_one_email_message_per_message(
    captured: Any,
) -> None:
    world, sb, _ = captured
    copies = {m: world.mail_copies[m] for m in world.shared_written_ids()}
    spanning = _spanning(copies, world.providers)
    assert spanning, "the world has no message in both a Google and a Microsoft mailbox"
    keys = [m["Syncd_Key__c"] for m in sb.records("EmailMessage")]
    for mid in spanning:
        assert keys.count(message_key(mid)) == 1


def test_a_meeting_shared_by_a_google_and_a_microsoft_rep_is_one_event(captured: Any) -> None:
    world, sb, _ = captured
    calendars: dict[str, list[str]] = {}
    for rep, events in world.meetings.items():
        for event in events:
            calendars.setdefault(event["uid"], []).append(rep)
    spanning = _spanning(calendars, world.providers)
    events = [e["Syncd_Key__c"] for e in sb.records("Event")]
    written = [uid for uid in spanning if meeting_key(uid) in events]
    assert written, "no meeting in both a Google and a Microsoft calendar was written"
    assert all(events.count(meeting_key(uid)) == 1 for uid in written)


def test_calls_are_tasks_on_the_matched_contact(captured: Any) -> None:
    _, sb, result = captured
    calls = [t for t in sb.records("Task") if t.get("TaskSubtype") == "Call"]
    assert len(calls) == result["written"]["call"]
    contacts = {c["Id"] for c in sb.records("Contact")}
    assert all(t["WhoId"] in contacts for t in calls)
    assert all(t["Syncd_Key__c"].startswith("cl:") for t in calls)
