"""Leases across workers: 3 workers, 200 mailbox units, one worker dying mid-pass.

Each worker is a thread with its own Store (its own connection pool), Salesforce client,
directory and runner, as separate processes would have; they share only the database and the
sandbox org. Time for leases comes from one fake clock the test moves, so expiry needs no
real waiting. Worker "dead" stops in the middle of a pass (after committing its unit's first
batch it never returns or renews, as a SIGKILLed or hung process); the others finish every
other unit, then once its lease expires one of them takes that unit over and finishes it.

Checks: every (unit, worker, start, end) span is disjoint from every other worker's span on the
same unit; every unit is synced; the org holds exactly one Task per message (nothing written
twice) and the ledger agrees. Runs on SQLite (threads of one process) and on PostgreSQL
(``SYNCD_TEST_POSTGRES_URL``; skipped visibly without).
"""

from __future__ import annotations

import itertools
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from service_helpers import MovableClock, message
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))

from sf_helpers import make_client, org_with_key_field

from connectors.base import ConnectorContext
from connectors.memory import MemoryConnector, MemorySettings
from syncd.capture.privacy import PrivacyRules
from syncd.capture.runner import Runner
from syncd.config import CaptureConfig
from syncd.salesforce.directory import Directory
from syncd.salesforce.writer import ActivityWriter
from syncd.service.workers import Heartbeat, Worker
from syncd.state import Store
from syncd.state.leases import unit_key

PG_ENV = "SYNCD_TEST_POSTGRES_URL"
UNITS = 200
#: The first units (the dead worker takes them, alone, in key order) have two messages, so
#: the take-over has a second batch to write; the others one.
LONG_UNITS = 3
TTL = timedelta(seconds=60)


