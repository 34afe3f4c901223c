"""Flag lifecycle on a real SQLite store: alert once, re-alert when worse or after the cool-down,
resolve when the condition clears, stay silent while snoozed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rules_helpers import TODAY, deal, pipeline

from syncd.alerts.dispatch import metadata
from syncd.rules.engine import evaluate, settings_from_config
from syncd.rules.lifecycle import apply, snooze
from syncd.state import Store

COOLDOWN = timedelta(days=3)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 16, 7, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'state.db'}", clock=clock)
    yield s
    s.close()


SETTINGS = [s for s in settings_from_config() if s.type == "no_activity"]


def run(
    store: Store, clock: Clock, quiet_days: int | None, deliver: bool = True
) -> list[tuple[int, str]]:
    """One rules run; the due flags' message is queued and (``deliver``) accepted by Slack."""
    d = deal(last_activity=TODAY - timedelta(days=quiet_days) if quiet_days is not None else TODAY)
    evaluation = evaluate(pipeline(d), SETTINGS)
    outcome = apply(store, evaluation, now=clock(), cooldown=COOLDOWN)
    due = [(fid, reason) for fid, _, reason in outcome.to_alert]
    if due:
        payload = {"text": "x", "metadata": metadata(["006A"], [fid for fid, _ in due])}
        alert_id = store.alerts.enqueue("user:rep@ourco.com", payload, digest_key="deal:006A:x")
        if deliver:
            store.alerts.mark_sent(alert_id)
    return due


def test_flag_is_alerted_when_its_message_is_delivered_not_when_queued(
    store: Store, clock: Clock
) -> None:
    assert [r for _, r in run(store, clock, 12, deliver=False)] == ["new"]
    (flag,) = store.flags.list_open()
    assert flag.state == "raised" and flag.last_alerted is None
    # Not delivered: the next run still finds it due.
    assert [r for _, r in run(store, clock, 12)] == ["new"]
    (flag,) = store.flags.list_open()
    assert flag.state == "alerted" and flag.last_alerted == clock.now


def test_twice_alerts_once(store: Store, clock: Clock) -> None:
    assert [r for _, r in run(store, clock, 12)] == ["new"]
    assert run(store, clock, 12) == []
    (flag,) = store.flags.list_open()
    assert flag.state == "alerted" and flag.details["measure"] == 12


def test_worsening_realerts(store: Store, clock: Clock) -> None:
    run(store, clock, 11)
    assert run(store, clock, 15) == []  # not yet doubled
    assert [r for _, r in run(store, clock, 22)] == ["worse"]  # 22 ≥ 2 x 11 and severity up
    assert run(store, clock, 23) == []


def test_cooldown_realerts(store: Store, clock: Clock) -> None:
    run(store, clock, 12)
    clock.now += COOLDOWN - timedelta(minutes=1)
    assert run(store, clock, 12) == []
    clock.now += timedelta(minutes=1)
    assert [r for _, r in run(store, clock, 12)] == ["cooldown"]


def test_cleared_flag_resolves(store: Store, clock: Clock) -> None:
    run(store, clock, 12)
    assert run(store, clock, None) == []
    assert store.flags.list_open() == []
    # A later relapse is a new flag, alerted again.
    assert [r for _, r in run(store, clock, 12)] == ["new"]


def test_snoozed_flag_is_silent_until_snooze_ends(store: Store, clock: Clock) -> None:
    run(store, clock, 12)
    snooze(store.flags, "006A", "no_activity", clock.now + timedelta(days=7))
    clock.now += timedelta(days=4)
    assert run(store, clock, 30) == []
    clock.now += timedelta(days=3)
    assert [r for _, r in run(store, clock, 30)] != []
    with pytest.raises(KeyError):
        snooze(store.flags, "006B", "no_activity", clock.now)


def test_dry_run_writes_nothing(store: Store, clock: Clock) -> None:
    evaluation = evaluate(pipeline(deal(last_activity=TODAY - timedelta(days=12))), SETTINGS)
    outcome = apply(store, evaluation, now=clock(), cooldown=COOLDOWN, dry_run=True)
    assert [r for _, _, r in outcome.to_alert] == ["new"]
    assert store.flags.list_open() == []
