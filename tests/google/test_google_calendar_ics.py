"""The real Google Calendar export, loaded into the sandbox, captured into Salesforce.

Every event of the export with an external attendee inside the window (recurrences expanded
there) becomes exactly one Salesforce Event with the right start and end in UTC. The expected
set is computed independently from the .ics with ``recurring_ical_events``; the sandbox uses
its own expansion (dateutil) and the connector Google's event shape. Private, cancelled and
declined events are left out of both (the privacy rules skip them).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest
import recurring_ical_events
from capture_helpers import directory_users
from google_helpers import FakeClock, calendar_connector
from sf_helpers import make_client, org_with_key_field

from sandbox.google import GoogleSandbox
from sandbox.google.ics import load_ics
from syncd.capture.org_rules import OrgRules, rep_zones
from syncd.capture.privacy import PrivacyRules
from syncd.capture.runner import Runner
from syncd.config import CaptureConfig
from syncd.salesforce.directory import Directory
from syncd.salesforce.writer import ActivityWriter
from syncd.state import Store

EXPORT = Path(__file__).resolve().parents[3] / "shared" / "data" / "calendar"
ICS = EXPORT / "google_calendar_export.ics"
OWNER = "gabi@gmail.com"
SINCE = datetime(2013, 1, 1, tzinfo=UTC)
NOW = datetime(2017, 1, 1, tzinfo=UTC)


def _addresses(prop: Any) -> list[tuple[str, str]]:
    items = prop if isinstance(prop, list) else [prop] if prop is not None else []
    return [
        (str(a).lower().removeprefix("mailto:"), str(a.params.get("PARTSTAT", "")).upper())
        for a in items
    ]


def expected(calendar: icalendar.Calendar) -> tuple[list[tuple[datetime, datetime]], set[str]]:
    """(start, end) in UTC of every capturable event in the window; the external addresses."""
    found: list[tuple[datetime, datetime]] = []
    guests: set[str] = set()
    for event in recurring_ical_events.of(calendar).between(SINCE, NOW):
        people = _addresses(event.get("ATTENDEE"))
        organizer = _addresses(event.get("ORGANIZER"))
        # The organizer is a participant too: a meeting a customer organised counts.
        external = [a for a, _ in people + organizer if a != OWNER]
        if not external or str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if str(event.get("CLASS", "")).upper() in ("PRIVATE", "CONFIDENTIAL"):
            continue
        if any(a == OWNER and stat == "DECLINED" for a, stat in people):
            continue
        start, end = event["DTSTART"].dt, event["DTEND"].dt
        assert isinstance(start, datetime), "the window holds no all-day event with guests"
        found.append((start.astimezone(UTC), end.astimezone(UTC)))
        guests.update(external)
    return sorted(found), guests


def _utc(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def test_the_real_export_becomes_one_event_per_meeting_with_utc_times(tmp_path: Path) -> None:
    if not ICS.is_file():
        pytest.skip(f"real Google Calendar export not present at {ICS}")
    data = ICS.read_bytes()
    # Parsed once (it is the slow part); the sandbox and the expectation read it independently.
    parsed = icalendar.Calendar.from_ical(data)
    want, guests = expected(parsed)
    assert want, "the window must hold meetings with external attendees"
    clock = FakeClock(NOW)
    with org_with_key_field() as sf, GoogleSandbox(clock=clock) as google:
        google.add_user(OWNER)
        loaded = load_ics(google.calendar, OWNER, parsed)
        assert loaded == data.count(b"BEGIN:VEVENT")
        sf.insert("User", [{"Username": OWNER, "Email": OWNER, "LastName": "Gabi",
                            "IsActive": True}])  # fmt: skip
        # The export's addresses are anonymised ("x@lisbon"): Salesforce refuses those as
        # Contact emails, so the guests' domains are Accounts' websites (domain matching) and
        # the well-formed addresses are also Contacts.
        domains = sorted({g.split("@")[1] for g in guests})
        sf.insert("Account", [{"Name": d, "Website": d} for d in domains])
        valid = sorted(g for g in guests if "." in g.split("@")[1] and not g.startswith("."))
        sf.insert("Contact", [{"LastName": g.split("@")[0], "Email": g} for g in valid])
        client = make_client(sf)
        store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
        try:
            directory = Directory.load(client)
            rules = PrivacyRules.from_capture(
                CaptureConfig(internal_domains=[]), directory_users(directory)
            )
            # The export holds meetings over 24 hours: a multi-day events org keeps them whole.
            sf.set_multiday_events(True)
            org = OrgRules(zone_of=rep_zones(directory), multiday_events=True)
            runner = Runner(store, ActivityWriter(client), directory, rules, org=org)
            connector = calendar_connector(
                google, tmp_path / "g", (OWNER,), clock, internal=(), since=SINCE,
                lookahead_days=0,
            )  # fmt: skip
            result = runner.run(connector, OWNER)
            again = runner.run(connector, OWNER)
        finally:
            store.close()
            client.close()
        events = sf.records("Event")
    got = sorted((_utc(e["StartDateTime"]), _utc(e["EndDateTime"])) for e in events)
    assert got == want
    assert len({e["Syncd_Key__c"] for e in events}) == len(events)
    assert result.outcomes["written"] == len(want)
    assert again.outcomes.get("written", 0) == 0
    assert date(2013, 1, 1) <= got[0][0].date()
