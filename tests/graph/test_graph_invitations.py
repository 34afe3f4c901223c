"""Meeting requests and cancellations in Outlook mail are the meeting, not an email Task.

Real msal + requests against the Graph sandbox: an ``eventMessageRequest`` in the inbox, the
same meeting in the Outlook calendar and in an mbox invitation become ONE Salesforce Event; a
later ``meetingCancelled`` message marks it; ordinary mail stays an email; each meeting
message costs one ``$batch`` member, nothing else does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
import pytest
import requests
from graph_crm import Crm
from graph_helpers import NOW, FakeClock, app_token, calendar_connector, mail_connector

from connectors.base import ConnectorContext
from connectors.mbox import MboxConnector, MboxSettings
from sandbox.graph import GraphSandbox
from sandbox.graph.seed import add_meeting_message, add_message, add_series, event_body
from syncd.config import CaptureConfig
from syncd.model import Meeting

ANA = "ana@ourco.com"  # Microsoft 365
CAPTURE = CaptureConfig(internal_domains=["ourco.com"])
PRICING_AT = NOW + timedelta(days=2)
ROADMAP_AT = NOW + timedelta(days=3)


@pytest.fixture
def graph(clock: FakeClock) -> Iterator[GraphSandbox]:
    with GraphSandbox(clock=clock.now) as sandbox:
        sandbox.add_user(ANA)
        yield sandbox


def _meeting(graph: GraphSandbox, uid: str, subject: str, at: datetime, **extra: Any) -> str:
    fields = dict(ical_uid=uid, organizer="alice@globex.com", attendees=[ANA, "bob@globex.com"])
    body = event_body(subject=subject, start=at, end=at + timedelta(minutes=30), **fields, **extra)
    return graph.mailbox(ANA).put_event(body)


def _mail(n: int, subject: str, **extra: Any) -> dict[str, Any]:
    return dict(
        message_id=f"m{n}@globex.com",
        sender="alice@globex.com",
        to=[ANA],
        subject=subject,
        received=NOW - timedelta(hours=10 - n),
        **extra,
    )


def _mbox_invitation(tmp_path: Path, uid: str, at: datetime, rrule: str | None = None) -> Path:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//syncd tests//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    vevent = icalendar.Event()
    vevent.add("uid", uid)
    vevent.add("dtstart", at)
    vevent.add("dtend", at + timedelta(minutes=30))
    vevent.add("summary", "Pricing review")
    if rrule:
        vevent.add("rrule", icalendar.vRecur.from_ical(rrule))
    vevent.add("organizer", "mailto:alice@globex.com")
    vevent.add("attendee", f"mailto:{ANA}")
    calendar.add_component(vevent)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "alice@globex.com", ANA, "Pricing review"
    mail["Date"], mail["Message-ID"] = "Tue, 10 Mar 2026 09:00:00 +0000", "<mbox-inv@globex.com>"
    mail.set_content("You are invited.")
    mail.add_alternative(calendar.to_ical(), maintype="text", subtype="calendar",
                         params={"method": "REQUEST"})  # fmt: skip
    path = tmp_path / "ana.mbox"
    path.write_bytes(b"From alice@globex.com Tue Mar 10 09:00:00 2026\n" + mail.as_bytes())
    return path


def test_a_meeting_in_outlook_mail_calendar_and_mbox_is_one_event_and_a_cancellation_marks_it(
    crm: Crm, graph: GraphSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    pricing = _meeting(graph, "pricing@globex.com", "Pricing review", PRICING_AT)
    roadmap = _meeting(graph, "roadmap@globex.com", "Roadmap", ROADMAP_AT)
    add_meeting_message(graph, ANA, event_id=pricing, **_mail(1, "Pricing review"))
    add_meeting_message(graph, ANA, event_id=roadmap, **_mail(2, "Roadmap"))
    add_message(graph, ANA, **_mail(3, "Renewal terms"))

    mail = mail_connector(graph, clock, (ANA,), capture=CAPTURE)
    first = crm.runner.run(mail, ANA)
    assert first.complete is True
    events = {e["Subject"]: e for e in crm.records("Event")}
    assert sorted(events) == ["Pricing review", "Roadmap"]
    tasks = crm.records("Task")
    assert [t["Subject"] for t in tasks] == ["Email: Renewal terms"]  # the invitations are not
    assert graph.requests["batch"] == 1 and graph.requests["batch_member"] == 2  # 1 per invite

    # The organiser cancels Roadmap: Outlook marks the attendee's event and mails the notice.
    _meeting(graph, "roadmap@globex.com", "Roadmap", ROADMAP_AT, item_id=roadmap, cancelled=True)
    add_meeting_message(
        graph,
        ANA,
        event_id=roadmap,
        kind="meetingCancelled",
        **_mail(4, "Canceled: Roadmap"),
    )
    graph.requests.clear()
    crm.runner.run(mail, ANA)
    assert graph.requests["batch_member"] == 1
    events = {e["Syncd_Key__c"]: e for e in crm.records("Event")}
    assert len(events) == 2
    by_subject = {e["Subject"]: e for e in events.values()}
    assert "Canceled: Roadmap" in by_subject and by_subject["Canceled: Roadmap"]["ShowAs"] == "Free"
    assert by_subject["Pricing review"]["ShowAs"] == "Busy"

    # The Outlook calendar and an mbox invitation see the same meetings under the same keys.
    crm.runner.run(calendar_connector(graph, clock, (ANA,), capture=CAPTURE), ANA)
    invitation = _mbox_invitation(tmp_path, "pricing@globex.com", PRICING_AT)
    crm.runner.run(_mbox(tmp_path, clock, invitation), ANA)
    assert {e["Syncd_Key__c"] for e in crm.records("Event")} == set(events)  # still 2 Events
    assert len(crm.records("Task")) == 1
    pricing_key = by_subject["Pricing review"]["Syncd_Key__c"]
    seen = {s.connector for s in crm.store.ledger.sightings(pricing_key)}
    assert seen == {"outlook", "outlook-calendar", "mbox"}


def _mbox(tmp_path: Path, clock: FakeClock, path: Path) -> MboxConnector:
    settings = MboxSettings(
        type="mbox", name="mbox", path=str(path), mailbox=ANA, since=date(2026, 1, 1)
    )
    return MboxConnector(settings, ConnectorContext(clock=clock.now, capture=CAPTURE))


def test_series_invitations_and_occurrence_updates_are_keyed_as_the_calendar_keys_them(
    graph: GraphSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    starts = [NOW + timedelta(days=d) for d in (1, 8, 15)]
    fields = dict(organizer="alice@globex.com", attendees=[ANA, "bob@globex.com"])
    occurrences = add_series(
        graph, ANA, ical_uid="weekly@globex.com", starts=starts, subject="Weekly", **fields
    )
    (master,) = graph.mailbox(ANA).masters
    add_meeting_message(graph, ANA, event_id=master, **_mail(1, "Weekly"))
    add_meeting_message(graph, ANA, event_id=occurrences[1], **_mail(2, "Weekly (moved)"))
    old = _meeting(graph, "old@globex.com", "Old", NOW - timedelta(days=400))
    add_meeting_message(graph, ANA, event_id=old, **_mail(3, "Old"))

    batch = mail_connector(graph, clock, (ANA,), capture=CAPTURE).pull(ANA, None)
    assert all(isinstance(a, Meeting) for a in batch.activities)
    mail_keys = [a.key for a in batch.activities]
    assert [s.reason.value for s in batch.skips] == ["outside_window"]  # a 400-day-old meeting
    # 3 meeting messages: 3 lookups in one $batch, and the series master's UID in one more.
    assert graph.requests["batch"] == 2 and graph.requests["batch_member"] == 4

    calendar = calendar_connector(graph, clock, (ANA,), capture=CAPTURE).pull(ANA, None)
    by_start = {a.occurred_at: a.key for a in calendar.activities if isinstance(a, Meeting)}
    assert mail_keys == [by_start[starts[0]], by_start[starts[1]]]
    weekly = _mbox_invitation(tmp_path, "weekly@globex.com", starts[0], "FREQ=WEEKLY;COUNT=3")
    (mbox,) = _mbox(tmp_path, clock, weekly).pull(ANA, None).activities
    assert mbox.key == mail_keys[0]


def test_an_invitation_whose_event_is_gone_is_a_named_skip_and_answers_stay_email(
    graph: GraphSandbox, clock: FakeClock
) -> None:
    gone = _meeting(graph, "gone@globex.com", "Gone", PRICING_AT)
    graph.mailbox(ANA).remove_event(gone)  # the rep took it off the calendar
    add_meeting_message(graph, ANA, event_id=gone, **_mail(1, "Gone"))
    add_meeting_message(graph, ANA, event_id=None, kind="meetingAccepted", **_mail(2, "OK"))
    batch = mail_connector(graph, clock, (ANA,), capture=CAPTURE, fetch_headers=True).pull(
        ANA, None
    )
    assert [(s.reason.value, s.detail) for s in batch.skips] == [
        ("no_uid", "the meeting's event is not in the calendar")
    ]
    assert [type(a).__name__ for a in batch.activities] == ["Email"]  # the answer
    # One lookup per message: the invitation's carries its headers too (fetch_headers).
    assert graph.requests["batch_member"] == 2


def test_the_sandbox_serves_event_messages_as_graph_documents_them(graph: GraphSandbox) -> None:
    event = _meeting(graph, "pricing@globex.com", "Pricing", PRICING_AT)
    invite = add_meeting_message(graph, ANA, event_id=event, **_mail(1, "Pricing"))
    plain = add_message(graph, ANA, **_mail(2, "hello"))
    token = app_token(graph)

    def get(path: str, **params: str) -> requests.Response:
        return requests.get(
            f"{graph.graph_url}/users/{ANA}/{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            verify=graph.ca_bundle,
            timeout=10,
        )

    listed = get("mailFolders/inbox/messages/delta").json()["value"]
    kinds = {m["id"]: (m.get("@odata.type"), m.get("meetingMessageType")) for m in listed}
    assert kinds == {
        invite: ("#microsoft.graph.eventMessageRequest", "meetingRequest"),
        plain: (None, None),
    }
    selected = get("mailFolders/inbox/messages/delta", **{"$select": "subject"}).json()["value"]
    assert {m["id"]: m.get("@odata.type") for m in selected}[invite].endswith("Request")
    # A derived type's property needs its cast on a message URL, as OData and Graph require.
    assert get(f"messages/{invite}", **{"$select": "meetingMessageType"}).status_code == 400
    cast = "microsoft.graph.eventMessage/meetingMessageType"
    expand = "microsoft.graph.eventMessage/event($select=iCalUId,subject)"
    body = get(f"messages/{invite}", **{"$select": cast, "$expand": expand}).json()
    assert body["meetingMessageType"] == "meetingRequest"
    assert body["event"]["iCalUId"] == "pricing@globex.com" and "start" not in body["event"]
    assert "event" not in get(f"messages/{plain}", **{"$expand": expand}).json()
    bad = get(f"messages/{invite}", **{"$expand": "microsoft.graph.eventMessage/event($top=1)"})
    assert bad.status_code == 400
    path = f"messages/{invite}/microsoft.graph.eventMessage/event"
    assert get(path, **{"$select": "iCalUId"}).json()["iCalUId"] == "pricing@globex.com"
    assert get(f"messages/{plain}/microsoft.graph.eventMessage/event").status_code == 404
