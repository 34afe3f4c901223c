"""Google Calendar: instances, all-day events, zones, 410 recovery and cancellation end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from capture_helpers import NOW, REPS, directory_users, seed
from google_helpers import FakeClock, calendar_connector, meeting
from sf_helpers import make_client, org_with_key_field

from connectors.google_calendar import GoogleCalendarConnector
from sandbox.google import GoogleSandbox
from syncd.capture.privacy import PrivacyRules
from syncd.capture.runner import Runner
from syncd.config import CaptureConfig
from syncd.errors import CursorExpired
from syncd.model import Meeting
from syncd.salesforce.directory import Directory
from syncd.salesforce.writer import ActivityWriter
from syncd.state import Store

REP = REPS[0]


def pull_all(connector: GoogleCalendarConnector, cursor: str | None) -> tuple[list[Meeting], str]:
    found: list[Meeting] = []
    for _ in range(1000):
        batch = connector.pull(REP, cursor)
        found += [a for a in batch.activities if isinstance(a, Meeting)]
        assert batch.next_cursor is not None
        cursor = batch.next_cursor
        if not batch.more:
            return found, cursor
    raise AssertionError("never finished")


@pytest.fixture
def google() -> Iterator[GoogleSandbox]:
    with GoogleSandbox(clock=FakeClock(NOW)) as sb:
        sb.add_user(REP)
        yield sb


def test_recurring_meetings_are_captured_per_instance_across_a_dst_change(
    google: GoogleSandbox, tmp_path: Path
) -> None:
    # Weekly at 09:00 New York from 19 Oct 2026: US clocks go back on 1 Nov.
    series = meeting(1, REP, NOW, zone="America/New_York")
    series["start"] = {"dateTime": "2026-10-19T09:00:00-04:00", "timeZone": "America/New_York"}
    series["end"] = {"dateTime": "2026-10-19T09:30:00-04:00", "timeZone": "America/New_York"}
    exdate = "EXDATE;TZID=America/New_York:20261026T090000"
    series["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=4", exdate]
    google.calendar.add_event(REP, series)
    connector = calendar_connector(google, tmp_path, (REP,), FakeClock(NOW), lookahead_days=30)
    found, _ = pull_all(connector, None)
    starts = sorted(m.start for m in found)
    # 19 Oct (EDT, UTC-4), 26 Oct excluded, 2 Nov and 9 Nov (EST after 1 Nov, UTC-5).
    assert starts == [
        datetime(2026, 10, 19, 13, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
        datetime(2026, 11, 9, 14, 0, tzinfo=UTC),
    ]
    assert len({m.key for m in found}) == 3
    assert all(m.recurrence_instance is not None for m in found)


def test_all_day_events_keep_their_date(google: GoogleSandbox, tmp_path: Path) -> None:
    event = meeting(2, REP, NOW)
    event["start"], event["end"] = {"date": "2026-11-18"}, {"date": "2026-11-19"}
    google.calendar.add_event(REP, event)
    found, _ = pull_all(calendar_connector(google, tmp_path, (REP,), FakeClock(NOW)), None)
    assert len(found) == 1 and found[0].all_day
    assert found[0].start.date() == date(2026, 11, 18)


def test_an_expired_sync_token_raises_cursor_expired(google: GoogleSandbox, tmp_path: Path) -> None:
    connector = calendar_connector(google, tmp_path, (REP,), FakeClock(NOW))
    _, cursor = pull_all(connector, None)
    google.calendar.expire_sync_tokens(REP)
    with pytest.raises(CursorExpired):
        connector.pull(REP, cursor)


@pytest.fixture
def world(tmp_path: Path, google: GoogleSandbox) -> Iterator[dict[str, Any]]:
    with org_with_key_field() as sf:
        seed(sf)
        client = make_client(sf)
        store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
        directory = Directory.load(client)
        rules = PrivacyRules.from_capture(
            CaptureConfig(internal_domains=["ourco.com"]), directory_users(directory)
        )
        runner = Runner(store, ActivityWriter(client), directory, rules)
        connector = calendar_connector(
            google, tmp_path / "g", (REP,), FakeClock(NOW), internal=("ourco.com",)
        )
        yield {"sf": sf, "store": store, "runner": runner, "connector": connector}
        store.close()
        client.close()


def test_expired_sync_token_and_cancellation_end_to_end(
    world: dict[str, Any], google: GoogleSandbox
) -> None:
    sf, runner, connector = world["sf"], world["runner"], world["connector"]
    guests = ("alice@globex.com",)
    ids = [
        google.calendar.add_event(REP, meeting(i, REP, NOW - timedelta(days=i + 1), guests=guests))
        for i in range(4)
    ]
    google.calendar.add_event(REP, meeting(10, REP, NOW - timedelta(days=2), guests=guests,
                                           visibility="private"))  # fmt: skip
    declined = meeting(11, REP, NOW - timedelta(days=3), guests=guests)
    declined["attendees"][0]["responseStatus"] = "declined"
    declined["organizer"] = {"email": "alice@globex.com"}
    google.calendar.add_event(REP, declined)
    first = runner.run(connector, REP)
    assert first.outcomes["written"] == 4
    assert first.outcomes["skipped:private_event"] == 1
    assert first.outcomes["skipped:declined"] == 1
    assert sf.count("Event") == 4

    # While the token is expired: two new meetings, one cancelled.
    for i in (4, 5):
        google.calendar.add_event(REP, meeting(i, REP, NOW - timedelta(hours=i), guests=guests))
    google.calendar.update_event(REP, ids[0], status="cancelled")
    google.calendar.expire_sync_tokens(REP)
    second = runner.run(connector, REP)
    assert second.resynced
    events = sf.records("Event")
    assert len(events) == 6 and len({e["Syncd_Key__c"] for e in events}) == 6
    state = world["store"].cursors.state(connector.name, REP)
    assert state is not None and state.resync_count == 1
    # The meeting cancelled during the gap was already written: it is re-written as cancelled.
    cancelled = [e for e in events if e["Subject"].startswith("Canceled: ")]
    assert [e["Subject"] for e in cancelled] == ["Canceled: Review 0"]
    assert cancelled[0]["ShowAs"] == "Free"
    # Written: the 2 new meetings and the cancelled one re-written; the other 3 were already.
    assert second.outcomes["written"] == 3 and second.outcomes["already_written"] == 3

    # Incremental again: a cancelled meeting never written is skipped, not created.
    lone = google.calendar.add_event(REP, meeting(20, REP, NOW - timedelta(hours=1),
                                                  guests=guests, status="cancelled"))  # fmt: skip
    assert lone
    third = runner.run(connector, REP)
    assert not third.resynced
    assert sf.count("Event") == 6
    assert third.outcomes["skipped:cancelled_unwritten"] == 1


def test_cancellations_cut_to_their_id_reach_salesforce_within_one_pass(
    world: dict[str, Any], google: GoogleSandbox
) -> None:
    sf, runner, connector = world["sf"], world["runner"], world["connector"]
    guests = ("alice@globex.com",)
    one_off = google.calendar.add_event(
        REP, meeting(30, REP, NOW - timedelta(days=1), guests=guests)
    )
    series = meeting(31, REP, NOW - timedelta(days=20), guests=guests)
    series["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=4"]
    master = google.calendar.add_event(REP, series)
    assert runner.run(connector, REP).outcomes["written"] == 5  # one-off + 4 instances
    token = google.calendar.list_events(REP, {"maxResults": ["2500"]})["nextSyncToken"]
    # The rep deletes the one-off and cancels the series' second instance (an exception).
    google.calendar.update_event(REP, one_off, status="cancelled")
    second = meeting(31, REP, NOW - timedelta(days=13), guests=guests)
    exception = {"id": f"{master}_x2", "recurringEventId": master, "status": "cancelled",
                 "originalStartTime": second["start"], "start": second["start"],
                 "end": second["end"]}  # fmt: skip
    google.calendar.add_event(REP, exception)
    # Google lists them cut to the documented minimum: nothing to key them by.
    listed = google.calendar.list_events(REP, {"syncToken": [token]})["items"]
    shapes = sorted(sorted(item) for item in listed)
    assert sorted(["id", "kind", "status"]) in shapes
    assert sorted(["id", "kind", "originalStartTime", "recurringEventId", "status"]) in shapes

    result = runner.run(connector, REP)
    assert result.outcomes["written"] == 2, result.outcomes
    events = sf.records("Event")
    assert len(events) == 5
    cancelled = sorted((e["Subject"], e["StartDateTime"][:16]) for e in events
                       if e["Subject"].startswith("Canceled: "))  # fmt: skip
    day = (NOW - timedelta(days=13)).strftime("%Y-%m-%dT%H:%M")
    assert [c[0] for c in cancelled] == ["Canceled: Review 30", "Canceled: Review 31"]
    assert cancelled[1][1] == day


def test_meetings_beyond_lookahead_are_captured_once_the_window_reaches_them(
    world: dict[str, Any], google: GoogleSandbox, tmp_path: Path
) -> None:
    sf, runner = world["sf"], world["runner"]
    clock = FakeClock(NOW)
    connector = calendar_connector(
        google, tmp_path / "roll", (REP,), clock, internal=("ourco.com",), lookahead_days=30
    )
    guests = ("alice@globex.com",)
    google.calendar.add_event(REP, meeting(40, REP, NOW + timedelta(days=10), guests=guests))
    far = google.calendar.add_event(REP, meeting(41, REP, NOW + timedelta(days=45), guests=guests))
    assert runner.run(connector, REP).outcomes["written"] == 1
    # Booked after the first sync, further ahead than the window: the sync token sends it now,
    # outside the window, and never again unless it changes.
    later = google.calendar.add_event(
        REP, meeting(42, REP, NOW + timedelta(days=50), guests=guests)
    )
    second = runner.run(connector, REP)
    assert second.outcomes["skipped:outside_window"] == 1 and sf.count("Event") == 1
    # 25 days on, the window reaches both far meetings: each is captured exactly once, and a
    # change made meanwhile to one of them is what gets written.
    clock.now = NOW + timedelta(days=25)
    google.calendar.update_event(REP, far, summary="Review 41 (moved agenda)")
    third = runner.run(connector, REP)
    subjects = sorted(e["Subject"] for e in sf.records("Event"))
    assert subjects == ["Review 40", "Review 41 (moved agenda)", "Review 42"], third.outcomes
    keys = [e["Syncd_Key__c"] for e in sf.records("Event")]
    assert len(set(keys)) == 3
    # A later change to a captured far meeting arrives by the kept sync token, as the same key.
    lists = google.methods["calendar.events.list"]
    google.calendar.update_event(REP, later, summary="Review 42 (final)")
    fourth = runner.run(connector, REP)
    assert fourth.outcomes["already_written"] == 1 and sf.count("Event") == 3, fourth.outcomes
    assert google.methods["calendar.events.list"] == lists + 1  # no new range listed again


def test_version_1_cursors_are_still_read(google: GoogleSandbox, tmp_path: Path) -> None:
    connector = calendar_connector(google, tmp_path, (REP,), FakeClock(NOW))
    token = google.calendar.list_events(REP, {"maxResults": ["10"]})["nextSyncToken"]
    google.calendar.add_event(REP, meeting(50, REP, NOW + timedelta(days=1)))
    batch = connector.pull(REP, f"gcal:1:sync:{token}|")
    assert [m.subject for m in batch.activities] == ["Review 50"]
    assert batch.next_cursor is not None and batch.next_cursor.startswith("gcal:2:sync:")
