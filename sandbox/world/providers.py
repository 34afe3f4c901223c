"""The demo world's mail and meetings filed into the vendors' emulators, rep by rep.

Each rep is on one mail provider: Google Workspace (the Gmail and Calendar emulator),
Microsoft 365 (the Graph emulator) or an mbox export. A message the world sent to three reps
lands in each of their providers under one Message-ID, and a meeting in each of their calendars
under one iCalUID, so a thread between a Google rep and a Microsoft rep is one Salesforce
record whichever connector reads it first. Reps on mbox keep their calendar in Google (their
mail was imported from an older system).

Messages go to the emulators as the vendors would hold them: Gmail keeps the RFC 822 headers
with a SENT or INBOX label; Graph gets a message in ``sentitems`` or ``inbox`` with its
``internetMessageHeaders``. Events become Google's resource (``responseStatus``, ``self``,
``visibility``) or Graph's (``status.response``, ``sensitivity``).
"""

from __future__ import annotations

import email
import hashlib
from collections.abc import Mapping
from datetime import datetime
from email.policy import compat32
from email.utils import getaddresses, parseaddr
from typing import Any

#: The mail providers a rep can be on.
GOOGLE, MICROSOFT, MBOX = "google", "microsoft", "mbox"

#: Neutral partstat → Google ``responseStatus`` / Graph ``status.response``.
_GOOGLE_STATUS = {
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "tentative",
    "needs-action": "needsAction",
}
_GRAPH_STATUS = {
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "tentativelyAccepted",
    "needs-action": "notResponded",
}
#: Headers ``sandbox.graph.seed.add_message`` writes itself.
_GRAPH_OWN = {"message-id", "from", "to", "subject"}


def assign_providers(reps: list[str], *, google: int = 8, microsoft: int = 8) -> dict[str, str]:
    """Rep → provider: the first ``google`` on Google, the next ``microsoft`` on 365, rest mbox."""
    providers: dict[str, str] = {}
    for i, rep in enumerate(reps):
        providers[rep] = GOOGLE if i < google else MICROSOFT if i < google + microsoft else MBOX
    return providers


def _root(msg: email.message.Message) -> str:
    """The thread's first Message-ID (what Graph's conversationId groups by)."""
    refs = (msg.get("References") or "").split()
    return refs[0] if refs else str(msg["Message-ID"])


def file_to_gmail(google: Any, rep: str, when: datetime, data: bytes) -> None:
    """One message into ``rep``'s Gmail: the headers, labelled SENT when the rep sent it."""
    msg = email.message_from_bytes(data, policy=compat32)
    sender = parseaddr(str(msg["From"]))[1].lower()
    google.gmail.deliver(
        rep,
        [(name, str(value)) for name, value in msg.items()],
        when=when,
        labels=["SENT"] if sender == rep else ["INBOX"],
        thread_id=hashlib.sha1(_root(msg).encode()).hexdigest()[:16],  # noqa: S324 - an id, not security
    )


def file_to_graph(graph: Any, rep: str, when: datetime, data: bytes) -> None:
    """One message into ``rep``'s Outlook: ``sentitems`` when the rep sent it, else ``inbox``."""
    from sandbox.graph.data import make_id
    from sandbox.graph.seed import add_message

    msg = email.message_from_bytes(data, policy=compat32)
    sender = parseaddr(str(msg["From"]))[1].lower()
    add_message(
        graph,
        rep,
        message_id=str(msg["Message-ID"]),
        sender=sender,
        to=[a for _, a in getaddresses(msg.get_all("To") or [])],
        cc=[a for _, a in getaddresses(msg.get_all("Cc") or [])],
        subject=str(msg["Subject"] or ""),
        received=when,
        folder="sentitems" if sender == rep else "inbox",
        conversation_id=make_id("conv", _root(msg))[:40],
        headers={k: str(v) for k, v in msg.items() if k.lower() not in _GRAPH_OWN},
    )


def google_event(rep: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """A world event (neutral shape) as Google Calendar holds ``rep``'s copy."""
    return {
        "iCalUID": event["uid"],
        "summary": event["summary"],
        "location": event.get("location"),
        "start": {"dateTime": event["start"], "timeZone": "UTC"},
        "end": {"dateTime": event["end"], "timeZone": "UTC"},
        "organizer": {
            "email": event["organizer"]["email"],
            "displayName": event["organizer"].get("name"),
        },
        "attendees": [
            {
                "email": a["email"],
                "displayName": a.get("name"),
                "responseStatus": _GOOGLE_STATUS.get(a.get("partstat", ""), "needsAction"),
                **({"self": True} if a["email"] == rep else {}),
            }
            for a in event["attendees"]
        ],
        "status": event.get("status", "confirmed"),
        "visibility": event.get("visibility", "default"),
    }


def graph_event(rep: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """A world event (neutral shape) as Graph holds ``rep``'s copy."""
    from sandbox.graph.data import make_id
    from sandbox.graph.seed import event_body

    body = event_body(
        ical_uid=event["uid"],
        organizer=event["organizer"]["email"],
        attendees=[],
        subject=event["summary"],
        start=datetime.fromisoformat(event["start"]),
        end=datetime.fromisoformat(event["end"]),
        item_id=make_id("evt", rep, event["uid"]),
        sensitivity="private" if event.get("visibility") == "private" else "normal",
        location={"displayName": event.get("location") or ""},
    )
    body["attendees"] = [
        {
            "emailAddress": {"address": a["email"], "name": a.get("name") or a["email"]},
            "type": "required",
            "status": {
                "response": _GRAPH_STATUS.get(a.get("partstat", ""), "none"),
                "time": None,
            },
        }
        for a in event["attendees"]
    ]
    return body


def file_world(
    providers: Mapping[str, str],
    boxes: Mapping[str, list[tuple[datetime, str, bytes]]],
    calendars: Mapping[str, list[dict[str, Any]]],
    *,
    google: Any,
    graph: Any,
) -> dict[str, dict[str, int]]:
    """File every rep's mail and meetings with their provider; counts by provider and kind.

    Reps on mbox are counted but their mail is not filed (their mbox file holds it); their
    calendars go to Google. Returns ``{provider: {"messages": n, "events": n, "reps": n}}``.
    """
    counts: dict[str, dict[str, int]] = {
        p: {"reps": 0, "messages": 0, "events": 0} for p in (GOOGLE, MICROSOFT, MBOX)
    }
    for rep, provider in sorted(providers.items()):
        counts[provider]["reps"] += 1
        if provider == GOOGLE:
            google.add_user(rep)
        elif provider == MICROSOFT:
            graph.add_user(rep)
        else:
            google.add_user(rep)  # the calendar: see the module docstring
        for when, _sender, data in sorted(boxes.get(rep, ()), key=lambda i: (i[0], i[2])):
            if provider == GOOGLE:
                file_to_gmail(google, rep, when, data)
            elif provider == MICROSOFT:
                file_to_graph(graph, rep, when, data)
            # (an mbox rep's message is in their file already: counted, not filed)
            counts[provider]["messages"] += 1
        for event in calendars.get(rep, ()):
            if provider == MICROSOFT:
                graph.add_user(rep).put_event(graph_event(rep, event))
                counts[MICROSOFT]["events"] += 1
            else:
                google.calendar.add_event(rep, google_event(rep, event), copy_event=False)
                counts[GOOGLE]["events"] += 1
    return counts
