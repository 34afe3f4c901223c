"""Leases: two workers never hold the same unit; expired leases are taken over; renewal extends."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import event, text
from sqlalchemy.engine import URL

from syncd.state import Store, unit_key

TTL = timedelta(minutes=5)
UNITS = [unit_key("gmail", f"rep{i}@example.com") for i in range(4)]


def test_two_workers_split_the_units(store: Store, db_url: URL, clock):
    with Store.open(db_url, clock=clock) as other:
        first = store.leases.acquire("w1", UNITS, limit=2, ttl=TTL)
        second = other.leases.acquire("w2", UNITS, limit=4, ttl=TTL)
        third = other.leases.acquire("w3", UNITS, limit=4, ttl=TTL)

    assert len(first) == 2
    assert sorted(first + second) == sorted(UNITS)
    assert third == []


def test_acquire_keeps_the_workers_own_units_first(store: Store):
    mine = store.leases.acquire("w1", UNITS, limit=2, ttl=TTL)
    again = store.leases.acquire("w1", UNITS, limit=2, ttl=TTL)
    assert again == mine


def test_expired_lease_is_taken_over_and_the_old_holder_cannot_renew(store: Store, clock):
    assert store.leases.acquire("w1", UNITS[:1], limit=1, ttl=TTL) == UNITS[:1]

    clock.advance(minutes=4)
    assert store.leases.acquire("w2", UNITS[:1], limit=1, ttl=TTL) == []

    clock.advance(minutes=1, seconds=1)
    assert store.leases.acquire("w2", UNITS[:1], limit=1, ttl=TTL) == UNITS[:1]
    assert store.leases.renew("w1", UNITS[:1], ttl=TTL) == []
    (lease,) = store.leases.all()
    assert lease.holder == "w2"
    assert lease.acquired_at == clock.current


def test_renewal_extends_the_lease(store: Store, clock):
    store.leases.acquire("w1", UNITS[:1], limit=1, ttl=TTL)
    clock.advance(minutes=4)
    assert store.leases.renew("w1", UNITS[:1], ttl=TTL) == UNITS[:1]
    (lease,) = store.leases.all()
    assert lease.expires_at == clock.current + TTL

    # Past the original expiry but inside the renewed one: still w1's.
    clock.advance(minutes=2)
    assert store.leases.acquire("w2", UNITS[:1], limit=1, ttl=TTL) == []


def test_release_frees_units_for_others(store: Store):
    store.leases.acquire("w1", UNITS, limit=4, ttl=TTL)
    assert store.leases.release("w1", UNITS[:2]) == 2
    assert store.leases.acquire("w2", UNITS, limit=4, ttl=TTL) == sorted(UNITS[:2])
    assert store.leases.release("w1") == 2


def test_concurrent_workers_never_share_a_unit(db_url: URL, clock):
    units = [unit_key("outlook_mail", f"rep{i:02d}@example.com") for i in range(24)]
    Store.open(db_url, clock=clock).close()  # migrate once, before the race
    stores = [Store.open(db_url, clock=clock, migrate=False) for _ in range(4)]
    start = threading.Barrier(len(stores))

    def work(worker: str, store: Store) -> list[str]:
        start.wait(timeout=30)
        mine: list[str] = []
        for _ in range(3):  # several rounds, all racing
            mine = store.leases.acquire(worker, units, limit=6, ttl=TTL)
        return mine

    try:
        with ThreadPoolExecutor(max_workers=len(stores)) as pool:
            futures = {f"w{i}": pool.submit(work, f"w{i}", s) for i, s in enumerate(stores)}
            # .result() re-raises anything a worker thread raised.
            got = {worker: future.result(timeout=60) for worker, future in futures.items()}
    finally:
        for s in stores:
            s.close()

    held = [u for units_held in got.values() for u in units_held]
    assert len(held) == len(set(held))  # nobody shares
    assert sorted(held) == sorted(units)  # 4 workers x 6 = every unit taken
    holders = {lease.unit_key: lease.holder for lease in stores[0].leases.all()}
    for worker, units_held in got.items():
        assert all(holders[u] == worker for u in units_held)


def _lease_inserts(store: Store) -> list[int]:
    """A list that grows by one for every INSERT into the leases table ``store`` sends."""
    seen: list[int] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO LEASES"):
            seen.append(1)

    event.listen(store.engine, "before_cursor_execute", count)
    return seen


def test_a_round_of_single_acquires_inserts_the_lease_rows_once(store: Store):
    # A worker's round: acquire one of the units left, work it, release it, until none is left.
    units = [unit_key("gmail", f"rep{i:03d}@example.com") for i in range(60)]
    inserts = _lease_inserts(store)
    remaining = set(units)
    done: list[str] = []
    while remaining:
        (key,) = store.leases.acquire("w1", sorted(remaining), limit=1, ttl=TTL)
        remaining.discard(key)
        done.append(key)
        store.leases.release("w1", [key])
    assert sorted(done) == units
    assert len(inserts) == 1  # not once per acquire (60), which made a round O(units²)
    # A second round finds every row already there.
    store.leases.acquire("w1", units, limit=1, ttl=TTL)
    assert len(inserts) == 1


def test_a_lease_row_deleted_behind_the_stores_back_comes_back(store: Store):
    assert store.leases.acquire("w1", UNITS, limit=4, ttl=TTL) == sorted(UNITS)
    store.leases.release("w1")
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM leases"))
    # The first acquire finds nothing (its rows were known), the next inserts them again.
    assert store.leases.acquire("w1", UNITS, limit=4, ttl=TTL) == []
    assert store.leases.acquire("w1", UNITS, limit=4, ttl=TTL) == sorted(UNITS)
    assert [lease.holder for lease in store.leases.all()] == ["w1"] * 4
