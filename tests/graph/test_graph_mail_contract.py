"""outlook_mail passes the connector contract against the Graph sandbox over real HTTPS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from contract import NOW, ConnectorContract
from graph_helpers import FakeClock, mail_connector

from connectors.base import Connector
from connectors.outlook_mail import OutlookMailConnector
from sandbox.graph import GraphSandbox
from sandbox.graph.seed import add_message

MAILBOX = "rep@acme.example"


class TestOutlookMailContract(ConnectorContract):
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
        connector = mail_connector(sandbox, FakeClock(NOW), (MAILBOX,))
        connector.context = type(connector.context)(clock=clock)
        connector.sandbox = sandbox  # type: ignore[attr-defined]
        return connector

    def deliver(self, connector: Connector, mailbox: str, n: int) -> None:
        assert isinstance(connector, OutlookMailConnector)
        sandbox: GraphSandbox = connector.sandbox  # type: ignore[attr-defined]
        count = getattr(connector, "_delivered", 0)
        for i in range(count, count + n):
            add_message(
                sandbox,
                mailbox,
                message_id=f"m{i}@customer.example",
                sender=f"buyer{i}@customer.example",
                to=[mailbox],
                subject=f"Pricing question {i}",
                received=NOW - timedelta(days=2) + timedelta(minutes=i),
            )
        connector._delivered = count + n  # type: ignore[attr-defined]

    def deliver_malformed(self, connector: Connector, mailbox: str) -> None:
        sandbox: GraphSandbox = connector.sandbox  # type: ignore[attr-defined]
        box = sandbox.add_user(mailbox)
        # A message without a sender (a broken NDR): no normaliser can make an Email of it.
        box.put_message(
            "inbox",
            {
                "id": "AAkALbroken",
                "internetMessageId": "<broken@x>",
                "subject": "",
                "toRecipients": [],
                "receivedDateTime": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "isDraft": False,
            },
        )
