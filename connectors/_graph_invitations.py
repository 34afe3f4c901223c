"""Meeting requests and cancellations in Outlook mail → the meeting, keyed as the calendar keys it.

Graph lists a meeting request in a mail folder as ``#microsoft.graph.eventMessageRequest`` and
a cancellation as ``#microsoft.graph.eventMessage`` (``@odata.type`` on the delta item; answers
are ``eventMessageResponse`` and stay emails), with ``meetingMessageType`` saying which
(https://learn.microsoft.com/en-us/graph/api/resources/eventmessage,
https://learn.microsoft.com/en-us/graph/api/resources/eventmessagerequest). The message itself
has no iCalUID: the meeting is its ``event`` navigation property, the event in the mailbox's
calendar. So each such message costs one more GET, sent through ``$batch`` with the page's
other lookups: ``messages/{id}?$select=microsoft.graph.eventMessage/meetingMessageType
&$expand=microsoft.graph.eventMessage/event($select=…)``
(https://learn.microsoft.com/en-us/graph/api/eventmessage-get).

The event becomes a :class:`~syncd.model.Meeting` through the Outlook calendar connector's own
mapping (:func:`connectors.outlook_calendar.neutral_event`, ``external_uid``) and
:func:`syncd.capture.normalize_calendar.normalize_meeting`, so the meeting seen in mail, in the
calendar, in Gmail or in an mbox invitation has one key. A series' request points at its
master (key: its UID and first start, as an invitation's RRULE is keyed); an update of one
occurrence points at that instance, whose series UID costs one more lookup per series.
``meetingCancelled`` marks the meeting cancelled. An event no longer in the calendar (the rep
removed it) leaves nothing to key the meeting by: a named skip (``no_uid``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connectors.outlook_calendar import external_uid, neutral_event
from syncd.capture.normalize import Origin
from syncd.capture.normalize_calendar import normalize_meeting
from syncd.model import Meeting, Skip, SkipReason

#: The delta item types that may be a meeting request or cancellation.
MEETING_TYPES = frozenset({"#microsoft.graph.eventMessageRequest", "#microsoft.graph.eventMessage"})
_KINDS = {"meetingRequest": "confirmed", "meetingCancelled": "cancelled"}
EVENT_SELECT = (
    "id,iCalUId,subject,start,end,isAllDay,isCancelled,organizer,attendees,location,"
    "sensitivity,type,seriesMasterId,originalStart"
)


def is_meeting_message(message: Mapping[str, Any]) -> bool:
    """Whether a delta item is an eventMessage that may invite to or cancel a meeting."""
    return str(message.get("@odata.type") or "") in MEETING_TYPES


def lookup_path(mailbox: str, message_id: str, *, headers: bool = False) -> str:
    """The one GET (a ``$batch`` member) that reads the message's kind and its event."""
    select = "microsoft.graph.eventMessage/meetingMessageType"
    if headers:
        select += ",internetMessageHeaders"
    return (
        f"/users/{mailbox}/messages/{message_id}?$select={select}"
        f"&$expand=microsoft.graph.eventMessage/event($select={EVENT_SELECT})"
    )


def masters_of(answers: Iterable[Mapping[str, Any]]) -> set[str]:
    """The series masters whose UID the expanded events of ``answers`` need."""
    events = (a.get("event") for a in answers)
    return {
        str(e["seriesMasterId"])
        for e in events
        if isinstance(e, Mapping) and e.get("seriesMasterId")
    }


def meeting(
    answer: Mapping[str, Any],
    origin: Origin,
    *,
    source_id: str,
    series: Mapping[str, str | None],
) -> Meeting | Skip | None:
    """The meeting an eventMessage invites to or cancels; None when it is neither (an email)."""
    status = _KINDS.get(str(answer.get("meetingMessageType") or ""))
    if status is None:
        return None
    event = answer.get("event")
    if not isinstance(event, Mapping):
        return Skip(source_id, SkipReason.NO_UID, "the meeting's event is not in the calendar")
    instance: Any = None
    if event.get("seriesMasterId"):
        uid = series.get(str(event["seriesMasterId"]))
        instance = event.get("originalStart")
        if not uid or not instance:
            return Skip(source_id, SkipReason.NO_UID, "series master not readable")
    else:
        uid = event.get("iCalUId")
        if event.get("type") == "seriesMaster":
            instance = event.get("start")  # the series' first instance, as an RRULE is keyed
    neutral = neutral_event(event, external_uid(str(uid or "")), instance)
    if status == "cancelled":
        neutral["status"] = "cancelled"
    return normalize_meeting(neutral, origin, source_id=source_id)
