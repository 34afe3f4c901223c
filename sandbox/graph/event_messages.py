"""Meeting requests and cancellations in a Graph mailbox: ``eventMessage`` and its ``event``.

Graph returns a meeting request, cancellation or response in a mail folder as an
``eventMessage``, a type derived from ``message``
(https://learn.microsoft.com/en-us/graph/api/resources/eventmessage): a request is an
``eventMessageRequest`` (https://learn.microsoft.com/en-us/graph/api/resources/eventmessagerequest),
an answer an ``eventMessageResponse``, a cancellation a plain ``eventMessage``. Since the
collection is declared as ``message``, each such item carries its ``@odata.type`` (OData JSON
format, control information for derived types), and ``meetingMessageType`` (``meetingRequest``,
``meetingCancelled``, ``meetingAccepted``, ``meetingTenativelyAccepted``, ``meetingDeclined``)
says which one it is.

Properties of the derived type are selected with a type cast (``$select=
microsoft.graph.eventMessage/meetingMessageType``; OData URL conventions 5.1.3,
https://docs.oasis-open.org/odata/odata/v4.01/odata-v4.01-part2-url-conventions.html); a bare
``meetingMessageType`` on a ``message`` URL is an unknown property and refused. Without
``$select`` every property of the item's own type is returned.

The related event in the mailbox's calendar is the ``event`` navigation property:
``GET /users/{id}/messages/{id}?$expand=microsoft.graph.eventMessage/event`` (optionally
``(…;$select=…)`` inside, https://learn.microsoft.com/en-us/graph/api/eventmessage-get) or
``GET /users/{id}/messages/{id}/microsoft.graph.eventMessage/event``. An event no longer in the
calendar expands to ``null``; the path form answers 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

CAST = "microsoft.graph.eventMessage/"
TYPES = {
    "meetingRequest": "#microsoft.graph.eventMessageRequest",
    "meetingCancelled": "#microsoft.graph.eventMessage",
    "meetingAccepted": "#microsoft.graph.eventMessageResponse",
    "meetingTenativelyAccepted": "#microsoft.graph.eventMessageResponse",
    "meetingDeclined": "#microsoft.graph.eventMessageResponse",
}
#: eventMessage's own properties (the derived types add a few more, defaulted below).
PROPS = {
    "meetingMessageType",
    "startDateTime",
    "endDateTime",
    "location",
    "type",
    "recurrence",
    "isAllDay",
    "isOutOfDate",
    "isDelegated",
}
_EXPAND = re.compile(r"^microsoft\.graph\.eventMessage/event(?:\((.*)\))?$")


def is_event_message(body: dict[str, Any]) -> bool:
    """Whether a stored message is an eventMessage (or a derived type)."""
    return str(body.get("@odata.type", "")) in set(TYPES.values())


def defaults(body: dict[str, Any]) -> dict[str, Any]:
    """The eventMessage properties Graph fills in with their defaults."""
    out: dict[str, Any] = {
        "isOutOfDate": False,
        "isDelegated": False,
        "isAllDay": False,
        "recurrence": None,
        "type": "singleInstance",
        "location": {"displayName": "", "locationType": "default", "uniqueIdType": "unknown"},
    }
    if body.get("@odata.type") == TYPES["meetingRequest"]:
        out |= {
            "meetingRequestType": "newMeetingRequest",
            "responseRequested": True,
            "allowNewTimeProposals": True,
            "previousStartDateTime": None,
            "previousEndDateTime": None,
            "previousLocation": None,
        }
    return out


def selectable(allowed: set[str]) -> set[str]:
    """The ``$select`` names a message URL accepts: its own, and eventMessage's by cast."""
    return allowed | {CAST + p for p in PROPS}


def pick(body: dict[str, Any], prop: str) -> tuple[str, Any] | None:
    """(key, value) of one selected property, cast or not; None when the item lacks it."""
    key = prop[len(CAST) :] if prop.startswith(CAST) else prop
    if prop.startswith(CAST) and not is_event_message(body):
        return None  # a plain message has no eventMessage properties
    return (key, body[key]) if key in body else None


def expanded(
    query_expand: str,
    event: dict[str, Any] | None,
    view: Callable[[dict[str, Any]], dict[str, Any]],
    select: Callable[[dict[str, Any], str | None], dict[str, Any]],
    bad: Callable[[str], Exception],
) -> dict[str, Any]:
    """``{"event": …}`` for ``$expand=microsoft.graph.eventMessage/event(…)``; 400 otherwise."""
    match = _EXPAND.match(query_expand.strip())
    if not match:
        name = query_expand.split("(")[0].strip()
        raise bad(f"Could not find a property named '{name}' on type 'microsoft.graph.message'.")
    options = match.group(1) or ""
    props: str | None = None
    for option in filter(None, (o.strip() for o in options.split(";"))):
        name, _, value = option.partition("=")
        if name.strip() != "$select":
            raise bad(f"Query option '{name.strip()}' is not allowed in $expand.")
        props = value
    if event is None:
        return {"event": None}
    return {"event": select(view(event), props)}
