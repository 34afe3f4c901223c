"""The Google Calendar connector passes the connector contract against the Google sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from contract import NOW, ConnectorContract
from google_helpers import calendar_connector, meeting

from connectors import base
from connectors.base import Connector
from connectors.google_calendar import GoogleCalendarConnector
from sandbox.google import GoogleSandbox


class TestGoogleCalendarContract(ConnectorContract):
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
        connector = calendar_connector(sandbox, tmp_path, (self.MAILBOX,), clock)
        connector._sandbox = sandbox  # type: ignore[attr-defined]
        connector._delivered = 0  # type: ignore[attr-defined]
        return connector

    def deliver(self, connector: Connector, mailbox: str, n: int) -> None:
        sandbox: GoogleSandbox = connector._sandbox  # type: ignore[attr-defined]
        start = connector._delivered  # type: ignore[attr-defined]
        for i in range(start, start + n):
            when = NOW - timedelta(days=2, hours=i)
            sandbox.calendar.add_event(mailbox, meeting(i, mailbox, when))
        connector._delivered = start + n  # type: ignore[attr-defined]

    def deliver_malformed(self, connector: Connector, mailbox: str) -> None:
        sandbox: GoogleSandbox = connector._sandbox  # type: ignore[attr-defined]
        event = meeting(999, mailbox, NOW - timedelta(days=3))
        event["start"] = {"dateTime": "2026-03-07T10:00:00"}  # no offset and no time zone
        sandbox.calendar.add_event(mailbox, event)

    def garbage_cursors(self) -> list[str]:
        return [*super().garbage_cursors(), "gcal:1:full:x:y|", "gcal:1:sync:a b|"]


def test_registered_under_its_type() -> None:
    assert base.get("google_calendar") is GoogleCalendarConnector
