"""What Graph puts in every message and event it returns, and the plain list requests.

Graph returns each property of a resource it is asked for, set or not, with its default
(``hasAttachments: false``, ``recurrence: null``, a ``location`` with ``locationType`` …) and an
``@odata.etag`` on every item, and wraps every collection in ``{"@odata.context", "value"}``
(https://learn.microsoft.com/en-us/graph/api/resources/message,
https://learn.microsoft.com/en-us/graph/api/resources/event). The seeds store what a test
cares about; :func:`message_view` and :func:`event_view` add the rest as Graph would, so the
answers have the key paths of the responses recorded from the real service
(``tests/recorded/test_recorded_graph.py``).

Lists: ``GET /users/{id}/messages`` (``$filter=receivedDateTime ge <time>``, newest first) and
``GET /users/{id}/events`` (``$filter=start/dateTime ge '<time>'``, ``$orderby=start/dateTime
asc``), with ``$select`` and ``$top`` / ``$skip`` paging through ``@odata.nextLink``
(https://learn.microsoft.com/en-us/graph/api/user-list-messages,
https://learn.microsoft.com/en-us/graph/api/user-list-events). Other filters or orders → 400.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from sandbox.graph import event_messages
from sandbox.graph.data import Mailbox, parse_time

_MESSAGE_FILTER = re.compile(r"^receivedDateTime\s+(ge|gt)\s+'?([^'\s]+)'?$", re.IGNORECASE)
_EVENT_FILTER = re.compile(r"^start/dateTime\s+(ge|gt)\s+'([^']+)'$", re.IGNORECASE)
_EVENT_ORDER = {"start/datetime asc": False, "start/datetime desc": True}
_NEVER = "0001-01-01T00:00:00Z"


def etag(body: dict[str, Any]) -> str:
    """A weak etag that changes with the item, in Graph's ``W/"…"`` form."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).digest()
    return 'W/"' + base64.b64encode(digest[:21]).decode() + '"'


def message_view(body: dict[str, Any]) -> dict[str, Any]:
    """A stored message as Graph returns it: every default property filled in."""
    defaults = {
        "@odata.etag": etag(body),
        "hasAttachments": False,
        "importance": "normal",
        "bodyPreview": "",
        "body": {"contentType": "text", "content": ""},
        "categories": [],
        "replyTo": [],
    }
    if event_messages.is_event_message(body):
        defaults |= event_messages.defaults(body)
    return defaults | body


def event_view(body: dict[str, Any], mailbox: Mailbox) -> dict[str, Any]:
    """A stored event as Graph returns it to ``mailbox``: defaults, and who organises it."""
    organizer = (body.get("organizer") or {}).get("emailAddress") or {}
    organises = str(organizer.get("address", "")).lower() == mailbox.address
    location = {
        "displayName": "",
        "locationType": "default",
        "uniqueIdType": "unknown",
        "address": {},
        "coordinates": {},
    } | dict(body.get("location") or {})
    defaults = {
        "@odata.etag": etag(body),
        "bodyPreview": "",
        "body": {"contentType": "html", "content": ""},
        "importance": "normal",
        "isOrganizer": organises,
        "responseRequested": True,
        "responseStatus": {"response": "organizer" if organises else "none", "time": _NEVER},
        "recurrence": None,
        "onlineMeeting": None,
        "onlineMeetingProvider": "unknown",
        "webLink": "https://outlook.office365.com/owa/?itemid="
        + quote(str(body.get("id", "")), safe="")
        + "&exvsurl=1&path=/calendar/item",
    }
    return defaults | body | {"location": location}


def list_items(
    mailbox: Mailbox,
    kind: str,
    query: dict[str, str],
    link: str,
    project: Callable[[dict[str, Any]], dict[str, Any]],
    bad: Callable[[str], Exception],
) -> dict[str, Any]:
    """One page of ``GET /users/{id}/messages|events`` (see the module docstring)."""
    store = mailbox.messages if kind == "messages" else mailbox.events
    bodies = [i.body for i in store.values() if not i.removed]
    text = query.get("$filter", "").strip()
    pattern = _MESSAGE_FILTER if kind == "messages" else _EVENT_FILTER
    when: Callable[[dict[str, Any]], Any] = (
        (lambda b: parse_time(b["receivedDateTime"]))
        if kind == "messages"
        else (lambda b: parse_time(b["start"]["dateTime"]))
    )
    if text:
        match = pattern.match(text)
        if not match:
            raise bad(f"Unsupported $filter on {kind}.")
        since = parse_time(match.group(2))
        strict = match.group(1).lower() == "gt"
        bodies = [b for b in bodies if when(b) > since or (not strict and when(b) == since)]
    order = query.get("$orderby", "").strip().lower()
    if kind == "events" and order and order not in _EVENT_ORDER:
        raise bad("Unsupported $orderby on events.")
    if kind == "messages" and order and order not in ("receiveddatetime desc",):
        raise bad("Unsupported $orderby on messages.")
    newest_first = kind == "messages" or _EVENT_ORDER.get(order, False)
    bodies.sort(key=when, reverse=newest_first)
    try:
        top = min(int(query.get("$top", "10")), 1000)
        skip = int(query.get("$skip", "0"))
    except ValueError as exc:
        raise bad("Invalid $top or $skip.") from exc
    page = bodies[skip : skip + top]
    out: dict[str, Any] = {
        "@odata.context": f"{link.split('/v1.0/')[0]}/v1.0/$metadata#users('{mailbox.user_id}')"
        f"/{kind}",
        "value": [project(b) for b in page],
    }
    if skip + top < len(bodies):
        rest = {k: v for k, v in query.items() if k != "$skip"} | {"$skip": str(skip + top)}
        out["@odata.nextLink"] = f"{link}?{urlencode(rest)}"
    return out
