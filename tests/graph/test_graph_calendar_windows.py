"""Outlook calendar against Graph's real delta behaviour: `@removed` cancellations, fixed windows.

- An organiser's cancelled or deleted meeting comes back from calendarView delta as
  ``{"id", "@removed"}`` only: the Salesforce Event is re-written as cancelled in that pass.
- A delta link keeps its first window for ever: with the clock moved past ``lookahead_days``
  a new window is opened, so meetings beyond the old end are captured, none twice.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from graph_crm import Crm
from graph_helpers import NOW, FakeClock, calendar_connector

from connectors._graph_calendar_cursor import CalendarCursor
from sandbox.graph import GraphSandbox
from sandbox.graph.seed import add_meeting
from syncd.capture.keys import meeting_key
from syncd.config import CaptureConfig

ANA = "ana@ourco.com"
CUSTOMER = "alice@globex.com"  # a Contact of the seeded org
CAPTURE = CaptureConfig(internal_domains=["ourco.com"])


@pytest.fixture
def graph(clock: FakeClock) -> Iterator[GraphSandbox]:
    with GraphSandbox(clock=clock.now) as sandbox:
        sandbox.add_user(ANA)
        yield sandbox


def meeting(graph: GraphSandbox, uid: str, days: float, organizer: str = ANA) -> str:
    start = NOW + timedelta(days=days)
    attendees = [CUSTOMER] if organizer == ANA else [ANA]
    return add_meeting(
        graph,
        ANA,
        ical_uid=uid,
        organizer=organizer,
        attendees=attendees,
        subject=f"Call {uid}",
        start=start,
        end=start + timedelta(minutes=30),
    )


def events(crm: Crm) -> dict[str, dict[str, Any]]:
    rows = crm.records("Event")
    keys = [str(r["Syncd_Key__c"]) for r in rows]
    assert len(keys) == len(set(keys)), "an Event written twice"
    return {str(r["Syncd_Key__c"]): r for r in rows}


def connector(graph: GraphSandbox, clock: FakeClock) -> Any:
    return calendar_connector(graph, clock, (ANA,), capture=CAPTURE)


def test_an_organisers_deleted_meeting_is_cancelled_in_salesforce_in_the_same_pass(
    crm: Crm, graph: GraphSandbox, clock: FakeClock
) -> None:
    mine = meeting(graph, "demo@ourco.com", 3)
    theirs = meeting(graph, "their-review@globex.com", 4, organizer=CUSTOMER)
    outlook = connector(graph, clock)
    crm.runner.run(outlook, ANA)
    written = events(crm)
    assert set(written) == {meeting_key("demo@ourco.com"), meeting_key("their-review@globex.com")}

    box = graph.mailbox(ANA)
    box.remove_event(mine)  # Ana cancels her meeting: Exchange deletes it from her calendar
    box.remove_event(theirs)  # Ana takes alice's meeting off her own calendar
    graph.reset_counters()
    result = crm.runner.run(outlook, ANA)
    assert result.complete
    after = events(crm)
    cancelled = after[meeting_key("demo@ourco.com")]
    assert cancelled["Subject"] == "Canceled: Call demo@ourco.com"
    assert cancelled["ShowAs"] == "Free"
    kept = after[meeting_key("their-review@globex.com")]
    assert kept["Subject"] == "Call their-review@globex.com"  # an attendee's removal
    assert graph.requests["batch"] == 1  # the organised one was checked once: 404


def test_moving_the_clock_past_lookahead_opens_a_new_window_without_loss_or_repeats(
    crm: Crm, graph: GraphSandbox, clock: FakeClock
) -> None:
    # lookahead_days = 30: the first delta link covers up to NOW + 30 days, for ever.
    meeting(graph, "near@ourco.com", 2)
    meeting(graph, "far@ourco.com", 45)  # booked beyond the window
    doomed = meeting(graph, "doomed@ourco.com", 25)
    outlook = connector(graph, clock)
    crm.runner.run(outlook, ANA)
    assert set(events(crm)) == {meeting_key("near@ourco.com"), meeting_key("doomed@ourco.com")}

    clock.sleep(timedelta(days=20).total_seconds())  # now + 30 days is past the link's end
    meeting(graph, "later@ourco.com", 40)  # booked after the move, beyond the old end
    graph.mailbox(ANA).remove_event(doomed)  # deleted while the window moves
    crm.runner.run(outlook, ANA)
    after = events(crm)
    assert set(after) == {
        meeting_key(uid)
        for uid in ("near@ourco.com", "far@ourco.com", "doomed@ourco.com", "later@ourco.com")
    }
    assert after[meeting_key("doomed@ourco.com")]["Subject"].startswith("Canceled: ")
    assert after[meeting_key("near@ourco.com")]["Subject"] == "Call near@ourco.com"

    # The next day's round goes on from the new link: nothing listed again.
    clock.sleep(timedelta(hours=6).total_seconds())
    graph.reset_counters()
    result = crm.runner.run(outlook, ANA)
    assert graph.requests["calendar_delta"] == 1 and result.outcomes.get("written", 0) == 0


def test_a_version_1_cursor_goes_on_and_opens_a_window_it_knows(
    graph: GraphSandbox, clock: FakeClock
) -> None:
    meeting(graph, "near@ourco.com", 2)
    outlook = connector(graph, clock)
    first = outlook.pull(ANA, None)
    link = CalendarCursor.decode(first.next_cursor, graph.graph_url).link
    raw = json.dumps({"phase": "delta", "link": link}).encode()
    stored = "graph-cal:1:" + base64.urlsafe_b64encode(raw).decode()  # as stored before
    again = outlook.pull(ANA, stored)
    state = CalendarCursor.decode(again.next_cursor, graph.graph_url)
    assert state.phase == "delta" and state.window[1]  # listed a new window, and knows it now
    assert [m.key for m in again.activities] == [meeting_key("near@ourco.com")]
