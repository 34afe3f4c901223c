"""The contract every connector passes: subclass ``ConnectorContract`` and fill in three hooks.

A subclass provides:

- ``make_connector(tmp_path, clock)`` → a connector whose mailbox ``MAILBOX`` is empty;
- ``deliver(connector, mailbox, n)`` → put ``n`` new, distinct, well-formed items in the
  mailbox (dated inside the backfill window). Deterministic: the k-th item delivered to a
  fresh connector is always the same item;
- ``deliver_malformed(connector, mailbox)`` → put one item no normaliser can turn into an
  activity.

and may override ``garbage_cursors`` and ``MAILBOX``. In return it gets tests of the pull
contract of ``connectors/base.py``: nothing lost or repeated across pages and resumes, old
cursors idempotent, aware UTC times, deterministic keys, expired cursors raised, malformed
items skipped rather than raised, kinds within the declared ones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import Connector
from syncd.errors import CursorExpired
from syncd.model import Activity, Batch, SkipReason

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return NOW


def pull_all(
    connector: Connector, mailbox: str, cursor: str | None, limit: int | None = None
) -> tuple[list[Batch], str | None]:
    """Pull until ``more`` is false; every batch, and the last cursor."""
    batches: list[Batch] = []
    for _ in range(10_000):
        batch = connector.pull(mailbox, cursor, limit=limit)
        batches.append(batch)
        assert batch.next_cursor is not None, "every batch must say where to resume"
        cursor = batch.next_cursor
        if not batch.more:
            return batches, cursor
    raise AssertionError("connector never stopped saying more=True")


def keys(batches: list[Batch]) -> list[str]:
    return [a.key for b in batches for a in b.activities]


class ConnectorContract:
    """Base class of every connector's contract tests."""

    MAILBOX = "rep@acme.example"

    def make_connector(self, tmp_path: Path, clock: Callable[[], datetime]) -> Connector:
        raise NotImplementedError

    def deliver(self, connector: Connector, mailbox: str, n: int) -> None:
        raise NotImplementedError

    def deliver_malformed(self, connector: Connector, mailbox: str) -> None:
        raise NotImplementedError

    def garbage_cursors(self) -> list[str]:
        return ["", "garbage", "x:1:2:3", "\x00\xff", "9" * 50]

    @pytest.fixture
    def connector(self, tmp_path: Path) -> Connector:
        return self.make_connector(tmp_path, fixed_clock)

    def test_declares_its_facts(self, connector: Connector) -> None:
        cls = type(connector)
        assert cls.type and isinstance(cls.type, str)
        assert cls.kinds and cls.kinds <= {"email", "meeting", "call"}
        assert cls.page_size > 0
        assert self.MAILBOX in connector.mailboxes()

    def test_empty_mailbox_gives_an_empty_batch_with_a_cursor(self, connector: Connector) -> None:
        batch = connector.pull(self.MAILBOX, None, limit=10)
        assert len(batch) == 0
        assert batch.more is False
        assert batch.next_cursor is not None

    def test_full_then_incremental_returns_each_item_once(self, connector: Connector) -> None:
        self.deliver(connector, self.MAILBOX, 5)
        first, cursor = pull_all(connector, self.MAILBOX, None)
        assert len(keys(first)) == 5 == len(set(keys(first)))
        self.deliver(connector, self.MAILBOX, 3)
        second, cursor = pull_all(connector, self.MAILBOX, cursor)
        assert len(keys(second)) == 3
        assert not set(keys(second)) & set(keys(first))
        third, _ = pull_all(connector, self.MAILBOX, cursor)
        assert keys(third) == []

    @pytest.mark.parametrize("limit", [1, 2, 3, 7])
    def test_paging_loses_and_repeats_nothing(self, connector: Connector, limit: int) -> None:
        self.deliver(connector, self.MAILBOX, 10)
        whole, _ = pull_all(connector, self.MAILBOX, None)
        paged, _ = pull_all(connector, self.MAILBOX, None, limit=limit)
        assert all(len(b) <= limit for b in paged)
        assert sorted(keys(paged)) == sorted(keys(whole))
        assert len(keys(paged)) == len(set(keys(paged))) == 10

    def test_cursor_resumes_exactly_after_its_batch(self, connector: Connector) -> None:
        self.deliver(connector, self.MAILBOX, 9)
        whole, _ = pull_all(connector, self.MAILBOX, None)
        first = connector.pull(self.MAILBOX, None, limit=4)
        rest, _ = pull_all(connector, self.MAILBOX, first.next_cursor)
        assert keys([first]) + keys(rest) == keys(whole)

    def test_pulling_again_from_an_old_cursor_is_idempotent(self, connector: Connector) -> None:
        self.deliver(connector, self.MAILBOX, 6)
        first = connector.pull(self.MAILBOX, None, limit=2)
        again_a, _ = pull_all(connector, self.MAILBOX, first.next_cursor)
        again_b, _ = pull_all(connector, self.MAILBOX, first.next_cursor)
        assert keys(again_a) == keys(again_b)
        assert len(keys(again_a)) == 4

    def test_times_are_aware_utc_and_keys_deterministic(self, tmp_path: Path) -> None:
        a = self.make_connector(tmp_path / "a", fixed_clock)
        self.deliver(a, self.MAILBOX, 4)
        batches, _ = pull_all(a, self.MAILBOX, None)
        activities: list[Activity] = [x for b in batches for x in b.activities]
        assert len(activities) == 4
        for activity in activities:
            assert activity.occurred_at.utcoffset() is not None
            assert activity.occurred_at.utcoffset().total_seconds() == 0
            assert activity.mailbox == self.MAILBOX
            assert activity.source == a.name
            assert 0 < len(activity.key) <= 255
        # The same items delivered to a fresh instance get the same keys.
        b = self.make_connector(tmp_path / "b", fixed_clock)
        self.deliver(b, self.MAILBOX, 4)
        again, _ = pull_all(b, self.MAILBOX, None)
        assert keys(again) == keys(batches)

    def test_garbage_cursor_raises_cursor_expired(self, connector: Connector) -> None:
        self.deliver(connector, self.MAILBOX, 2)
        for cursor in self.garbage_cursors():
            with pytest.raises(CursorExpired):
                connector.pull(self.MAILBOX, cursor, limit=5)

    def test_malformed_item_becomes_a_skip(self, connector: Connector) -> None:
        self.deliver(connector, self.MAILBOX, 2)
        self.deliver_malformed(connector, self.MAILBOX)
        self.deliver(connector, self.MAILBOX, 2)
        batches, _ = pull_all(connector, self.MAILBOX, None)
        skips = [s for b in batches for s in b.skips]
        assert len(keys(batches)) == 4
        assert len(skips) >= 1
        assert all(isinstance(s.reason, SkipReason) for s in skips)

    def test_kinds_are_within_the_declared_kinds(self, connector: Connector) -> None:
        self.deliver(connector, self.MAILBOX, 5)
        batches, _ = pull_all(connector, self.MAILBOX, None)
        produced = {str(a.kind) for b in batches for a in b.activities}
        assert produced and produced <= type(connector).kinds
