"""Keys: the same item gets the same key whatever the mailbox, header order, case or spacing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.capture.keys import call_key, meeting_key, message_key, normalize_message_id
from syncd.capture.normalize import Origin
from syncd.capture.normalize_calendar import normalize_meeting
from syncd.capture.normalize_email import normalize_email
from syncd.model import Email, Meeting

ID_CHARS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789.-_$", min_size=1, max_size=30
)


@st.composite
def message_ids(draw: st.DrawFn) -> str:
    return f"{draw(ID_CHARS)}@{draw(ID_CHARS)}"


def vary(draw: st.DrawFn, text: str, *, brackets: bool = True) -> str:
    """The same id as another client might write it: case flipped, spaces, brackets."""
    flipped = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in text)
    pad = draw(st.sampled_from(["", " ", "\t", "  "]))
    if brackets and draw(st.booleans()):
        return f"{pad}<{flipped}>{pad}"
    return f"{pad}{flipped}{pad}"


@settings(max_examples=200, deadline=None)
@given(st.data(), message_ids())
def test_message_id_key_ignores_case_whitespace_and_brackets(data: st.DataObject, mid: str) -> None:
    variant = vary(data.draw, mid)
    assert message_key(variant) == message_key(mid)
    assert normalize_message_id(variant) == mid.lower()


@settings(max_examples=100, deadline=None)
@given(st.data(), message_ids(), st.permutations(range(5)))
def test_message_key_stable_under_header_reordering_and_mailbox(
    data: st.DataObject, mid: str, order: list[int]
) -> None:
    headers = [
        "From: Buyer <buyer@customer.example>",
        "To: a@acme.example, b@acme.example, c@acme.example",
        "Date: Tue, 03 Mar 2026 10:00:00 +0000",
        f"Message-ID: {vary(data.draw, mid)}",
        "Subject: Renewal",
    ]
    shuffled = "\r\n".join(headers[i] for i in order).encode() + b"\r\n\r\nbody"
    mailbox = data.draw(st.sampled_from(["a@acme.example", "b@acme.example", "c@acme.example"]))
    result = normalize_email(shuffled, Origin(source="gmail", mailbox=mailbox), source_id="x")
    assert isinstance(result, Email)
    assert result.key == message_key(mid)


def test_same_email_in_three_mailboxes_is_one_key() -> None:
    raw = (
        b"From: Buyer <buyer@customer.example>\r\nTo: a@acme.example, b@acme.example\r\n"
        b"Cc: c@acme.example\r\nDate: Tue, 03 Mar 2026 10:00:00 +0000\r\n"
        b"Message-ID: <thread-1@customer.example>\r\nSubject: Renewal\r\n\r\nhi"
    )
    results = [
        normalize_email(raw, Origin(source=src, mailbox=m), source_id=f"{m}-id")
        for src, m in [
            ("gmail", "a@acme.example"),
            ("gmail", "b@acme.example"),
            ("graph", "c@acme.example"),
        ]
    ]
    assert all(isinstance(r, Email) for r in results)
    assert len({r.key for r in results}) == 1
    assert len({r.source_id for r in results}) == 3


def test_missing_message_id_copies_converge_too() -> None:
    body = (
        "From: Buyer <Buyer@Customer.example>\r\nTo: a@acme.example\r\n"
        "Date: Tue, 03 Mar 2026 11:00:00 +0100\r\nSubject: {subject}\r\n\r\nhi"
    )
    a = normalize_email(
        body.format(subject="Renewal  terms").encode(), Origin("g", "a@acme.example"), source_id="1"
    )
    b = normalize_email(
        body.format(subject="renewal terms").encode(), Origin("g", "b@acme.example"), source_id="2"
    )
    assert isinstance(a, Email) and isinstance(b, Email)
    assert a.key == b.key and a.key.startswith("em:h:")
    other = normalize_email(
        body.format(subject="Other").encode(), Origin("g", "a@acme.example"), source_id="3"
    )
    assert isinstance(other, Email) and other.key != a.key


@settings(max_examples=100, deadline=None)
@given(st.data(), message_ids(), st.integers(0, 4), st.booleans())
def test_meeting_key_stable_under_uid_case_and_spacing_across_calendars(
    data: st.DataObject, uid: str, calendar: int, recurring: bool
) -> None:
    start = datetime(2026, 3, 9, 15, tzinfo=UTC)
    event = {
        "uid": vary(data.draw, uid, brackets=False),
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        "organizer": {"email": "rep@acme.example"},
        "attendees": [{"email": f"cal{i}@acme.example"} for i in range(5)]
        + [{"email": "cto@customer.example"}],
        "recurrence_id": start.isoformat() if recurring else None,
    }
    meeting = normalize_meeting(event, Origin("gcal", f"cal{calendar}@acme.example"))
    assert isinstance(meeting, Meeting)
    expected = meeting_key(uid, start if recurring else None)
    assert meeting.key == expected


def test_rescheduled_single_meeting_keeps_its_key_instances_differ() -> None:
    assert meeting_key("u1") == meeting_key(" U1 ")
    first = datetime(2026, 3, 9, 15, tzinfo=UTC)
    second = first + timedelta(days=7)
    assert meeting_key("u1", first) != meeting_key("u1", second)
    assert meeting_key("u1", first) != meeting_key("u1")
    # The same instant written in another zone is the same instance.
    paris = first.astimezone(ZoneInfo("Europe/Paris"))
    assert paris.hour == 16
    assert meeting_key("u1", paris) == meeting_key("u1", first)
    assert meeting_key("u1", date(2026, 3, 9)) != meeting_key("u1", date(2026, 3, 10))


def test_call_keys_and_length_bound() -> None:
    assert call_key("Aircall", " 123 ") == "cl:aircall:123"
    long = call_key("zoom_phone", "x" * 400)
    assert len(long) <= 255 and long.startswith("cl:zoom_phone:h:")
    assert long == call_key("zoom_phone", "x" * 400)


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=2000))
def test_every_message_key_fits_the_field(mid: str) -> None:
    key = message_key(mid)
    assert key is None or (len(key) <= 255 and key.startswith("em:"))
