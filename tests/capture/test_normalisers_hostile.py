"""Property tests: no email, calendar or mbox item raises, whatever its dates and headers.

Each normaliser (RFC 822 bytes, the Gmail and Graph header mappings, Graph messages, Google
and Graph calendar events, the mbox importer) is fed dates of years 1 to 9999 at offsets up
to ±23:59 in its vendor's format, missing and duplicated headers, huge and empty values.
Every item must come back an Activity or a named Skip: the pass can always go on.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile_strategies import epochs, iso_times, rfc5322_dates, texts

from connectors._graph_calendar_cursor import CalendarCursor
from connectors.base import ConnectorContext
from connectors.gmail import normalize_message
from connectors.google_calendar import GoogleCalendarConnector, GoogleCalendarSettings
from connectors.mbox import MboxConnector, MboxSettings
from connectors.outlook_calendar import OutlookCalendarConnector, OutlookCalendarSettings
from connectors.outlook_mail import OutlookMailConnector, OutlookMailSettings
from syncd.capture.normalize import Origin
from syncd.capture.normalize_email import normalize_email
from syncd.config import CaptureConfig
from syncd.model import Activity, Skip, SkipReason

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MAILBOX = "rep@acme.example"
ORIGIN = Origin(source="t", mailbox=MAILBOX, capture_body=True, now=NOW)
CONTEXT = ConnectorContext(
    clock=lambda: NOW, capture=CaptureConfig(internal_domains=["acme.example"])
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

addresses = st.one_of(
    st.sampled_from(["buyer@globex.com", "Rep <rep@acme.example>", "undisclosed-recipients:;"]),
    texts,
)
header_names = st.sampled_from(
    ["From", "To", "Cc", "Subject", "Date", "Message-ID", "References", "In-Reply-To",
     "List-Id", "Content-Type", "X-Odd"]
)  # fmt: skip


@st.composite
def headers(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Headers in any order, any missing, any repeated; dates in every form."""
    found: list[tuple[str, str]] = []
    for name in draw(st.lists(header_names, max_size=12)):
        if name == "Date":
            found.append((name, draw(rfc5322_dates())))
        elif name in {"From", "To", "Cc"}:
            found.append((name, draw(addresses)))
        else:
            found.append((name, draw(texts)))
    return found


def as_bytes(found: list[tuple[str, str]], body: str) -> bytes:
    head = "".join(f"{n}: {v}\r\n" for n, v in found)
    return (head + "\r\n" + body).encode("utf-8", "surrogateescape")


def ended(result: Any) -> bool:
    return isinstance(result, Activity | Skip)


@SETTINGS
@given(headers(), texts)
def test_rfc822_bytes_never_raise(found: list[tuple[str, str]], body: str) -> None:
    assert ended(normalize_email(as_bytes(found, body), ORIGIN, source_id="1"))


@SETTINGS
@given(headers(), st.one_of(st.none(), st.builds(str, epochs), texts))
def test_gmail_messages_never_raise(found: list[tuple[str, str]], internal: Any) -> None:
    message = {
        "id": "m1",
        "labelIds": ["INBOX"],
        "internalDate": internal,
        "payload": {"headers": [{"name": n, "value": v} for n, v in found]},
    }
    result = normalize_message(message, CONTEXT.origin("g", MAILBOX), "m1")
    assert ended(result)


def graph_address(value: str) -> dict[str, Any]:
    return {"emailAddress": {"address": value, "name": value[:20]}}


@SETTINGS
@given(
    st.fixed_dictionaries(
        {"id": texts, "subject": texts, "internetMessageId": texts, "sentDateTime": iso_times(),
         "receivedDateTime": iso_times(),
         "from": st.builds(graph_address, addresses),
         "toRecipients": st.lists(st.builds(graph_address, addresses), max_size=5),
         "internetMessageHeaders": st.lists(
             st.fixed_dictionaries({"name": header_names, "value": rfc5322_dates()}), max_size=4)}
    )
)  # fmt: skip
def test_graph_messages_never_raise(message: dict[str, Any]) -> None:
    outlook = OutlookMailConnector(
        OutlookMailSettings(type="outlook_mail", name="o", tenant_id="t", client_id="c",
                            mailboxes=[MAILBOX], client_secret_env="UNUSED"),
        CONTEXT,
    )  # fmt: skip
    activities, skips = outlook.normalise(MAILBOX, "inbox", [message, "not an object"])
    assert len(activities) + len(skips) == 2


when_google = st.one_of(
    st.fixed_dictionaries({"dateTime": iso_times()}),
    st.fixed_dictionaries({"dateTime": iso_times(), "timeZone": st.sampled_from(
        ["Europe/Paris", "Pacific/Kiritimati", "Nowhere/City", ""])}),
    st.fixed_dictionaries({"date": iso_times()}),
    texts,
)  # fmt: skip
people = st.lists(st.fixed_dictionaries({"email": addresses, "responseStatus": texts}), max_size=5)


