"""Load an iCalendar export (Google Calendar's "Export") into a sandbox calendar.

Each VEVENT becomes an event resource as Google Calendar would serve it: ``iCalUID`` from
UID, ``start``/``end`` from DTSTART/DTEND (or DURATION) with the TZID as ``timeZone``
(floating times take the calendar's X-WR-TIMEZONE), RRULE/RDATE/EXDATE as ``recurrence``
lines, RECURRENCE-ID as an exception of its series (``recurringEventId`` +
``originalStartTime``), STATUS, CLASS as ``visibility``, ORGANIZER, and ATTENDEEs with their
PARTSTAT as ``responseStatus``. Ids are derived from the UID, so loading is deterministic.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from sandbox.google.calendar import Calendar

_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative",
             "NEEDS-ACTION": "needsAction", "DELEGATED": "needsAction"}  # fmt: skip
_CLASS = {"PRIVATE": "private", "CONFIDENTIAL": "confidential", "PUBLIC": "public"}


def _zone_name(value: datetime) -> str | None:
    key = getattr(value.tzinfo, "key", None)
    if key:
        return str(key)
    return "UTC" if value.utcoffset() == timedelta(0) else None


def _when(value: date | datetime, floating: tzinfo) -> dict[str, str]:
    if not isinstance(value, datetime):
        return {"date": value.isoformat()}
    if value.tzinfo is None:
        value = value.replace(tzinfo=floating)
    name = _zone_name(value)
    return {"dateTime": value.isoformat()} | ({"timeZone": name} if name else {})


def _ical_values(prop: Any) -> list[date | datetime]:
    items = prop if isinstance(prop, list) else [prop]
    out: list[date | datetime] = []
    for item in items:
        out += [d.dt for d in getattr(item, "dts", [])]
    return out


def _recurrence_line(name: str, values: list[date | datetime]) -> str:
    texts = [
        f"{v.astimezone(UTC):%Y%m%dT%H%M%SZ}" if isinstance(v, datetime) and v.tzinfo
        else (f"{v:%Y%m%dT%H%M%S}" if isinstance(v, datetime) else f"{v:%Y%m%d}")
        for v in values
    ]  # fmt: skip
    return f"{name}:{','.join(texts)}"


def _address(value: Any) -> str:
    return str(value).removeprefix("mailto:").removeprefix("MAILTO:").strip().lower()


def _event_id(uid: str) -> str:
    return hashlib.sha1(uid.encode(), usedforsecurity=False).hexdigest()[:26]


def load_ics(calendar: Calendar, address: str, data: bytes | icalendar.Calendar) -> int:
    """Add every VEVENT of ``data`` (bytes or a parsed calendar) to ``address``'s calendar.

    Returns how many were added.
    """
    parsed = data if isinstance(data, icalendar.Calendar) else icalendar.Calendar.from_ical(data)
    try:
        floating: tzinfo = ZoneInfo(str(parsed.get("X-WR-TIMEZONE", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        floating = UTC
    events = list(parsed.walk("VEVENT"))
    masters = {str(e.get("UID")) for e in events if e.get("RECURRENCE-ID") is None}
    added = 0
    for vevent in events:
        uid = str(vevent.get("UID") or "")
        start_prop = vevent.get("DTSTART")
        if not uid or start_prop is None:
            continue
        start = start_prop.dt
        if vevent.get("DTEND") is not None:
            end = vevent["DTEND"].dt
        elif vevent.get("DURATION") is not None:
            end = start + vevent["DURATION"].dt
        else:
            end = start + timedelta(days=1) if not isinstance(start, datetime) else start
        resource: dict[str, Any] = {
            "id": _event_id(uid),
            "iCalUID": uid,
            "summary": str(vevent.get("SUMMARY", "")),
            "start": _when(start, floating),
            "end": _when(end, floating),
            "status": str(vevent.get("STATUS", "CONFIRMED")).lower(),
        }
        if vevent.get("LOCATION"):
            resource["location"] = str(vevent["LOCATION"])
        if str(vevent.get("CLASS", "")).upper() in _CLASS:
            resource["visibility"] = _CLASS[str(vevent["CLASS"]).upper()]
        if vevent.get("ORGANIZER") is not None:
            resource["organizer"] = {"email": _address(vevent["ORGANIZER"])}
        attendees = vevent.get("ATTENDEE")
        if attendees is not None:
            items = attendees if isinstance(attendees, list) else [attendees]
            resource["attendees"] = [
                {"email": _address(a), "responseStatus": _PARTSTAT.get(
                    str(a.params.get("PARTSTAT", "NEEDS-ACTION")).upper(), "needsAction")}
                | ({"displayName": str(a.params["CN"])} if a.params.get("CN") else {})
                for a in items
            ]  # fmt: skip
        recurrence = []
        if vevent.get("RRULE") is not None:
            rules = vevent["RRULE"] if isinstance(vevent["RRULE"], list) else [vevent["RRULE"]]
            recurrence += [f"RRULE:{r.to_ical().decode()}" for r in rules]
        for name in ("RDATE", "EXDATE"):
            if vevent.get(name) is not None:
                recurrence.append(_recurrence_line(name, _ical_values(vevent[name])))
        if recurrence:
            resource["recurrence"] = recurrence
        recurrence_id = vevent.get("RECURRENCE-ID")
        if recurrence_id is not None:
            original = _when(recurrence_id.dt, floating)
            instant = original.get("dateTime", original.get("date", ""))
            resource["id"] = f"{_event_id(uid)}_{_event_id(instant)[:8]}"
            if uid in masters:
                resource["recurringEventId"] = _event_id(uid)
            # An exception whose series is not in the export still carries its original start.
            resource["originalStartTime"] = original
        calendar.add_event(address, resource, copy_event=False)
        added += 1
    return added
