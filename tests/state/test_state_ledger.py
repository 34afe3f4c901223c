"""The ledger: bulk lookup in one query, idempotent recording, sightings from other mailboxes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from syncd.state import LedgerEntry, Store


def _entries(n: int, mailbox: str = "a@example.com", what_id: str | None = None):
    base = datetime(2025, 3, 1, tzinfo=UTC)
    return [
        LedgerEntry(
            key=f"em:{i:05d}",
            sobject="Task",
            salesforce_id=f"00T{i:015d}",
            connector="gmail",
            mailbox=mailbox,
            kind="email",
            occurred_at=base + timedelta(hours=i),
            what_id=what_id,
        )
        for i in range(n)
    ]


def test_lookup_of_200_keys_is_one_query(store: Store):
    store.ledger.record(_entries(300))
    asked = [f"em:{i:05d}" for i in range(200, 400)]  # 100 written, 100 new

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if "ledger" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        found = store.ledger.lookup(asked)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)

    assert len(statements) == 1
    assert set(found) == {f"em:{i:05d}" for i in range(200, 300)}
    assert found["em:00250"].salesforce_id == "00T000000000000250"


def test_record_is_idempotent_and_keeps_the_first_writer(store: Store, clock):
    first = _entries(3, mailbox="a@example.com")
    assert store.ledger.record(first) == 3
    written_at = store.ledger.get("em:00001").written_at
    clock.advance(minutes=5)

    # A replayed batch (crash after the upsert) and another mailbox's copy: nothing new.
    assert store.ledger.record(first) == 0
    assert store.ledger.record(_entries(3, mailbox="b@example.com")) == 0

    entry = store.ledger.get("em:00001")
    assert entry.mailbox == "a@example.com"
    assert entry.written_at == written_at
    assert store.ledger.count() == 3


def test_second_mailbox_records_a_sighting_without_writing(store: Store, clock):
    store.ledger.record(_entries(1, mailbox="a@example.com"))
    clock.advance(minutes=1)
    assert store.ledger.see("gmail", "b@example.com", ["em:00000"]) == 1
    assert store.ledger.see("gmail", "b@example.com", ["em:00000"]) == 0

    seen = store.ledger.sightings("em:00000")
    assert [(s.mailbox, s.seen_at) for s in seen] == [
        ("a@example.com", clock.current - timedelta(minutes=1)),
        ("b@example.com", clock.current),
    ]
    assert store.ledger.count() == 1


def test_last_activity_per_what_id(store: Store):
    store.ledger.record(_entries(4, what_id="006000000000001AAA"))
    latest = store.ledger.last_activity(["006000000000001AAA", "006000000000002AAA"])
    assert latest == {"006000000000001AAA": datetime(2025, 3, 1, 3, tzinfo=UTC)}
