"""What a real org decides, end to end: the rep's own day, Event length, EventRelations.

Memory connector → the real runner → the sandbox org over HTTPS, whose Event and
EventRelation rules are those of a real org (multi-day events off unless enabled, 14 days at
most, IsInvitee by default, 50 contacts or one lead, no IsParent without Shared Activities).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from capture_helpers import NOW, REPS, Capture, email_bytes

from syncd.capture.org_rules import OrgRules, rep_zones
from syncd.capture.runner import Runner
from syncd.salesforce.org_features import shared_activities

LA = ZoneInfo("America/Los_Angeles")


def run(capture: Capture, mailbox: str = REPS[0], runner: Runner | None = None) -> Any:
    return (runner or capture.runner).run(capture.connector, mailbox)


def runner_for(capture: Capture, **org: Any) -> Runner:
    r = capture.runner
    rules = OrgRules(zone_of=rep_zones(r.directory), **org)
    return Runner(r.store, r.writer, r.directory, r.rules, org=rules)


def meeting(uid: str, start: datetime, end: datetime, *guests: str) -> dict[str, Any]:
    return {
        "uid": uid,
        "summary": "Offsite",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "organizer": {"email": REPS[0]},
        "attendees": [{"email": a, "partstat": "ACCEPTED"} for a in (REPS[0], *guests)],
    }


def test_evening_mail_is_dated_the_owning_reps_own_day(capture: Capture) -> None:
    sb = capture.sandbox
    sb.update("User", capture.org.users[REPS[0]], {"TimeZoneSidKey": "America/Chicago"})
    capture.runner.directory.refresh(capture.client)
    # 18:30 in Los Angeles on the 18th is 02:30 UTC on the 19th, 20:30 on the 18th in Chicago.
    sent = datetime(2026, 11, 18, 18, 30, tzinfo=LA)
    for mailbox, mid in ((REPS[0], "<chicago@x>"), (REPS[1], "<gmt@x>")):
        raw = email_bytes(mailbox, ["alice@globex.com"], message_id=mid, when=sent)
        capture.connector.add(mailbox, "email", raw)
        run(capture, mailbox)
    days = {t["OwnerId"]: t["ActivityDate"] for t in sb.records("Task")}
    assert days[capture.org.users[REPS[0]]] == "2026-11-18"  # the Chicago rep's day
    # A rep left in the org's zone (GMT here) gets the GMT day: the rule is per owner.
    assert days[capture.org.users[REPS[1]]] == "2026-11-19"


def test_a_multiday_offsite_is_written_as_the_org_allows(capture: Capture) -> None:
    sb = capture.sandbox
    start = (NOW - timedelta(days=6)).replace(hour=16, minute=0)
    offsite = meeting("offsite@ourco.com", start, start + timedelta(days=3), "alice@globex.com")
    capture.connector.add(REPS[0], "meeting", offsite)
    result = run(capture)
    (event,) = sb.records("Event")
    # Multi-day events are off (the org's and syncd's default): the first 24 hours, noted.
    assert event["DurationInMinutes"] == 1440
    assert "Multi-day event until" in event["Description"]
    assert result.outcomes["written"] == 1 and "dead_letter" not in result.outcomes
    with pytest.raises(ValueError, match="FIELD_INTEGRITY_EXCEPTION"):
        sb.insert("Event", [{"Subject": "x", "StartDateTime": start.isoformat(),
                             "EndDateTime": (start + timedelta(days=2)).isoformat()}])  # fmt: skip


def test_with_multiday_events_on_the_offsite_is_whole_and_over_14_days_is_a_named_skip(
    capture: Capture,
) -> None:
    sb = capture.sandbox
    sb.set_multiday_events(True)
    runner = runner_for(capture, multiday_events=True)
    start = (NOW - timedelta(days=20)).replace(hour=16, minute=0)
    capture.connector.add(
        REPS[0], "meeting", meeting("three@x", start, start + timedelta(days=3), "bob@globex.com")
    )
    capture.connector.add(
        REPS[0], "meeting", meeting("long@x", start, start + timedelta(days=15), "bob@globex.com")
    )
    result = run(capture, runner=runner)
    (event,) = sb.records("Event")
    assert event["DurationInMinutes"] == 3 * 1440 and not event.get("Description")
    assert result.outcomes["skipped:event_too_long"] == 1
    assert capture.store.dead_letters.list() == []


def test_related_contacts_are_parents_not_invitees(capture: Capture) -> None:
    sb = capture.sandbox
    start = NOW - timedelta(days=2)
    capture.connector.add(
        REPS[0],
        "meeting",
        meeting("rel@x", start, start + timedelta(hours=1), "alice@globex.com", "bob@globex.com"),
    )
    run(capture)
    (event,) = sb.records("Event")
    (relation,) = sb.records("EventRelation")
    assert relation["RelationId"] in capture.org.contacts.values()
    assert relation["RelationId"] != event["WhoId"]
    assert (relation["IsParent"], relation["IsInvitee"]) == (True, False)
    # The org's own default, for a row that says neither: an invitee.
    rep = capture.org.users[REPS[1]]
    (rid,) = sb.insert("EventRelation", [{"EventId": event["Id"], "RelationId": rep}])
    assert sb.get("EventRelation", rid)["IsInvitee"] is True


def test_without_shared_activities_an_event_relates_its_who_only(capture: Capture) -> None:
    sb = capture.sandbox
    sb.disable_shared_activities()
    assert shared_activities(capture.client) is False
    runner = runner_for(capture, shared_activities=False)
    start = NOW - timedelta(days=2)
    capture.connector.add(
        REPS[0],
        "meeting",
        meeting("who@x", start, start + timedelta(hours=1), "alice@globex.com", "bob@globex.com"),
    )
    result = run(capture, runner=runner)
    (event,) = sb.records("Event")
    assert event["WhoId"] in capture.org.contacts.values()
    assert sb.records("EventRelation") == []
    assert result.outcomes["written"] == 1 and "dead_letter" not in result.outcomes
    # The org really has no IsParent: a row naming it is refused.
    with pytest.raises(ValueError, match="INVALID_FIELD"):
        sb.insert(
            "EventRelation",
            [{"EventId": event["Id"], "RelationId": capture.org.contacts["bob@globex.com"],
              "IsParent": True}],
        )  # fmt: skip


def test_the_org_relates_at_most_50_contacts_or_one_lead(sandbox: Any) -> None:
    (account,) = sandbox.insert("Account", [{"Name": "Many"}])
    contacts = sandbox.insert(
        "Contact", [{"LastName": f"C{i}", "AccountId": account} for i in range(51)]
    )
    (lead,) = sandbox.insert("Lead", [{"LastName": "L", "Company": "Lead Co"}])
    start = datetime(2026, 11, 1, 15, tzinfo=UTC).isoformat()
    (event,) = sandbox.insert(
        "Event", [{"Subject": "big", "StartDateTime": start, "DurationInMinutes": 60,
                   "WhoId": contacts[0]}]
    )  # fmt: skip
    sandbox.insert(
        "EventRelation",
        [{"EventId": event, "RelationId": c, "IsParent": True} for c in contacts[1:50]],
    )
    for extra in (contacts[50], lead):
        with pytest.raises(ValueError, match="FIELD_INTEGRITY_EXCEPTION"):
            sandbox.insert("EventRelation", [{"EventId": event, "RelationId": extra,
                                              "IsParent": True}])  # fmt: skip
