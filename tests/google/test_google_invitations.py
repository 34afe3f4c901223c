"""Invitations in mail and .ics files, on the real Google Calendar export in ../shared/data.

Every VEVENT of the export becomes a meeting or a named skip through the ``ics`` import; mails
carrying those VEVENTs as ``text/calendar; method=REQUEST`` (or CANCEL) are meetings with the
same keys, and the Google Calendar connector keys the same events identically: one meeting,
one record, whichever way it is seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
import pytest
from google_helpers import FakeClock, calendar_connector

from connectors.base import ConnectorContext
from connectors.ics_file import IcsConnector, IcsSettings
from connectors.mbox import MboxConnector, MboxSettings
from sandbox.google import GoogleSandbox
from sandbox.google.ics import load_ics
from syncd.config import CaptureConfig
from syncd.model import Activity, Email, Meeting, Skip, SkipReason

EXPORT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "calendar"
EXPORT_FILE = EXPORT / "google_calendar_export.ics"
REP = "gabi@gmail.com"  # the export's own attendee: the mailbox it came from
SINCE = date(2000, 1, 1)


@pytest.fixture(scope="module")
def export() -> list[Any]:
    """Every VEVENT of the export as text, and the first 12 with attendees parsed.

    The export is parsed whole once, by the import under test; here it is only cut into its
    VEVENTs (parsing 4,778 of them again would double the test's time).
    """
    if not EXPORT_FILE.is_file():
        pytest.skip(f"no calendar export at {EXPORT_FILE} (../shared/data is absent)")
    text = EXPORT_FILE.read_bytes().replace(b"\r\n", b"\n")
    blocks = [b"BEGIN:VEVENT" + part.split(b"END:VEVENT")[0] + b"END:VEVENT\n"
              for part in text.split(b"BEGIN:VEVENT")[1:]]  # fmt: skip
    return blocks


def _with_attendees(blocks: list[bytes], n: int) -> list[Any]:
    chosen = []
    for block in blocks:
        if b"\nATTENDEE" in block:  # an email VALARM has ATTENDEEs too: parse to be sure
            event = icalendar.Event.from_ical(block)
            if event.get("ATTENDEE") is not None:
                chosen.append(event)
        if len(chosen) == n:
            break
    return chosen


def _context() -> ConnectorContext:
    return ConnectorContext(
        clock=lambda: datetime(2026, 3, 10, tzinfo=UTC),
        capture=CaptureConfig(internal_domains=["gmail.com"]),
    )


def _pull_all(connector: Any, mailbox: str) -> Iterator[Activity | Skip]:
    cursor = None
    while True:
        batch = connector.pull(mailbox, cursor)
        yield from batch.activities
        yield from batch.skips
        cursor = batch.next_cursor
        if not batch.more:
            return


@pytest.fixture(scope="module")
def imported(export: list[bytes]) -> dict[str, Any]:
    settings = IcsSettings(type="ics", name="ics", path=str(EXPORT_FILE), mailbox=REP, since=SINCE)
    items = list(_pull_all(IcsConnector(settings, _context()), REP))
    return {"items": items, "vevents": len(export)}


def test_every_vevent_of_the_export_becomes_a_meeting_or_a_named_skip(
    imported: dict[str, Any],
) -> None:
    items = imported["items"]
    assert len(items) == imported["vevents"] == 4778
    meetings = [i for i in items if isinstance(i, Meeting)]
    skips = [i for i in items if isinstance(i, Skip)]
    assert len(meetings) + len(skips) == len(items)
    assert all(isinstance(s.reason, SkipReason) for s in skips)
    assert len({m.key for m in meetings}) == len(meetings) > 300  # the 333 with attendees
    assert all(m.key.startswith("mt:") and m.ical_uid for m in meetings)


def _invitation(vevent: Any, method: str, n: int) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//syncd tests//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(vevent)
    mail = EmailMessage()
    mail["From"] = "organizer@globex.com"
    mail["To"] = REP
    mail["Subject"] = f"Invitation: {vevent.get('SUMMARY')}"
    mail["Date"] = "Tue, 10 Mar 2026 09:00:00 +0000"
    mail["Message-ID"] = f"<invite-{n}@globex.com>"
    mail.set_content("You are invited.")
    mail.add_alternative(calendar.to_ical(), maintype="text", subtype="calendar",
                         params={"method": method})  # fmt: skip
    return mail.as_bytes()


def test_invitations_in_mail_are_meetings_keyed_like_the_calendar_events(
    export: list[bytes], imported: dict[str, Any], tmp_path: Path
) -> None:
    chosen = _with_attendees(export, 12)
    mails = [_invitation(e, "REQUEST", n) for n, e in enumerate(chosen)]
    mails.append(_invitation(chosen[0], "CANCEL", 99))
    reply = _invitation(chosen[1], "REPLY", 98)  # an answer to an invitation: still an email
    plain = b"From: x@globex.com\nTo: gabi@gmail.com\nSubject: hi\nMessage-ID: <p@x>\n" + (
        b"Date: Tue, 10 Mar 2026 09:00:00 +0000\n\nhello\n"
    )
    mbox = tmp_path / "mail.mbox"
    with mbox.open("wb") as handle:
        for raw in [*mails, reply, plain]:
            handle.write(b"From organizer@globex.com Tue Mar 10 09:00:00 2026\n" + raw + b"\n")
    settings = MboxSettings(type="mbox", name="mbox", path=str(mbox), mailbox=REP, since=SINCE)
    items = list(_pull_all(MboxConnector(settings, _context()), REP))
    found = [i for i in items if isinstance(i, Meeting)]
    assert len(found) == 13 and sum(isinstance(i, Email) for i in items) == 2
    by_uid = {m.ical_uid: m.key for m in imported["items"] if isinstance(m, Meeting)}
    assert [m.key for m in found[:12]] == [by_uid[str(e["UID"])] for e in chosen]
    assert found[12].key == found[0].key and found[12].cancelled and not found[0].cancelled

    # The Google Calendar connector sees the same events under the same keys.
    with GoogleSandbox(clock=FakeClock(datetime(2026, 3, 10, tzinfo=UTC))) as google:
        google.add_user(REP)
        calendar = icalendar.Calendar()
        for vevent in chosen:
            calendar.add_component(vevent)
        load_ics(google.calendar, REP, calendar)
        connector = calendar_connector(
            google, tmp_path / "g", (REP,), FakeClock(datetime(2026, 3, 10, tzinfo=UTC)),
            internal=("gmail.com",), since=datetime(2000, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        seen = {a.key for a in _pull_all(connector, REP) if isinstance(a, Meeting)}
    assert {m.key for m in found[:12]} <= seen
