"""Outlook calendar behaviour: series instances, all-day, zones, cancellations, Google parity."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from capture_helpers import NOW
from contract import pull_all
from graph_crm import Crm
from graph_helpers import FakeClock, calendar_connector

from connectors.outlook_calendar import external_uid
from sandbox.graph import GraphSandbox
from sandbox.graph.data import make_id
from sandbox.graph.seed import add_meeting, add_series, event_body
from syncd.capture.addresses import InternalParties
from syncd.capture.keys import meeting_key
from syncd.capture.normalize import Origin
from syncd.capture.normalize_calendar import normalize_meeting
from syncd.capture.runner import PassResult
from syncd.config import CaptureConfig
from syncd.model import Batch, Meeting

ANA = "ana@ourco.com"  # Microsoft 365
BEN = "ben@ourco.com"  # Google Workspace
CAPTURE = CaptureConfig(internal_domains=["ourco.com"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def graph(clock: FakeClock) -> Iterator[GraphSandbox]:
    with GraphSandbox(clock=clock.now) as sandbox:
        sandbox.add_user(ANA)
        yield sandbox


def meetings(connector: Any) -> list[Meeting]:
    batches, _ = pull_all(connector, ANA, None)
    return [a for b in batches for a in b.activities]  # type: ignore[misc]


def test_series_instances_are_keyed_by_the_series_uid_and_original_start(
    graph: GraphSandbox, clock: FakeClock
) -> None:
    starts = [NOW - timedelta(days=d) for d in (21, 14, 7)]
    add_series(
        graph,
        ANA,
        ical_uid="weekly-sync@globex.com",
        starts=starts,
        organizer="alice@globex.com",
        attendees=[ANA],
        subject="Weekly sync",
    )
    connector = calendar_connector(graph, clock, (ANA,), capture=CAPTURE)
    graph.reset_counters()
    found = meetings(connector)
    assert sorted(m.key for m in found) == sorted(
        meeting_key("weekly-sync@globex.com", s) for s in starts
    )
    assert {m.recurrence_instance for m in found} == set(starts)
    assert graph.requests["batch"] == 1  # one $batch for the master, not one GET per instance
    assert graph.throttle.concurrency_breaches == graph.throttle.early_requests == 0


def test_all_day_zones_and_cancellations(graph: GraphSandbox, clock: FakeClock) -> None:
    day = datetime(2026, 11, 18, tzinfo=UTC)
    add_meeting(
        graph,
        ANA,
        ical_uid="offsite@globex.com",
        organizer=ANA,
        attendees=["alice@globex.com"],
        subject="Offsite",
        start=day,
        end=day + timedelta(days=1),
        all_day=True,
    )
    box = graph.mailbox(ANA)
    pacific = event_body(
        ical_uid="pst@globex.com",
        organizer=ANA,
        attendees=["alice@globex.com"],
        subject="West coast call",
        start=NOW,
        end=NOW,
        item_id="pst",
    )
    # A calendar that still answers in its Windows zone: 09:00 Pacific is 17:00 UTC in November.
    pacific["start"] = {
        "dateTime": "2026-11-17T09:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    pacific["end"] = {
        "dateTime": "2026-11-17T09:30:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    box.put_event(pacific)
    add_meeting(
        graph,
        ANA,
        ical_uid="cancelled@globex.com",
        organizer="alice@globex.com",
        attendees=[ANA],
        subject="Cancelled: review",
        start=NOW - timedelta(days=1),
        end=NOW - timedelta(days=1) + timedelta(hours=1),
        cancelled=True,
    )
    connector = calendar_connector(graph, clock, (ANA,), capture=CAPTURE)
    by_subject = {m.subject: m for m in meetings(connector)}
    offsite = by_subject["Offsite"]
    assert offsite.all_day and offsite.start == day and offsite.end == day + timedelta(days=1)
    assert by_subject["West coast call"].start == datetime(2026, 11, 17, 17, 0, tzinfo=UTC)
    assert by_subject["Cancelled: review"].cancelled is True
    assert by_subject["Offsite"].cancelled is False


def test_an_exchange_global_object_id_yields_the_external_uid() -> None:
    uid = "7kq3abc@google.com"
    payload = b"vCal-Uid\x01\x00\x00\x00" + uid.encode() + b"\x00"
    goid = (
        bytes.fromhex("040000008200E00074C5B7101A82E008")
        + bytes(4 + 8 + 8)
        + len(payload).to_bytes(4, "little")
        + payload
    )
    assert external_uid(goid.hex().upper()) == uid
    native = "040000008200E00074C5B7101A82E00800000000" + "A" * 64
    assert external_uid(native) == native  # an Exchange-organised meeting keeps its id


def google_event(uid: str, start: datetime, *, recurring: bool) -> dict[str, Any]:
    """An event as the Google Calendar API v3 returns it (events.list, singleEvents=true)."""
    zone = ZoneInfo("America/New_York")
    local = {"dateTime": start.astimezone(zone).isoformat(), "timeZone": "America/New_York"}
    event: dict[str, Any] = {
        "kind": "calendar#event",
        "id": make_id("google", uid, start.isoformat())[:26].lower(),
        "status": "confirmed",
        "summary": "Pricing review",
        "start": local,
        "end": {"dateTime": (start + timedelta(minutes=30)).isoformat(), "timeZone": "UTC"},
        "iCalUID": uid,
        "organizer": {"email": "alice@globex.com"},
        "attendees": [
            {"email": "alice@globex.com", "responseStatus": "accepted", "organizer": True},
            {"email": ANA, "responseStatus": "accepted"},
            {"email": BEN, "responseStatus": "accepted", "self": True},
        ],
    }
    if recurring:
        event["recurringEventId"] = "series123"
        event["originalStartTime"] = local
    return event


def test_a_meeting_seen_from_google_and_microsoft_calendars_is_one_event(
    crm: Crm, graph: GraphSandbox, clock: FakeClock
) -> None:
    # The Google Calendar connector has not landed yet: Ben's side is built exactly as the
    # Calendar API returns it and goes through the same normaliser and Runner.
    single_at = NOW - timedelta(days=2)
    series_at = [NOW - timedelta(days=9), NOW - timedelta(days=2, hours=-3)]
    add_meeting(
        graph,
        ANA,
        ical_uid="single-review@google.com",
        organizer="alice@globex.com",
        attendees=[ANA, BEN],
        subject="Pricing review",
        start=single_at,
        end=single_at + timedelta(minutes=30),
    )
    add_series(
        graph,
        ANA,
        ical_uid="weekly@google.com",
        starts=series_at,
        organizer="alice@globex.com",
        attendees=[ANA, BEN],
        subject="Pricing review",
    )
    outlook = calendar_connector(graph, clock, (ANA,), capture=CAPTURE)
    crm.runner.run(outlook, ANA)

    origin = Origin(
        source="google-calendar",
        mailbox=BEN,
        internal=InternalParties.build(["ourco.com"], frozenset()),
    )
    google = [google_event("single-review@google.com", single_at, recurring=False)] + [
        google_event("weekly@google.com", s, recurring=True) for s in series_at
    ]
    activities = []
    for event in google:
        neutral = {
            "id": event["id"],
            "uid": event["iCalUID"],
            "start": event["start"],
            "end": event["end"],
            "summary": event["summary"],
            "organizer": event["organizer"],
            "attendees": event["attendees"],
            "status": event["status"],
            "recurrence_id": event.get("originalStartTime"),
        }
        activities.append(normalize_meeting(neutral, origin))
    assert all(isinstance(a, Meeting) for a in activities)
    crm.runner.process("google-calendar", BEN, Batch(tuple(activities)), PassResult("g", BEN))

    events = crm.records("Event")
    keys = [e["Syncd_Key__c"] for e in events]
    assert len(keys) == len(set(keys)) == 3
    for key in keys:
        seen = {(s.connector, s.mailbox) for s in crm.store.ledger.sightings(key)}
        assert seen == {("outlook-calendar", ANA), ("google-calendar", BEN)}


def test_google_calendar_and_outlook_calendar_connectors_write_one_event_per_meeting(
    crm: Crm, graph: GraphSandbox, clock: FakeClock, tmp_path: Any
) -> None:
    from google_helpers import calendar_connector as google_calendar_connector

    from sandbox.google import GoogleSandbox

    new_york = ZoneInfo("America/New_York")
    # A weekly series across the end of daylight saving time (1 November 2026), and a one-off.
    first = datetime(2026, 10, 30, 10, 0, tzinfo=new_york)
    starts = [first + timedelta(weeks=k) for k in range(3)]  # 10:00 New York each week
    single = datetime(2026, 11, 18, 9, 0, tzinfo=new_york)
    people = {
        "organizer": {"email": "alice@globex.com"},
        "attendees": [
            {"email": "alice@globex.com", "responseStatus": "accepted", "organizer": True},
            {"email": ANA, "responseStatus": "accepted"},
            {"email": BEN, "responseStatus": "accepted"},
        ],
    }
    with GoogleSandbox(clock=clock.now) as google:
        google.add_user(BEN)
        google.calendar.add_event(
            BEN,
            {
                "id": "weekly1",
                "iCalUID": "weekly-pricing@google.com",
                "summary": "Pricing sync",
                "start": {"dateTime": first.isoformat(), "timeZone": "America/New_York"},
                "end": {
                    "dateTime": (first + timedelta(minutes=30)).isoformat(),
                    "timeZone": "America/New_York",
                },
                "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
                **people,
            },
        )
        google.calendar.add_event(
            BEN,
            {
                "id": "single1",
                "iCalUID": "one-off@google.com",
                "summary": "Contract review",
                "start": {"dateTime": single.isoformat(), "timeZone": "America/New_York"},
                "end": {"dateTime": (single + timedelta(hours=1)).isoformat()},
                **people,
            },
        )
        # The same meetings as Exchange shows them in Ana's calendar (times in UTC).
        add_series(
            graph,
            ANA,
            ical_uid="weekly-pricing@google.com",
            starts=[s.astimezone(UTC) for s in starts],
            organizer="alice@globex.com",
            attendees=[ANA, BEN],
            subject="Pricing sync",
        )
        add_meeting(
            graph,
            ANA,
            ical_uid="one-off@google.com",
            organizer="alice@globex.com",
            attendees=[ANA, BEN],
            subject="Contract review",
            start=single.astimezone(UTC),
            end=single.astimezone(UTC) + timedelta(hours=1),
        )
        gcal = google_calendar_connector(
            google, tmp_path / "g", (BEN,), clock.now, sleep=clock.sleep, internal=("ourco.com",)
        )
        crm.runner.run(gcal, BEN)
    outlook = calendar_connector(graph, clock, (ANA,), capture=CAPTURE)
    crm.runner.run(outlook, ANA)

    keys = [e["Syncd_Key__c"] for e in crm.records("Event")]
    expected = {meeting_key("weekly-pricing@google.com", s) for s in starts}
    expected.add(meeting_key("one-off@google.com"))
    assert sorted(keys) == sorted(expected)  # 4 Events, none twice
    for key in keys:
        seen = {(s.connector, s.mailbox) for s in crm.store.ledger.sightings(key)}
        assert seen == {("outlook-calendar", ANA), ("gcal", BEN)}