@SETTINGS
@given(
    st.fixed_dictionaries(
        {"id": texts, "iCalUID": texts, "start": when_google, "end": when_google,
         "originalStartTime": st.one_of(st.none(), when_google), "summary": texts,
         "organizer": st.fixed_dictionaries({"email": addresses}), "attendees": people,
         "status": st.sampled_from(["confirmed", "cancelled", "tentative", "odd"])}
    )
)  # fmt: skip
def test_google_calendar_events_never_raise(event: dict[str, Any]) -> None:
    calendar = GoogleCalendarConnector(
        GoogleCalendarSettings(type="google_calendar", name="gc", mailboxes=[MAILBOX],
                               service_account_key_env="UNUSED"), CONTEXT,
    )  # fmt: skip
    activities, skips = calendar._normalize(MAILBOX, [event, 7], 0, 2**33)
    assert len(activities) + len(skips) == 2


when_graph = st.one_of(
    st.fixed_dictionaries({"dateTime": iso_times(), "timeZone": st.sampled_from(
        ["UTC", "Pacific Standard Time", "Dateline Standard Time", "Nowhere"])}),
    texts,
)  # fmt: skip


@SETTINGS
@given(
    st.fixed_dictionaries(
        {"id": texts, "iCalUId": texts, "start": when_graph, "end": when_graph,
         "isAllDay": st.booleans(), "subject": texts,
         "organizer": st.builds(graph_address, addresses),
         "attendees": st.lists(st.builds(graph_address, addresses), max_size=5)}
    )
)  # fmt: skip
def test_graph_calendar_events_never_raise(event: dict[str, Any]) -> None:
    calendar = OutlookCalendarConnector(
        OutlookCalendarSettings(type="outlook_calendar", name="oc", tenant_id="t",
                                client_id="c", mailboxes=[MAILBOX],
                                client_secret_env="UNUSED"), CONTEXT,
    )  # fmt: skip
    activities, skips = calendar._normalise(MAILBOX, CalendarCursor(), [event, None])
    assert len(activities) + len(skips) == 2


from_lines = st.one_of(
    st.builds(
        lambda d, z: f"From x@y {d:%a %b %d %H:%M:%S} {d.year:04d}" + (f" {z}" if z else ""),
        st.datetimes(),
        st.sampled_from(["", "-1200", "+2359", "-2359", "+0000"]),
    ),
    st.just("From "),
    st.builds(lambda t: "From " + t.replace("\n", " "), st.text(max_size=80)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(from_lines, headers(), texts), min_size=1, max_size=4))
def test_every_mbox_message_ends_an_activity_or_a_named_skip(
    messages: list[tuple[str, list[tuple[str, str]], str]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.mbox"
        with path.open("wb") as handle:
            for from_line, found, body in messages:
                data = as_bytes(found, body.replace("\nFrom ", "\n>From "))
                handle.write(from_line.encode("utf-8", "replace") + b"\n" + data + b"\n")
        settings_ = MboxSettings(type="mbox", name="m", path=str(path), mailbox=MAILBOX,
                                 since=date.min)  # fmt: skip
        connector = MboxConnector(settings_, CONTEXT)
        batch = connector.pull(MAILBOX, None, limit=100)
        # A header line starting "From " inside a message splits it: count what the file holds.
        starts = path.read_bytes().count(b"\nFrom ") + 1
        assert len(batch.activities) + len(batch.skips) == starts
        assert not batch.more


def one(date: str, received: datetime | None = None) -> Any:
    raw = f"From: a@globex.com\r\nTo: {MAILBOX}\r\nDate: {date}\r\n\r\n".encode()
    return normalize_email(raw, ORIGIN, source_id="1", received_at=received)


def test_a_four_digit_year_is_read_as_written_never_as_two_digits() -> None:
    assert one("Mon, 1 Jan 0001 12:00:00 +0000").occurred_at == datetime(1, 1, 1, 12, tzinfo=UTC)
    assert one("Tue, 1 Jan 0099 00:00:00 +0000").occurred_at.year == 99
    assert one("1 Jan 99 00:00:00 +0000").occurred_at.year == 1999  # RFC 5322 obs-year
    edge = one("Mon, 1 Jan 0001 00:00:00 +2359")  # before year 1 in UTC: no usable date
    assert isinstance(edge, Skip) and edge.reason is SkipReason.NO_DATE


def test_a_date_beyond_a_day_ahead_takes_the_received_time_or_is_a_named_skip() -> None:
    received = NOW - timedelta(minutes=5)
    assert one("Wed, 11 Mar 2026 11:00:00 +0000").occurred_at.day == 11  # 23 hours: skew
    taken = one("Fri, 31 Dec 9999 23:59:59 -1200", received)
    assert taken.occurred_at == received
    assert "date_in_future" in taken.parse_notes
    skipped = one("Thu, 12 Mar 2026 12:00:00 +0000")
    assert isinstance(skipped, Skip) and skipped.reason is SkipReason.FUTURE_DATE