class Killed(BaseException):
    """Unwinds the dead worker's thread at the end of the test (it was already 'dead')."""


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":  # the in-process variant, smaller: the 200 are on PG
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    raw = os.environ.get(PG_ENV)
    if not raw:
        pytest.skip(f"the PostgreSQL multi-worker test needs {PG_ENV}")
    schema = f"syncd_service_{secrets.token_hex(4)}"
    admin = create_engine(make_url(raw).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(raw).set(drivername="postgresql+psycopg")
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


class Spans:
    """(unit, worker, start, end) of every pass, from the monotonic clock."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, float, float]] = []
        self._lock = threading.Lock()

    def add(self, unit: str, worker: str, start: float, end: float) -> None:
        with self._lock:
            self.rows.append((unit, worker, start, end))


def test_three_workers_share_200_units_and_take_over_a_dead_workers_unit(
    state_url: str,
) -> None:
    units_n = UNITS if state_url.startswith("postgresql") else 40
    clock = MovableClock()
    spans = Spans()
    with org_with_key_field() as sb:
        (account,) = sb.insert("Account", [{"Name": "Globex", "Website": "globex.com"}])
        sb.insert(
            "Contact", [{"LastName": "Alice", "Email": "alice@globex.com", "AccountId": account}]
        )
        reps = [f"rep{i:03d}@ourco.com" for i in range(units_n)]
        sb.insert("User", [{"Username": r, "Email": r, "LastName": r[:6]} for r in reps])
        connector = MemoryConnector(
            MemorySettings(type="memory", name="mem"),
            ConnectorContext(clock=lambda: datetime.now(UTC)),
        )
        connector.page_size = 1  # type: ignore[misc]  # one message per batch
        for i, rep in enumerate(reps):
            for n in range(2 if i < LONG_UNITS else 1):
                mid = f"<{rep.split('@')[0]}-{n}@globex.com>"
                connector.add(
                    rep, "email", message("alice@globex.com", rep, mid, "Hello").as_bytes()
                )
        units = [("mem", r) for r in reps]
        rules_config = CaptureConfig(internal_domains=["ourco.com"])
        stuck, unstick = threading.Event(), threading.Event()
        dead_unit: list[str] = []

        def make_worker(name: str) -> tuple[Worker, Runner, list[Any]]:
            store = Store.open(state_url, clock=clock)
            client = make_client(sb)
            directory = Directory.load(client)
            rules = PrivacyRules.from_capture(rules_config, reps)
            runner = Runner(store, ActivityWriter(client), directory, rules)
            return Worker(store, worker_id=name, ttl=TTL, clock=clock), runner, [store, client]

        def pass_fn(worker: Worker, runner: Runner) -> Any:
            def fn(c: str, m: str, should_stop: Any) -> None:
                start = time.monotonic()
                runner.should_stop = should_stop
                runner.run(connector, m)
                spans.add(unit_key(c, m), worker.id, start, time.monotonic())

            return fn

        def dying_fn(worker: Worker, runner: Runner) -> Any:
            done = 0

            def fn(c: str, m: str, should_stop: Any) -> None:
                nonlocal done
                done += 1
                start = time.monotonic()
                if done < 3:
                    runner.should_stop, runner.on_batch = should_stop, None
                    runner.run(connector, m)
                    spans.add(unit_key(c, m), worker.id, start, time.monotonic())
                    return

                def die(_result: Any, _batch: Any) -> None:
                    # dead from here on: the first batch is committed, nothing is renewed
                    spans.add(unit_key(c, m), worker.id, start, time.monotonic())
                    dead_unit.append(unit_key(c, m))
                    stuck.set()
                    unstick.wait(60)
                    raise Killed

                runner.should_stop, runner.on_batch = should_stop, die
                runner.run(connector, m)

            return fn

        workers = {name: make_worker(name) for name in ("w1", "w2", "dead")}
        round_start = clock()
        reports: dict[str, Any] = {}

        def run(name: str, fn_factory: Any) -> None:
            worker, runner, _ = workers[name]
            try:
                reports[name] = worker.work(
                    units, fn_factory(worker, runner), round_started=round_start
                )
            except Killed:
                reports[name] = "killed"

        dead = threading.Thread(target=run, args=("dead", dying_fn), daemon=True)
        dead.start()
        assert stuck.wait(60), "the dying worker never reached its third unit"
        live = [threading.Thread(target=run, args=(n, pass_fn)) for n in ("w1", "w2")]
        for t in live:
            t.start()
        for t in live:
            t.join(120)
        (lost,) = dead_unit
        assert lost == unit_key("mem", reps[LONG_UNITS - 1])
        done_first = set(reports["w1"].done) | set(reports["w2"].done)
        assert lost not in done_first  # the dead worker's lease kept it out of reach
        assert len(done_first) == units_n - 3
        holder = {x.unit_key: x.holder for x in workers["w1"][0].store.leases.all()}
        assert holder[lost] == "dead"

        clock.advance(TTL + timedelta(seconds=1))  # the dead worker's lease expires
        taker = workers["w1"][0]
        second = taker.work(units, pass_fn(taker, workers["w1"][1]), round_started=round_start)
        assert second.done == [lost]
        assert len(second.fresh) == units_n - 1  # done this round already, left alone
        unstick.set()
        dead.join(30)
        assert reports["dead"] == "killed"

        by_unit: dict[str, list[tuple[str, float, float]]] = {}
        for unit, worker_id, start, end in spans.rows:
            by_unit.setdefault(unit, []).append((worker_id, start, end))
        assert len(by_unit) == units_n  # every unit worked
        for unit, rows in by_unit.items():
            rows.sort(key=lambda r: r[1])
            for (w_a, _, end_a), (w_b, start_b, _) in itertools.pairwise(rows):
                assert end_a <= start_b, f"{unit} worked by {w_a} and {w_b} at once"
        assert len(by_unit[lost]) == 2  # the dead worker's first batch, then the take-over
        assert {w for w, _, _ in by_unit[lost]} == {"dead", "w1"}
        workers_used = {w for rows in by_unit.values() for w, _, _ in rows}
        assert workers_used == {"w1", "w2", "dead"}

        tasks = sb.records("Task")
        keys = [t["Syncd_Key__c"] for t in tasks]
        assert len(keys) == units_n + LONG_UNITS == len(set(keys))  # each message once
        store = workers["w1"][0].store
        assert store.ledger.count() == len(keys)
        assert all(x.holder is None for x in store.leases.all())
        for _, _, closers in workers.values():
            for closer in closers:
                closer.close()


def test_the_heartbeat_never_reports_a_finished_units_lease_as_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A heartbeat renewing the unit whose pass has just ended finds it released, not lost.

    The heartbeat thread picks the current unit, then renews it; the pass may end and release
    the lease in between. That renewal coming back empty is no take-over: no "lease lost"
    warning (the alarm for two workers on one unit), and the unit counts as done.
    """
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        worker = Worker(store, ttl=timedelta(seconds=30))
        beat = Heartbeat(worker, 0.0005).start()  # a beat during nearly every unit
        try:
            with caplog.at_level("WARNING", logger="syncd.service.workers"):
                units = [("mem", f"rep{i:03d}@ourco.com") for i in range(300)]
                report = worker.work(units, lambda _c, _m, _stop: store.leases.all())
        finally:
            beat.stop()
        assert len(report.done) == len(units) and report.lost == []
        assert [r.getMessage() for r in caplog.records if "lease lost" in r.getMessage()] == []
        assert all(x.holder is None for x in store.leases.all())
