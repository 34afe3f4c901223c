"""Build Outlook messages and events in Graph's shape, and seed a demo world.

``add_message``, ``add_meeting_message`` (an eventMessage: meeting request or cancellation)
and ``add_meeting``/``add_series`` put items in a :class:`GraphSandbox` mailbox exactly as
Graph returns them (recipients as ``{"emailAddress": {...}}``, dateTimeTimeZone in
UTC, per-instance ``iCalUId`` for occurrences of a series with ``seriesMasterId`` and
``originalStart``). ``seed_demo`` fills the rep mailboxes for the lead's demo world.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.graph import event_messages
from sandbox.graph.data import event_time, graph_time, make_id
from sandbox.graph.server import GraphSandbox


def _who(address: str, name: str | None = None) -> dict[str, Any]:
    return {"emailAddress": {"address": address, "name": name or address.split("@")[0]}}


def add_message(
    sandbox: GraphSandbox,
    mailbox: str,
    *,
    message_id: str,
    sender: str,
    to: Sequence[str],
    subject: str,
    received: datetime,
    folder: str = "inbox",
    cc: Sequence[str] = (),
    conversation_id: str | None = None,
    headers: dict[str, str] | None = None,
    is_draft: bool = False,
) -> str:
    """One message in ``folder`` of ``mailbox``; returns its (immutable) id."""
    box = sandbox.add_user(mailbox)
    item_id = make_id("msg", box.address, folder, message_id)
    body = {
        "id": item_id,
        "internetMessageId": f"<{message_id.strip('<>')}>",
        "subject": subject,
        "from": _who(sender),
        "sender": _who(sender),
        "toRecipients": [_who(a) for a in to],
        "ccRecipients": [_who(a) for a in cc],
        "bccRecipients": [],
        "receivedDateTime": graph_time(received),
        "sentDateTime": graph_time(received - timedelta(seconds=2)),
        "conversationId": conversation_id or make_id("conv", subject)[:40],
        "isDraft": is_draft,
        "isRead": False,
        "parentFolderId": folder,
        "internetMessageHeaders": [
            {"name": k, "value": v}
            for k, v in {
                "Message-ID": f"<{message_id.strip('<>')}>",
                "From": sender,
                "To": ", ".join(to),
                "Subject": subject,
                **(headers or {}),
            }.items()
        ],
    }
    return box.put_message(folder, body)


def event_body(
    *,
    ical_uid: str,
    organizer: str,
    attendees: Sequence[str],
    subject: str,
    start: datetime,
    end: datetime,
    all_day: bool = False,
    cancelled: bool = False,
    item_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An event in Graph's shape (times in UTC, as with ``Prefer: outlook.timezone="UTC"``)."""
    return {
        "id": item_id or make_id("evt", ical_uid, start.isoformat()),
        "iCalUId": ical_uid,
        "subject": subject,
        "start": event_time(start),
        "end": event_time(end),
        "isAllDay": all_day,
        "isCancelled": cancelled,
        "type": "singleInstance",
        "sensitivity": "normal",
        "organizer": _who(organizer),
        "attendees": [
            {**_who(a), "type": "required", "status": {"response": "accepted", "time": None}}
            for a in attendees
        ],
        "location": {"displayName": "Teams"},
        **extra,
    }


def add_meeting(sandbox: GraphSandbox, mailbox: str, **fields: Any) -> str:
    """One single-instance event in ``mailbox``'s calendar; returns its id."""
    return sandbox.add_user(mailbox).put_event(event_body(**fields))


def add_series(
    sandbox: GraphSandbox,
    mailbox: str,
    *,
    ical_uid: str,
    starts: Sequence[datetime],
    duration: timedelta = timedelta(minutes=30),
    **fields: Any,
) -> list[str]:
    """A recurring series: its master (fetchable by id) and one occurrence per start.

    Graph gives each occurrence its own ``iCalUId`` (derived from the series and the date), a
    ``seriesMasterId`` and an ``originalStart``; only the master carries the series' UID.
    """
    box = sandbox.add_user(mailbox)
    master_id = make_id("series", box.address, ical_uid)
    master = event_body(
        ical_uid=ical_uid, start=starts[0], end=starts[0] + duration, item_id=master_id, **fields
    )
    box.masters[master_id] = dict(master, type="seriesMaster")
    ids = []
    for when in starts:
        instance_uid = make_id("instance", ical_uid, when.isoformat())
        body = event_body(
            ical_uid=instance_uid,
            start=when,
            end=when + duration,
            item_id=make_id("occ", box.address, ical_uid, when.isoformat()),
            **fields,
        )
        body.update(
            type="occurrence",
            seriesMasterId=master_id,
            originalStart=graph_time(when),
        )
        ids.append(box.put_event(body))
    return ids


def add_meeting_message(
    sandbox: GraphSandbox,
    mailbox: str,
    *,
    event_id: str | None,
    kind: str = "meetingRequest",
    **message: Any,
) -> str:
    """A meeting request or cancellation (``kind``: a ``meetingMessageType``) in a mail folder.

    The message is an ``eventMessage`` (:mod:`sandbox.graph.event_messages`) whose ``event``
    is ``event_id`` in ``mailbox``'s calendar (None: the event is not there); its
    ``startDateTime``/``endDateTime`` are the event's. Returns the message id.
    """
    box = sandbox.add_user(mailbox)
    item_id = add_message(sandbox, mailbox, **message)
    item = box.messages[item_id]
    stored = box.masters.get(event_id or "") or (
        box.events[event_id].body if event_id in box.events else {}
    )
    item.body.update(
        {
            "@odata.type": event_messages.TYPES[kind],
            "meetingMessageType": kind,
            "startDateTime": stored.get("start"),
            "endDateTime": stored.get("end"),
            "isAllDay": bool(stored.get("isAllDay")),
            "type": stored.get("type", "singleInstance"),
        }
    )
    if event_id is not None:
        box.message_events[item_id] = event_id
    return item_id


def seed_demo(
    sandbox: GraphSandbox,
    reps: Sequence[str],
    contacts: Sequence[str],
    rng: random.Random,
    *,
    now: datetime | None = None,
    messages_per_rep: int = 20,
    meetings_per_rep: int = 4,
) -> dict[str, int]:
    """Mail both ways and meetings between ``reps`` (Microsoft 365 users) and ``contacts``.

    Returns counts: ``messages`` and ``meetings`` created. Deterministic for a seeded ``rng``.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    counts = {"messages": 0, "meetings": 0}
    for rep in reps:
        for i in range(messages_per_rep):
            contact = rng.choice(list(contacts))
            when = now - timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 600))
            inbound = rng.random() < 0.5
            add_message(
                sandbox,
                rep,
                message_id=f"demo-{rep.split('@')[0]}-{i}@m365.example",
                sender=contact if inbound else rep,
                to=[rep if inbound else contact],
                subject=f"Re: proposal {i}",
                received=when,
                folder="inbox" if inbound else "sentitems",
            )
            counts["messages"] += 1
        for i in range(meetings_per_rep):
            start = (now + timedelta(days=rng.randint(-20, 10))).replace(
                minute=0, second=0, microsecond=0
            )
            add_meeting(
                sandbox,
                rep,
                ical_uid=f"demo-{rep.split('@')[0]}-{i}@m365.example",
                organizer=rep,
                attendees=[rng.choice(list(contacts))],
                subject=f"Call {i}",
                start=start,
                end=start + timedelta(minutes=30),
            )
            counts["meetings"] += 1
    return counts
