"""Microsoft Graph responses recorded from the real API: the connectors read them, the emulator
speaks them.

Every recorded message (``me/messages``) goes through the Outlook mail normaliser, and every
recorded event (``me/events``) through the Outlook calendar one, into an activity or a named
skip. Then the Graph sandbox is seeded with the same items through its own seeding helpers and
asked the recorded requests (``/me`` is the signed-in user of a delegated token; an app-only
token names the user: ``/users/{upn}``); every key path of each recorded answer must be in the
sandbox's answer with the same JSON type. Recorded requests for resources syncd never reads
(mail folders, attachments, calendar lists) are skipped by name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from recorded_shapes import recordings, shape_gaps

from connectors._graph_calendar_cursor import CalendarCursor
from connectors.base import ConnectorContext
from connectors.outlook_calendar import OutlookCalendarConnector, OutlookCalendarSettings
from connectors.outlook_mail import OutlookMailConnector, OutlookMailSettings
from sandbox.graph import GraphSandbox
from sandbox.graph.data import parse_time
from sandbox.graph.seed import add_meeting, add_message
from syncd.config import CaptureConfig
from syncd.config.types import SecretRef
from syncd.model import Activity, Meeting, Skip, SkipReason

OWNER = "kelvin@nangodev.onmicrosoft.com"  # the recorded mailbox
READ = {"v1.0/me/messages", "v1.0/me/events"}  # the resources syncd reads


def _answers(endpoint: str) -> list[dict[str, Any]]:
    return [d["response"] for _, d in recordings("outlook") if d["endpoint"] == endpoint]


def _items(endpoint: str) -> list[dict[str, Any]]:
    return [item for answer in _answers(endpoint) for item in answer["value"]]


def _context() -> ConnectorContext:
    return ConnectorContext(
        clock=lambda: datetime(2025, 6, 1, tzinfo=UTC),
        capture=CaptureConfig(internal_domains=["nangodev.onmicrosoft.com"]),
    )


def _settings(cls: Any, type_: str, sandbox: GraphSandbox | None = None) -> Any:
    extra: dict[str, Any]
    if sandbox is not None:
        extra = {
            "tenant_id": sandbox.tenant,
            "client_id": sandbox.client_id,
            "authority_host": sandbox.url,
            "graph_url": sandbox.graph_url,
            "ca_bundle": sandbox.ca_bundle,
            "client_secret": SecretRef(env="SYNCD_TEST_RECORDED_GRAPH_SECRET"),
        }
    else:
        extra = {"tenant_id": "t", "client_id": "c"}
    return cls(type=type_, name=type_, mailboxes=(OWNER,), **extra)


def test_every_recorded_message_becomes_an_activity_or_a_named_skip() -> None:
    messages = _items("v1.0/me/messages")
    assert messages, "no recorded me/messages answers"
    connector = OutlookMailConnector(_settings(OutlookMailSettings, "outlook_mail"), _context())
    activities, skips = connector.normalise(OWNER, "inbox", messages)
    assert len(activities) + len(skips) == len(messages)
    for skip in skips:
        assert isinstance(skip.reason, SkipReason) and skip.source_id in {m["id"] for m in messages}
    for activity in activities:
        assert isinstance(activity, Activity) and activity.key.startswith("em:")
        assert activity.occurred_at.tzinfo is not None


def test_every_recorded_event_becomes_a_meeting_or_a_named_skip() -> None:
    events = _items("v1.0/me/events")
    assert events, "no recorded me/events answers"
    connector = OutlookCalendarConnector(
        _settings(OutlookCalendarSettings, "outlook_calendar"), _context()
    )
    state = CalendarCursor()
    meetings, skips = connector.normalise_events(OWNER, state, events)
    assert len(meetings) + len(skips) == len(events)
    # The recording's $select has no iCalUId: without it no meeting can be keyed.
    for skip in skips:
        assert isinstance(skip, Skip) and skip.reason is SkipReason.NO_UID
    for meeting in meetings:
        assert isinstance(meeting, Meeting) and meeting.start.tzinfo is not None
    # With the UID (syncd's calendarView asks for every property) they are all meetings.
    keyed = [dict(e, iCalUId=f"uid-{n}@example.com") for n, e in enumerate(events)]
    meetings, skips = connector.normalise_events(OWNER, state, keyed)
    assert len(meetings) == len(events) and not skips
    assert set(state.organised) == {e["id"] for e in events if e["isOrganizer"]}


def _seed(sandbox: GraphSandbox, endpoint: str) -> None:
    for n, item in enumerate(_items(endpoint)):
        if endpoint == "v1.0/me/messages":
            add_message(
                sandbox,
                OWNER,
                message_id=f"recorded-{n}@example.com",
                sender=item["from"]["emailAddress"]["address"],
                to=[r["emailAddress"]["address"] for r in item["toRecipients"]],
                subject=item["subject"],
                received=parse_time(item["receivedDateTime"]),
                conversation_id=item["conversationId"],
            )
        else:
            add_meeting(
                sandbox,
                OWNER,
                ical_uid=f"recorded-{n}@example.com",
                organizer=item["organizer"]["emailAddress"]["address"],
                attendees=[a["emailAddress"]["address"] for a in item["attendees"]],
                subject=item["subject"],
                start=parse_time(item["start"]["dateTime"]),
                end=parse_time(item["end"]["dateTime"]),
                all_day=item["isAllDay"],
            )


@pytest.fixture(scope="module")
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox() as sandbox:
        os.environ["SYNCD_TEST_RECORDED_GRAPH_SECRET"] = sandbox.client_secret
        sandbox.add_user(OWNER)
        for endpoint in sorted(READ):
            _seed(sandbox, endpoint)
        yield sandbox


def _recorded() -> list[Any]:
    try:
        found = recordings("outlook")
    except pytest.skip.Exception:
        return [pytest.param(None, None, id="no-recordings")]
    return [pytest.param(path, data, id=path.stem[:10]) for path, data in found]


@pytest.mark.parametrize(("path", "data"), _recorded())
def test_the_sandbox_answers_each_recorded_request_in_the_recorded_shape(
    graph: GraphSandbox, path: Path | None, data: dict[str, Any] | None
) -> None:
    if data is None:
        recordings("outlook")  # skips, saying where the recordings should be
        return
    if data["endpoint"] not in READ:
        pytest.skip(f"{data['endpoint'].split('/')[-1]}: syncd never reads it; not emulated")
    client = OutlookMailConnector(
        _settings(OutlookMailSettings, "outlook_mail", graph), ConnectorContext()
    ).client
    resource = data["endpoint"].removeprefix("v1.0/me/")
    params = {str(k): str(v) for k, v in data["requestIdentity"]["params"]}
    answer = client.get(OWNER, f"{graph.graph_url}/users/{OWNER}/{resource}", params=params)
    assert len(answer["value"]) == len(data["response"]["value"])
    assert shape_gaps(data["response"], answer) == [], path
