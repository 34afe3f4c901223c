"""Invitations: a mail's ``text/calendar`` part, or an ``.ics`` file → meetings keyed by iCalUID.

A mail whose ``text/calendar`` part says ``METHOD:REQUEST`` (an invitation or its update) or
``METHOD:CANCEL`` is a meeting, not an email: each VEVENT becomes a :class:`Meeting` keyed by
its UID and instance exactly as the calendar connectors key Events (RFC 5546 iTIP; the part is
``text/calendar; method=…``, https://www.rfc-editor.org/rfc/rfc6047), so the same meeting seen
in mail and in a calendar is one record. CANCEL marks the meeting cancelled. Other methods
(REPLY, COUNTER, PUBLISH, ...) are left to the email normaliser.

Keys: a VEVENT with RECURRENCE-ID is that instance; one with RRULE/RDATE is its series' first
instance (the calendar connectors' key for the instance starting at DTSTART); a one-off has no
instance. Date-times without a zone take the calendar's ``X-WR-TIMEZONE`` when it names one,
else the VEVENT cannot be placed in time and is skipped as ``unparseable``.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from syncd.capture.normalize import Origin
from syncd.capture.normalize_calendar import normalize_meeting
from syncd.capture.normalize_email import normalize_email
from syncd.model import Activity, Meeting, Skip, SkipReason

MEETING_METHODS = frozenset({"REQUEST", "CANCEL"})
_CLASS = {"PRIVATE": "private", "CONFIDENTIAL": "confidential", "PUBLIC": "public"}
#: ical parse errors are ValueError (and KeyError for broken components) in icalendar 6/7.
_ICAL_ERRORS = (ValueError, KeyError, TypeError, IndexError)


def _address(value: Any) -> str:
    text = str(value).strip()
    return text[7:] if text.lower().startswith("mailto:") else text


def _person(prop: Any) -> dict[str, Any]:
    params = getattr(prop, "params", {}) or {}
    return {"email": _address(prop), "name": params.get("CN"), "partstat": params.get("PARTSTAT")}


def _when(value: Any, zone: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None and zone is not None:
        return value.replace(tzinfo=zone)
    return value


def neutral_event(vevent: Any, *, method: str | None, zone: Any = None) -> dict[str, Any]:
    """One VEVENT → the neutral event dict :func:`normalize_meeting` reads."""
    start_prop = vevent.get("DTSTART")
    start = _when(start_prop.dt, zone) if start_prop is not None else None
    end: date | datetime | None = None
    if vevent.get("DTEND") is not None:
        end = _when(vevent["DTEND"].dt, zone)
    elif vevent.get("DURATION") is not None and start is not None:
        end = start + vevent["DURATION"].dt
    elif isinstance(start, date) and not isinstance(start, datetime):
        end = start + timedelta(days=1)
    instance = None
    if vevent.get("RECURRENCE-ID") is not None:
        instance = _when(vevent["RECURRENCE-ID"].dt, zone)
    elif vevent.get("RRULE") is not None or vevent.get("RDATE") is not None:
        instance = start  # the series' first instance, as the calendar connectors key it
    attendees = vevent.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees] if attendees else []
    status = str(vevent.get("STATUS") or "confirmed").lower()
    if method == "CANCEL":
        status = "cancelled"
    organizer = vevent.get("ORGANIZER")
    return {
        "uid": str(vevent.get("UID") or "") or None,
        "start": start,
        "end": end,
        "all_day": isinstance(start, date) and not isinstance(start, datetime),
        "summary": str(vevent.get("SUMMARY") or ""),
        "location": str(vevent.get("LOCATION") or "") or None,
        "description": str(vevent.get("DESCRIPTION") or "") or None,
        "organizer": _person(organizer) if organizer is not None else None,
        "attendees": [_person(a) for a in attendees],
        "status": status,
        "visibility": _CLASS.get(str(vevent.get("CLASS") or "").upper(), "default"),
        "recurrence_id": instance,
    }


def _zone(calendar: Any) -> Any:
    name = calendar.get("X-WR-TIMEZONE")
    try:
        return ZoneInfo(str(name)) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def meetings(
    calendar: Any, origin: Origin, *, source_id: str, method: str | None = None
) -> Iterator[Meeting | Skip]:
    """Every VEVENT of a parsed calendar → a meeting or a named skip, in file order."""
    zone = _zone(calendar)
    for n, vevent in enumerate(calendar.walk("VEVENT")):
        sid = f"{source_id}#{n}" if n else source_id
        try:
            event = neutral_event(vevent, method=method, zone=zone)
        except _ICAL_ERRORS as exc:
            yield Skip(sid, SkipReason.UNPARSEABLE, f"unreadable VEVENT: {type(exc).__name__}")
            continue
        if event["start"] is None:
            yield Skip(sid, SkipReason.UNPARSEABLE, "VEVENT without DTSTART")
            continue
        yield normalize_meeting(event, origin, source_id=sid)


def parse_calendar(data: bytes) -> Any:
    """The parsed iCalendar text; ``ValueError`` when it is not one."""
    try:
        return icalendar.Calendar.from_ical(data)
    except _ICAL_ERRORS as exc:
        raise ValueError(f"not an iCalendar file: {type(exc).__name__}") from exc


def calendar_part(message: Message) -> tuple[str, bytes] | None:
    """(METHOD, data) of the first ``text/calendar`` part whose method makes it a meeting."""
    for part in message.walk():
        if part.get_content_type() != "text/calendar":
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        method = str(part.get_param("method") or "").upper()
        if not method:
            try:
                method = str(parse_calendar(data).get("METHOD") or "").upper()
            except ValueError:
                continue
        if method in MEETING_METHODS:
            return method, data
    return None


def invitation(raw: bytes | Message, origin: Origin, *, source_id: str) -> Meeting | Skip | None:
    """The meeting a mail invites to or cancels; None when it is not an invitation.

    A mail carries one meeting (an update of a series may add exceptions: the first VEVENT is
    the one the mail is about). A calendar part that cannot be read is a named skip.
    """
    message = (
        raw
        if isinstance(raw, Message)
        else email.message_from_bytes(bytes(raw), policy=email.policy.compat32)
    )
    found = calendar_part(message)
    if found is None:
        return None
    method, data = found
    try:
        calendar = parse_calendar(data)
    except ValueError as exc:
        return Skip(source_id, SkipReason.UNPARSEABLE, str(exc))
    for result in meetings(calendar, origin, source_id=source_id, method=method):
        return result
    return Skip(source_id, SkipReason.UNPARSEABLE, "invitation without a VEVENT")


def normalize_mail(
    raw: bytes | Any,
    origin: Origin,
    *,
    source_id: str,
    thread_id: str | None = None,
    labels: Any = (),
    received_at: datetime | None = None,
) -> Activity | Skip:
    """A whole mail → the meeting it invites to or cancels, else what the email normaliser says.

    Only raw MIME can hold a calendar part: a header mapping (metadata-only sources) is always
    an email. Mail that does not mention ``text/calendar`` is not parsed a second time.
    """
    if isinstance(raw, bytes | bytearray) and b"text/calendar" in bytes(raw).lower():
        meeting = invitation(bytes(raw), origin, source_id=source_id)
        if meeting is not None:
            return meeting
    return normalize_email(
        raw,
        origin,
        source_id=source_id,
        thread_id=thread_id,
        labels=labels,
        received_at=received_at,
    )
