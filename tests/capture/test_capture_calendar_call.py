"""Meeting and call normalisation from the neutral shapes the connectors produce."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncd.capture.addresses import InternalParties
from syncd.capture.keys import call_key, meeting_key
from syncd.capture.normalize import Origin, normalize
from syncd.capture.normalize_calendar import normalize_meeting
from syncd.capture.normalize_call import normalize_call
from syncd.model import Call, Direction, Meeting, Role, Skip, SkipReason

ORIGIN = Origin(
    "gcal", "rep@acme.example", InternalParties.build(["acme.example"]), default_region="US"
)


def event(**kw: object) -> dict:
    base: dict = {
        "id": "evt1",
        "uid": "UID-1@google.com",
        "start": {"dateTime": "2026-03-09T10:00:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2026-03-09T11:00:00", "timeZone": "Europe/Paris"},
        "summary": "Demo",
        "organizer": {"email": "Rep@acme.example", "displayName": "Rep"},
        "attendees": [
            {"email": "rep@acme.example", "responseStatus": "accepted"},
            {"email": "cto@customer.example", "responseStatus": "needsAction"},
            {
                "emailAddress": {"address": "cfo@customer.example", "name": "CFO"},
                "status": {"response": "tentativelyAccepted"},
            },
        ],
    }
    return base | kw


def test_google_shape_with_zone() -> None:
    meeting = normalize_meeting(event(), ORIGIN)
    assert isinstance(meeting, Meeting)
    assert meeting.start == datetime(2026, 3, 9, 9, tzinfo=UTC)
    assert meeting.occurred_at == meeting.start
    assert meeting.key == meeting_key("uid-1@google.com")
    assert meeting.direction is Direction.OUTBOUND
    assert [(p.role, p.address, p.response) for p in meeting.participants] == [
        (Role.ORGANIZER, "rep@acme.example", None),
        (Role.ATTENDEE, "cto@customer.example", "needs-action"),
        (Role.ATTENDEE, "cfo@customer.example", "tentative"),
    ]


def test_all_day_recurring_instance_and_cancelled() -> None:
    meeting = normalize_meeting(
        event(
            start={"date": "2026-03-09"},
            end={"date": "2026-03-10"},
            recurrence_id="2026-03-09",
            status="cancelled",
        ),
        ORIGIN,
    )
    assert isinstance(meeting, Meeting)
    assert meeting.all_day and meeting.cancelled
    assert meeting.recurrence_instance == datetime(2026, 3, 9, tzinfo=UTC)
    # A date-only RECURRENCE-ID is the instance's midnight UTC, as all-day starts are.
    assert meeting.key == meeting_key("UID-1@google.com", datetime(2026, 3, 9, tzinfo=UTC))
    assert meeting.key != meeting_key("UID-1@google.com")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"uid": ""}, SkipReason.NO_UID),
        ({"start": "2026-03-09T10:00:00"}, SkipReason.UNPARSEABLE),
        (
            {"start": {"dateTime": "2026-03-09T10:00:00", "timeZone": "Mars/Olympus"}},
            SkipReason.UNPARSEABLE,
        ),
        ({"start": "soon"}, SkipReason.UNPARSEABLE),
        ({"organizer": None, "attendees": []}, SkipReason.NO_PARTICIPANTS),
    ],
)
def test_meeting_skips(change: dict, reason: SkipReason) -> None:
    result = normalize_meeting(event(**change), ORIGIN)
    assert isinstance(result, Skip) and result.reason is reason


def test_unknown_visibility_reads_as_private() -> None:
    meeting = normalize_meeting(event(visibility="weird"), ORIGIN)
    assert isinstance(meeting, Meeting) and meeting.visibility == "private"


def test_call_inbound_and_epoch_time() -> None:
    call = normalize(
        "call",
        {
            "provider": "RingCentral",
            "call_id": "s-9",
            "started_at": 1772700000,
            "direction": "inbound",
            "from": "(415) 555-0100",
            "to": "+1 212 555 0199",
            "disposition": "Answered",
            "duration_seconds": 30.7,
        },
        ORIGIN,
    )
    assert isinstance(call, Call)
    assert call.key == call_key("ringcentral", "s-9")
    assert call.occurred_at == datetime.fromtimestamp(1772700000, tz=UTC)
    caller, callee = call.participants
    assert caller.phone == "+14155550100" and caller.address is None
    assert callee.address == "rep@acme.example"
    assert call.duration_seconds == 30


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (
            {"call_id": "1", "started_at": "2026-03-09T10:00:00Z", "direction": "inbound"},
            SkipReason.NO_CALL_ID,
        ),
        (
            {
                "provider": "x",
                "call_id": "1",
                "started_at": "2026-03-09T10:00:00",
                "direction": "inbound",
            },
            SkipReason.NO_DATE,
        ),
        (
            {
                "provider": "x",
                "call_id": "1",
                "started_at": "2026-03-09T10:00:00Z",
                "direction": "sideways",
            },
            SkipReason.UNPARSEABLE,
        ),
        (
            {
                "provider": "x",
                "call_id": "1",
                "started_at": "2026-03-09T10:00:00Z",
                "direction": "inbound",
                "duration_seconds": "long",
            },
            SkipReason.UNPARSEABLE,
        ),
    ],
)
def test_call_skips(record: dict, reason: SkipReason) -> None:
    result = normalize_call(record, ORIGIN)
    assert isinstance(result, Skip) and result.reason is reason


def test_unreadable_number_is_left_out() -> None:
    call = normalize_call(
        {
            "provider": "x",
            "call_id": "1",
            "started_at": "2026-03-09T10:00:00Z",
            "direction": "outbound",
            "to": "not a number",
        },
        ORIGIN,
    )
    assert isinstance(call, Call) and call.participants[1].phone is None
