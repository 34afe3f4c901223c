"""outlook_calendar passes the connector contract against the Graph sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from contract import NOW, ConnectorContract
from graph_helpers import FakeClock, calendar_connector

from connectors.base import Connector, ConnectorContext
from sandbox.graph import GraphSandbox
from sandbox.graph.seed import add_meeting, event_body

MAILBOX = "rep@acme.example"


class TestOutlookCalendarContract(ConnectorContract):
    MAILBOX = MAILBOX

    @pytest.fixture(autouse=True)
    def _sandboxes(self) -> Iterator[None]:
        self.started: list[GraphSandbox] = []
        yield
        for sandbox in self.started:
            sandbox.stop()

    def make_connector(self, tmp_path: Path, clock: Callable[[], datetime]) -> Connector:
        sandbox = GraphSandbox().start()
        self.started.append(sandbox)
        sandbox.add_user(MAILBOX)
        connector = calendar_connector(sandbox, FakeClock(NOW), (MAILBOX,))
        connector.context = ConnectorContext(clock=clock)
        connector.sandbox = sandbox
        return connector

    def deliver(self, connector: Connector, mailbox: str, n: int) -> None:
        sandbox: GraphSandbox = connector.sandbox  # type: ignore[attr-defined]
        count = getattr(connector, "_delivered", 0)
        for i in range(count, count + n):
            start = NOW - timedelta(days=2) + timedelta(hours=i)
            add_meeting(
                sandbox,
                mailbox,
                ical_uid=f"uid-{i}@customer.example",
                organizer=mailbox,
                attendees=[f"buyer{i}@customer.example"],
                subject=f"Demo {i}",
                start=start,
                end=start + timedelta(minutes=30),
            )
        connector._delivered = count + n  # type: ignore[attr-defined]

    def deliver_malformed(self, connector: Connector, mailbox: str) -> None:
        sandbox: GraphSandbox = connector.sandbox  # type: ignore[attr-defined]
        start = NOW - timedelta(days=1)
        # No iCalUId: nothing to key it by, so it can only be a skip.
        body = event_body(
            ical_uid="",
            organizer=mailbox,
            attendees=["x@customer.example"],
            subject="Broken",
            start=start,
            end=start + timedelta(hours=1),
            item_id="AAkALbroken-event",
        )
        sandbox.add_user(mailbox).put_event(body)
