"""What is written: an activity and its match → the fields of one Task or Event. Pure.

Email → Task (TaskSubtype Email, Status Completed, Subject "Email: …"); call → Task
(TaskSubtype Call, CallType, CallDurationInSeconds, CallDisposition); meeting → Event (start
and end, or IsAllDayEvent with ActivityDate and DurationInMinutes). Text is cut to Salesforce's
lengths here, so a long subject never becomes a dead letter. Lengths are counted as
Salesforce counts them, in UTF-16 code units (a character outside the Basic Multilingual Plane,
such as an emoji, counts twice), so a subject full of emoji is cut short enough too.
``Syncd_Key__c`` carries the key every write upserts by.

What the org decides (:mod:`.org_rules`) shapes the record too: a Task's ``ActivityDate`` is
the owning rep's local day, and an Event longer than the org allows is written as the org
allows it (24 hours without multi-day events, noted in its Description). An Event over 14
days is never written: :func:`too_long` tells the planner, which gives it a named skip.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from syncd.capture.match import Match
from syncd.capture.org_rules import MAX_EVENT_MINUTES, ONE_DAY_MINUTES, OrgRules
from syncd.model import Activity, Call, Email, Meeting

KEY_FIELD = "Syncd_Key__c"
SUBJECT_MAX = 255
DESCRIPTION_MAX = 32_000
LOCATION_MAX = 255
DISPOSITION_MAX = 255

_CALL_TYPES = {"inbound": "Inbound", "outbound": "Outbound", "internal": "Internal"}


def sobject_for(activity: Activity) -> str:
    """``Event`` for meetings, ``Task`` for emails and calls."""
    return "Event" if isinstance(activity, Meeting) else "Task"


def _units(text: str) -> int:
    """Length as Salesforce counts it: UTF-16 code units (an emoji or rare CJK counts twice)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def cut(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` UTF-16 units, whole characters, with an ellipsis when cut."""
    if text is None:
        return None
    if _units(text) <= limit:
        return text
    # Keep whole characters (never half a surrogate pair) and leave one unit for the ellipsis.
    kept, used = [], 0
    for ch in text:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > limit - 1:
            break
        kept.append(ch)
        used += size
    return "".join(kept) + "…"


def stamp(value: datetime) -> str:
    """A UTC datetime as Salesforce writes one."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def subject_for(activity: Activity) -> str:
    """The Subject as reps see it in the activity timeline."""
    subject = activity.subject.strip()
    if isinstance(activity, Call):
        label = _CALL_TYPES.get(activity.call_direction, "Phone")
        return cut(f"Call: {subject}" if subject else f"{label} call", SUBJECT_MAX) or ""
    subject = subject or "(no subject)"
    if isinstance(activity, Email):
        subject = f"Email: {subject}"
    elif isinstance(activity, Meeting) and activity.cancelled:
        subject = f"Canceled: {subject}"
    return cut(subject, SUBJECT_MAX) or ""


_NO_RULES = OrgRules()


def event_minutes(meeting: Meeting) -> int:
    """The Event's length in minutes as Salesforce counts it (whole days when all-day)."""
    if meeting.all_day:
        return max(1, (meeting.end.date() - meeting.start.date()).days) * ONE_DAY_MINUTES
    return max(0, int((meeting.end - meeting.start).total_seconds() // 60))


def too_long(activity: Activity) -> bool:
    """Whether Salesforce refuses the Event whatever the org's settings (over 14 days)."""
    return isinstance(activity, Meeting) and event_minutes(activity) > MAX_EVENT_MINUTES


def fields_for(activity: Activity, found: Match, org: OrgRules = _NO_RULES) -> dict[str, Any]:
    """The Salesforce record for ``activity``, matched as ``found``, in ``org``."""
    row: dict[str, Any] = {KEY_FIELD: activity.key, "Subject": subject_for(activity)}
    if found.who_id:
        row["WhoId"] = found.who_id
    if found.what_id:
        row["WhatId"] = found.what_id
    if found.owner_id:
        row["OwnerId"] = found.owner_id
    if activity.body:
        row["Description"] = cut(activity.body, DESCRIPTION_MAX)
    if isinstance(activity, Meeting):
        event = _event_fields(activity, org.multiday_events)
        note = event.pop("Description", None)
        row.update(event)
        if note:
            text = f"{activity.body}\n\n{note}" if activity.body else note
            row["Description"] = cut(text, DESCRIPTION_MAX)
    else:
        day = activity.occurred_at.astimezone(org.zone_of(found.owner_id)).date()
        row.update({"Status": "Completed", "Priority": "Normal", "ActivityDate": day.isoformat()})
        if isinstance(activity, Call):
            row.update(_call_fields(activity))
        else:
            row["TaskSubtype"] = "Email"
    return row


def _event_fields(meeting: Meeting, multiday: bool) -> dict[str, Any]:
    row: dict[str, Any] = {}
    minutes = event_minutes(meeting)
    # Without multi-day events the org refuses anything over a day: write the first 24 hours
    # and say in the Description when it really ends, rather than lose the meeting.
    shortened = not multiday and minutes > ONE_DAY_MINUTES
    if meeting.all_day:
        row["IsAllDayEvent"] = True
        row["ActivityDate"] = meeting.start.date().isoformat()
        row["DurationInMinutes"] = ONE_DAY_MINUTES if shortened else minutes
    else:
        row["IsAllDayEvent"] = False
        row["StartDateTime"] = stamp(meeting.start)
        end = meeting.start + timedelta(minutes=ONE_DAY_MINUTES) if shortened else meeting.end
        row["EndDateTime"] = stamp(end)
    if shortened:
        last = meeting.end - timedelta(days=1) if meeting.all_day else meeting.end
        until = last.date().isoformat() if meeting.all_day else stamp(last)
        row["Description"] = (
            f"Multi-day event until {until} ({minutes // ONE_DAY_MINUTES} days); shown as one "
            "day because this org does not enable multi-day events."
        )
    if meeting.location:
        row["Location"] = cut(meeting.location, LOCATION_MAX)
    row["ShowAs"] = "Free" if meeting.cancelled else "Busy"
    return row


def _call_fields(call: Call) -> dict[str, Any]:
    row: dict[str, Any] = {
        "TaskSubtype": "Call",
        "CallType": _CALL_TYPES.get(call.call_direction, "Inbound"),
        "CallDurationInSeconds": max(0, int(call.duration_seconds)),
    }
    if call.disposition:
        row["CallDisposition"] = cut(call.disposition, DISPOSITION_MAX)
    if call.recording_url:
        # The connector passes a recording link on only when ``recording_links = true``;
        # it goes in the Description, after any captured body, so reps can open it.
        text = f"Recording: {call.recording_url}"
        row["Description"] = cut(text if not call.body else f"{call.body}\n\n{text}",
                                  DESCRIPTION_MAX)  # fmt: skip
    return row
