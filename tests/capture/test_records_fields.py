"""What is written: Task and Event fields, Salesforce's lengths and formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_match_world import WHEN, call, email, meeting, person

from syncd.capture.match import Match
from syncd.capture.org_rules import OrgRules
from syncd.capture.records import (
    DESCRIPTION_MAX,
    KEY_FIELD,
    SUBJECT_MAX,
    fields_for,
    sobject_for,
    subject_for,
)
from syncd.model import Role

MATCHED = Match(owner_id="005R", who_id="003A", who_type="Contact", what_id="006A",
                what_type="Opportunity", people=("003A",))  # fmt: skip


def units(text: str) -> int:
    """Length as Salesforce counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


# -- subjects ----------------------------------------------------------------------------------


def test_subject_prefixes_by_kind() -> None:
    assert subject_for(email(subject="  Pricing  ")) == "Email: Pricing"
    assert subject_for(meeting(subject="Demo")) == "Demo"
    assert subject_for(meeting(subject="Demo", cancelled=True)) == "Canceled: Demo"
    assert subject_for(call("+14155550100", subject="Renewal")) == "Call: Renewal"


def test_empty_subjects_get_a_readable_default() -> None:
    assert subject_for(email(subject="   ")) == "Email: (no subject)"
    assert subject_for(meeting(subject="", cancelled=True)) == "Canceled: (no subject)"
    assert subject_for(call("+14155550100")) == "Outbound call"
    assert subject_for(call("+14155550100", call_direction="inbound")) == "Inbound call"


@pytest.mark.parametrize("unit", ["x", "é", "日", "😀", "👩‍👩‍👧", "𠮟a"])
def test_long_subjects_are_cut_to_255_salesforce_characters(unit: str) -> None:
    subject = unit * 400
    for activity in (email(subject=subject), meeting(subject=subject, cancelled=True)):
        written = subject_for(activity)
        assert units(written) <= SUBJECT_MAX
        assert units(written) >= SUBJECT_MAX - 2  # cut, not emptied
        assert written.endswith("…")
        written.encode("utf-8")  # no half surrogate pair left behind


def test_a_subject_that_fits_exactly_is_not_cut() -> None:
    prefix = "Email: "
    subject = "a" * (SUBJECT_MAX - len(prefix))
    assert subject_for(email(subject=subject)) == prefix + subject
    assert subject_for(email(subject=subject + "b")).endswith("…")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400), st.sampled_from(["email", "meeting", "call"]), st.booleans())
def test_any_subject_fits_and_keeps_its_start(text: str, kind: str, cancelled: bool) -> None:
    if kind == "email":
        activity, prefix = email(subject=text), "Email: "
    elif kind == "meeting":
        activity, prefix = meeting(subject=text, cancelled=cancelled), "Canceled: " * cancelled
    else:
        activity, prefix = call("+14155550100", subject=text), "Call: "
    written = subject_for(activity)
    assert 0 < units(written) <= SUBJECT_MAX
    stripped = text.strip()
    if not stripped:
        return
    assert written.startswith(prefix)
    rest = written[len(prefix) :]
    if units(prefix + stripped) <= SUBJECT_MAX:
        assert rest == stripped  # fits: kept whole
    else:
        assert rest.endswith("…") and stripped.startswith(rest[:-1])


# -- tasks -------------------------------------------------------------------------------------


def test_email_task_fields() -> None:
    row = fields_for(email(person(Role.TO, "a@acme.com"), key="em:abc"), MATCHED)
    assert row == {
        KEY_FIELD: "em:abc",
        "Subject": "Email: Pricing",
        "WhoId": "003A",
        "WhatId": "006A",
        "OwnerId": "005R",
        "Status": "Completed",
        "Priority": "Normal",
        "ActivityDate": "2026-03-10",
        "TaskSubtype": "Email",
    }
    assert sobject_for(email()) == "Task"


