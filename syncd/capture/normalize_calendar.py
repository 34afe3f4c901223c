"""Calendar events in a neutral shape → :class:`~syncd.model.Meeting`.

Calendar connectors (Google Calendar, Graph calendarView, an .ics reader) translate their own
shape into this dict; every key but ``uid`` and ``start`` is optional::

    {
      "id": "evt-1",                  # the source's own id; defaults to uid (+ instance)
      "uid": "abc@google.com",        # iCalUID, shared by every calendar holding the event
      "start": <when>, "end": <when>, # end defaults to start
      "all_day": False,               # inferred when start is a plain date
      "summary": "Quarterly review", "location": "Room 4", "description": "...",
      "organizer": {"email": "rep@acme.com", "name": "Rep"},
      "attendees": [{"email": "x@y.com", "name": "X", "partstat": "accepted"}],
      "status": "confirmed" | "tentative" | "cancelled",
      "visibility": "default" | "public" | "private" | "confidential",
      "recurrence_id": <when> | None, # original start of this instance of a recurring event
    }

``<when>`` is an aware ``datetime``, a ``date`` (all day), an ISO 8601 string with an offset or
a plain ``YYYY-MM-DD``, or Google's ``{"dateTime": ..., "timeZone": ...}`` / ``{"date": ...}``.
A date-time without an offset takes ``timeZone`` (IANA name) when given; without either it is
unusable and the event is skipped as ``unparseable``. ``partstat`` follows iCalendar
(ACCEPTED, DECLINED, TENTATIVE, NEEDS-ACTION), Google (accepted, declined, tentative,
needsAction) or Graph (accepted, declined, tentativelyAccepted, notResponded, organizer, none);
it is stored as the lower-case iCalendar word (``needs-action``, ``tentative``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncd.capture.item_guard import never_raises
from syncd.capture.keys import meeting_key
from syncd.capture.normalize import Origin, clean_text, direction_of, first_value
from syncd.email_address import normalize_address
from syncd.model import Meeting, Participant, Role, Skip, SkipReason

_VISIBILITY = {"default", "public", "private", "confidential"}


class _BadTime(ValueError):
    """A <when> value that cannot be read."""


def parse_when(value: Any) -> tuple[datetime, bool]:
    """(aware UTC datetime, is-all-day) from any accepted ``<when>``; raises ``_BadTime``."""
    zone_name = None
    if isinstance(value, Mapping):
        zone_name = value.get("timeZone") or value.get("time_zone")
        value = value.get("dateTime") or value.get("date_time") or value.get("date")
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                value = date.fromisoformat(text)
            else:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise _BadTime(f"unreadable time {text[:40]!r}") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            if not zone_name:
                raise _BadTime("time without a zone")
            try:
                value = value.replace(tzinfo=ZoneInfo(str(zone_name)))
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise _BadTime(f"unknown time zone {str(zone_name)[:40]!r}") from exc
        try:
            return value.astimezone(UTC), False
        except OverflowError as exc:  # year 1 or 9999 with an offset past the calendar's end
            raise _BadTime("time outside the calendar") from exc
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC), True
    raise _BadTime(f"not a time: {type(value).__name__}")


#: Google and Graph spellings of a response → the iCalendar PARTSTAT word, lower-case.
_RESPONSES = {
    "needsaction": "needs-action",
    "notresponded": "needs-action",
    "tentativelyaccepted": "tentative",
    "organizer": "accepted",
    "none": None,
}


def _partstat(value: Any) -> str | None:
    if not value:
        return None
    text = str(value).strip().lower().replace("_", "-")
    return _RESPONSES.get(text.replace("-", ""), text)


def _person(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, Mapping):
        addr = first_value(value, "email", "address", "emailAddress")
        if isinstance(addr, Mapping):  # Graph nests {"emailAddress": {"address", "name"}}
            return normalize_address(addr.get("address")), clean_text(addr.get("name")) or None
        name = first_value(value, "name", "displayName", "cn")
        return normalize_address(addr), clean_text(name) or None
    if isinstance(value, str):
        return normalize_address(value), None
    return None, None


@never_raises
def normalize_meeting(
    event: Mapping[str, Any], origin: Origin, *, source_id: str | None = None
) -> Meeting | Skip:
    """One event dict → a :class:`Meeting`, or a :class:`Skip` naming why not."""
    if not isinstance(event, Mapping):
        return Skip(source_id or "?", SkipReason.UNPARSEABLE, "event is not a mapping")
    uid = clean_text(event.get("uid"), 1000)
    sid = source_id or clean_text(event.get("id"), 255) or uid or "?"
    if not uid:
        return Skip(sid, SkipReason.NO_UID)
    try:
        start, all_day = parse_when(event.get("start"))
        end = parse_when(event["end"])[0] if event.get("end") is not None else start
        instance = parse_when(event["recurrence_id"])[0] if event.get("recurrence_id") else None
    except _BadTime as exc:
        return Skip(sid, SkipReason.UNPARSEABLE, str(exc))
    all_day = bool(event.get("all_day", all_day))
    end = max(end, start)

    participants: list[Participant] = []
    organizer, org_name = _person(event.get("organizer"))
    if organizer:
        participants.append(Participant(address=organizer, name=org_name, role=Role.ORGANIZER))
    for attendee in event.get("attendees") or ():
        addr, name = _person(attendee)
        if not addr or addr == organizer:
            continue
        status = (
            first_value(attendee, "partstat", "responseStatus", "status")
            if isinstance(attendee, Mapping)
            else None
        )
        if isinstance(status, Mapping):
            status = status.get("response")  # Graph: {"response": "accepted", "time": ...}
        participants.append(
            Participant(address=addr, name=name, role=Role.ATTENDEE, response=_partstat(status))
        )
    if not participants:
        return Skip(sid, SkipReason.NO_PARTICIPANTS)

    # An unknown visibility value is treated as private: the safe reading for privacy.
    visibility = str(event.get("visibility") or "default").lower()
    internal = origin.internal_parties()
    return Meeting(
        source=origin.source,
        source_id=sid,
        key=meeting_key(uid, instance),
        occurred_at=start,
        subject=clean_text(event.get("summary")),
        direction=direction_of(organizer, (p.address for p in participants), internal),
        participants=tuple(participants),
        mailbox=origin.mailbox,
        body=clean_text(event.get("description"), 32000) or None if origin.capture_body else None,
        start=start,
        end=end,
        all_day=all_day,
        location=clean_text(event.get("location"), 255) or None,
        ical_uid=uid,
        recurrence_instance=instance,
        cancelled=str(event.get("status") or "").lower() == "cancelled",
        visibility=visibility if visibility in _VISIBILITY else "private",
        organizer=organizer,
    )
