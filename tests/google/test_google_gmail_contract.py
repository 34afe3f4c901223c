"""The Gmail connector passes the connector contract against the Google sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from contract import NOW, ConnectorContract
from google_helpers import deliver_mail, gmail_connector

from connectors import base
from connectors.base import Connector
from connectors.gmail import GmailConnector
from sandbox.google import GoogleSandbox


class TestGmailContract(ConnectorContract):
    MAILBOX = "rep@acme.example"

    @pytest.fixture(autouse=True)
    def _sandboxes(self) -> Iterator[None]:
        self._started: list[GoogleSandbox] = []
        yield
        for sandbox in self._started:
            sandbox.stop()

    def make_connector(self, tmp_path: Path, clock: Callable[[], datetime]) -> Connector:
        sandbox = GoogleSandbox(clock=clock).start()
        self._started.append(sandbox)
        sandbox.add_user(self.MAILBOX)
        connector = gmail_connector(sandbox, tmp_path, (self.MAILBOX,), clock)
        connector._sandbox = sandbox  # type: ignore[attr-defined]
        connector._delivered = 0  # type: ignore[attr-defined]
        return connector

    def deliver(self, connector: Connector, mailbox: str, n: int) -> None:
        start = connector._delivered  # type: ignore[attr-defined]
        deliver_mail(connector._sandbox, mailbox, start, n, NOW - timedelta(days=1))  # type: ignore[attr-defined]
        connector._delivered = start + n  # type: ignore[attr-defined]

    def deliver_malformed(self, connector: Connector, mailbox: str) -> None:
        sandbox: GoogleSandbox = connector._sandbox  # type: ignore[attr-defined]
        when = NOW - timedelta(days=1)
        sandbox.gmail.deliver(mailbox, [("Subject", "no sender at all")], when=when)

    def garbage_cursors(self) -> list[str]:
        return [*super().garbage_cursors(), "gmail:1:hist:abc:-", "gmail:2:hist:5:-"]


def test_registered_under_its_type() -> None:
    assert base.get("gmail") is GmailConnector
