"""store.transaction(): ledger, counters, queues and the cursor commit together or not at all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncd.state import LedgerEntry, Store

UNIT = ("gmail", "rep@example.com")


def _entry(key: str, mailbox: str = UNIT[1]) -> LedgerEntry:
    return LedgerEntry(
        key=key,
        sobject="Task",
        salesforce_id="00T" + key[-3:].rjust(15, "0"),
        connector=UNIT[0],
        mailbox=mailbox,
        kind="email",
        occurred_at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        match_trace={"who": "contact", "why": "email"},
    )


class Boom(Exception):
    pass


def test_exception_inside_transaction_leaves_nothing_behind(store: Store):
    store.cursors.set(*UNIT, "history-1")

    with pytest.raises(Boom), store.transaction() as tx:
        tx.ledger.record([_entry("em:001"), _entry("em:002")])
        tx.counts.increment(*UNIT, {"written": 2, "skipped:internal_only": 1})
        tx.unmatched.add(*UNIT, "em:003", {"subject": "hi"}, "no contact")
        tx.dead_letters.add(*UNIT, {"k": 1}, "STRING_TOO_LONG", "Subject too long", key="em:004")
        tx.cursors.set(*UNIT, "history-2")
        # Inside the transaction its own writes are visible.
        assert set(tx.ledger.lookup(["em:001", "em:002"])) == {"em:001", "em:002"}
        raise Boom

    assert store.ledger.lookup(["em:001", "em:002"]) == {}
    assert store.cursors.get(*UNIT) == "history-1"
    assert store.counts.for_unit(*UNIT) == {}
    assert store.unmatched.count() == 0
    assert store.dead_letters.count_open() == 0


def test_committed_transaction_makes_everything_visible_at_once(store: Store):
    with store.transaction() as tx:
        tx.ledger.record([_entry("em:001")])
        tx.counts.increment(*UNIT, {"written": 1})
        tx.cursors.set(*UNIT, "history-2")
        # Other connections do not see it before the commit (and reading does not stall).
        assert store.ledger.lookup(["em:001"]) == {}
        assert store.cursors.get(*UNIT) is None

    assert set(store.ledger.lookup(["em:001"])) == {"em:001"}
    assert store.counts.for_unit(*UNIT) == {"written": 1}
    assert store.cursors.get(*UNIT) == "history-2"


def test_constraint_failure_rolls_back_the_cursor_too(store: Store):
    store.cursors.set(*UNIT, "history-1")
    with pytest.raises(ValueError, match="sobject"), store.transaction() as tx:
        tx.cursors.set(*UNIT, "history-2")
        tx.ledger.record([LedgerEntry(**{**_entry("em:9").__dict__, "sobject": "Note"})])
    assert store.cursors.get(*UNIT) == "history-1"
