"""Gmail end to end: Google sandbox → Gmail connector → Runner → Salesforce sandbox.

An expired history id recovers by itself: the runner answers CursorExpired with a bounded
full resync (counted in status), everything delivered meanwhile is written, and nothing that
was already written is written again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from capture_helpers import NOW, REPS, directory_users, seed
from google_helpers import FakeClock, gmail_connector, headers
from sf_helpers import make_client, org_with_key_field

from sandbox.google import GoogleSandbox
from syncd.capture.privacy import PrivacyRules
from syncd.capture.runner import Runner
from syncd.config import CaptureConfig
from syncd.salesforce.directory import Directory
from syncd.salesforce.writer import ActivityWriter
from syncd.state import Store

REP = REPS[0]
BUYERS = ["alice@globex.com", "bob@globex.com", "carol@initech.io"]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    clock = FakeClock(NOW)
    with org_with_key_field() as sf, GoogleSandbox(clock=clock) as google:
        seed(sf)
        client = make_client(sf)
        store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
        directory = Directory.load(client)
        rules = PrivacyRules.from_capture(
            CaptureConfig(internal_domains=["ourco.com"]), directory_users(directory)
        )
        runner = Runner(store, ActivityWriter(client), directory, rules)
        google.add_user(REP)
        connector = gmail_connector(
            google, tmp_path / "g", (REP,), clock, sleep=clock.sleep, internal=("ourco.com",)
        )
        yield {"sf": sf, "google": google, "store": store, "runner": runner,
               "connector": connector}  # fmt: skip
        store.close()
        client.close()


def deliver(google: GoogleSandbox, start: int, n: int) -> None:
    for i in range(start, start + n):
        when = NOW - timedelta(hours=n - i + start, minutes=1)
        sender = f"Buyer <{BUYERS[i % len(BUYERS)]}>"
        google.gmail.deliver(REP, headers(i, REP, when, sender=sender), when=when)


def test_an_expired_history_id_resyncs_with_nothing_lost_or_written_twice(
    world: dict[str, Any],
) -> None:
    google, sf, runner, connector = (
        world["google"],
        world["sf"],
        world["runner"],
        world["connector"],
    )
    deliver(google, 0, 6)
    first = runner.run(connector, REP)
    assert first.outcomes["written"] == 6 and not first.resynced
    assert sf.count("Task") == 6

    deliver(google, 6, 4)
    google.gmail.expire_history(REP)
    second = runner.run(connector, REP)
    assert second.resynced
    assert second.outcomes["written"] == 4
    assert second.outcomes["already_written"] == 6
    tasks = sf.records("Task")
    assert len(tasks) == 10
    assert len({t["Syncd_Key__c"] for t in tasks}) == 10
    state = world["store"].cursors.state(connector.name, REP)
    assert state is not None and state.resync_count == 1

    # Back on history: the next new message costs one history call and one batch.
    deliver(google, 10, 1)
    google.reset_counters()
    third = runner.run(connector, REP)
    assert third.outcomes["written"] == 1 and not third.resynced
    assert sum(google.requests.values()) == 2
    assert sf.count("Task") == 11


def test_quota_units_of_each_pass_are_in_status(world: dict[str, Any]) -> None:
    google, runner, connector, store = (
        world["google"],
        world["runner"],
        world["connector"],
        world["store"],
    )
    deliver(google, 0, 5)
    before = google.quota.used[REP]
    first = runner.run(connector, REP)
    spent = google.quota.used[REP] - before
    assert spent > 0
    assert first.quota_units == spent  # the connector's meter agrees with Google's count
    unit = store.status().unit(connector.name, REP)
    assert unit is not None and unit.last_run is not None
    assert unit.last_run.counts is not None
    assert unit.last_run.counts["quota_units"] == spent
    second = runner.run(connector, REP)  # nothing new: a history call or two
    assert 0 < (second.quota_units or 0) < spent