def test_activity_date_is_the_utc_day() -> None:
    late = datetime(2026, 3, 10, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert fields_for(email(when=late), MATCHED)["ActivityDate"] == "2026-03-11"


def test_missing_match_parts_are_left_out_not_sent_empty() -> None:
    account_only = Match(what_id="001A", what_type="Account")
    row = fields_for(email(), account_only)
    assert row["WhatId"] == "001A"
    assert "WhoId" not in row and "OwnerId" not in row


def test_call_task_fields() -> None:
    row = fields_for(call("+14155550100", duration=3725, disposition="Left voicemail"), MATCHED)
    assert sobject_for(call("+14155550100")) == "Task"
    assert row["TaskSubtype"] == "Call"
    assert row["CallType"] == "Outbound"
    assert row["CallDurationInSeconds"] == 3725
    assert row["CallDisposition"] == "Left voicemail"
    assert row["Status"] == "Completed" and row["ActivityDate"] == "2026-03-10"
    inbound = fields_for(call("+1", call_direction="inbound", duration=-5), MATCHED)
    assert inbound["CallType"] == "Inbound" and inbound["CallDurationInSeconds"] == 0
    assert "CallDisposition" not in inbound
    long = fields_for(call("+1", disposition="d" * 300), MATCHED)["CallDisposition"]
    assert units(long) <= 255
    assert "Description" not in row  # no recording link unless the connector passed one


def test_a_recording_link_the_connector_passed_goes_in_the_description() -> None:
    recorded = call("+14155550100").replace(recording_url="https://rec.example/r/1")
    assert fields_for(recorded, MATCHED)["Description"] == "Recording: https://rec.example/r/1"


# -- events ------------------------------------------------------------------------------------


def test_timed_event_is_in_utc_with_the_salesforce_format() -> None:
    start = datetime(2026, 3, 10, 9, 5, 7, 999_000, tzinfo=ZoneInfo("Europe/Berlin"))
    row = fields_for(
        meeting(start=start, end=start + timedelta(minutes=45), location="Room 1"), MATCHED
    )
    assert sobject_for(meeting()) == "Event"
    assert row["IsAllDayEvent"] is False
    assert row["StartDateTime"] == "2026-03-10T08:05:07.000+0000"
    assert row["EndDateTime"] == "2026-03-10T08:50:07.000+0000"
    assert row["Location"] == "Room 1" and row["ShowAs"] == "Busy"
    assert "ActivityDate" not in row and "DurationInMinutes" not in row
    assert "TaskSubtype" not in row and "Status" not in row
    # The format parses back to the same instant.
    parsed = datetime.strptime(row["StartDateTime"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert parsed == start.replace(microsecond=0)


@pytest.mark.parametrize(("days", "minutes"), [(1, 1440), (3, 4320)])
def test_all_day_event_has_a_date_and_whole_days(days: int, minutes: int) -> None:
    start = datetime(2026, 3, 10, tzinfo=UTC)
    row = fields_for(
        meeting(all_day=True, start=start, end=start + timedelta(days=days)),
        MATCHED,
        OrgRules(multiday_events=True),
    )
    assert row["IsAllDayEvent"] is True
    assert row["ActivityDate"] == "2026-03-10"
    assert row["DurationInMinutes"] == minutes
    assert "StartDateTime" not in row and "EndDateTime" not in row


def test_all_day_event_without_an_end_day_lasts_one_day() -> None:
    start = datetime(2026, 3, 10, tzinfo=UTC)
    row = fields_for(meeting(all_day=True, start=start, end=start), MATCHED)
    assert row["DurationInMinutes"] == 1440


def test_cancelled_event_shows_as_free() -> None:
    row = fields_for(meeting(cancelled=True), MATCHED)
    assert row["ShowAs"] == "Free" and row["Subject"].startswith("Canceled: ")


def test_long_location_is_cut() -> None:
    row = fields_for(meeting(location="🏢" * 300), MATCHED)
    assert units(row["Location"]) <= 255


# -- bodies ------------------------------------------------------------------------------------


def test_description_only_when_there_is_a_body() -> None:
    assert "Description" not in fields_for(email(), MATCHED)
    assert "Description" not in fields_for(email(body=""), MATCHED)
    assert fields_for(email(body="Hi Jo"), MATCHED)["Description"] == "Hi Jo"
    assert fields_for(meeting(), MATCHED).get("Description") is None


@pytest.mark.parametrize("unit", ["a", "😀"])
def test_description_is_cut_to_32000(unit: str) -> None:
    body = unit * 40_000
    description = fields_for(email(body=body), MATCHED)["Description"]
    assert DESCRIPTION_MAX - 2 <= units(description) <= DESCRIPTION_MAX
    exact = "b" * DESCRIPTION_MAX
    assert fields_for(email(body=exact), MATCHED)["Description"] == exact


def test_when_constant_is_utc() -> None:
    # The builders' default instant: the expected dates above are computed from it.
    assert WHEN.tzinfo is UTC and WHEN.date().isoformat() == "2026-03-10"
