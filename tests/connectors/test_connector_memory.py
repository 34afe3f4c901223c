"""The memory connector passes the connector contract, and its own few promises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from contract import ConnectorContract, fixed_clock, pull_all
from mail_factory import MALFORMED, message

from connectors import base
from connectors.base import Connector, ConnectorContext
from connectors.memory import MemoryConnector, MemorySettings
from syncd.config import CaptureConfig
from syncd.errors import CursorExpired
from syncd.model import SkipReason


def make(clock: Callable[[], datetime] = fixed_clock, **capture: object) -> MemoryConnector:
    settings = MemorySettings(type="memory", name="mem", mailboxes=["rep@acme.example"])
    context = ConnectorContext(clock=clock, capture=CaptureConfig(**capture))
    return MemoryConnector(settings, context)


class TestMemoryContract(ConnectorContract):
    def make_connector(self, tmp_path: Path, clock: Callable[[], datetime]) -> Connector:
        return make(clock)

    def deliver(self, connector: Connector, mailbox: str, n: int) -> None:
        assert isinstance(connector, MemoryConnector)
        start = len(connector._items.get(mailbox, []))
        for i in range(start, start + n):
            connector.add(mailbox, "email", message(i, mailbox=mailbox))

    def deliver_malformed(self, connector: Connector, mailbox: str) -> None:
        assert isinstance(connector, MemoryConnector)
        connector.add(mailbox, "email", MALFORMED)


def test_registered_by_tests_only() -> None:
    assert "memory" not in base.types()
    assert "mbox" in base.types()
    assert base.builtins().with_types(MemoryConnector)["memory"] is MemoryConnector


def test_expired_generation_raises() -> None:
    connector = make()
    connector.add("rep@acme.example", "email", message(1))
    batch = connector.pull("rep@acme.example", None)
    connector.expire_cursors()
    with pytest.raises(CursorExpired):
        connector.pull("rep@acme.example", batch.next_cursor)


def test_items_older_than_the_backfill_window_are_skipped_by_name() -> None:
    # message(0) is dated 2026-03-01; a 3-day window back from 2026-03-10 excludes it.
    connector = make(backfill_days=3)
    connector.add("rep@acme.example", "email", message(0))
    connector.add("rep@acme.example", "email", message(24 * 8))  # 2026-03-09
    batches, _ = pull_all(connector, "rep@acme.example", None)
    assert [s.reason for b in batches for s in b.skips] == [SkipReason.OUTSIDE_WINDOW]
    assert len([a for b in batches for a in b.activities]) == 1


def test_serves_meetings_and_calls_through_the_normalisers() -> None:
    connector = make(default_region="GB")
    start = datetime(2026, 3, 9, 15, tzinfo=UTC)
    connector.add(
        "rep@acme.example",
        "meeting",
        {
            "uid": "evt-1@acme.example",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
            "organizer": {"email": "rep@acme.example"},
            "attendees": [{"email": "cto@customer.example", "partstat": "ACCEPTED"}],
        },
    )
    connector.add(
        "rep@acme.example",
        "call",
        {
            "provider": "aircall",
            "call_id": "42",
            "started_at": start.isoformat(),
            "direction": "outbound",
            "from": "020 7946 0000",
            "to": "+1 415 555 0100",
            "duration_seconds": "61",
        },
    )
    connector.add("rep@acme.example", "fax", {"x": 1})
    batch = connector.pull("rep@acme.example", None)
    kinds = [str(a.kind) for a in batch.activities]
    assert kinds == ["meeting", "call"]
    call = batch.activities[1]
    assert call.key == "cl:aircall:42"
    assert call.participants[0].phone == "+442079460000"
    assert call.participants[0].address == "rep@acme.example"
    assert [s.reason for s in batch.skips] == [SkipReason.UNPARSEABLE]
