"""Helpers of the alerts tests: a movable clock for Slack's pacing and the store, and the
fixtures built on it (imported by the test modules: a conftest here would shadow others')."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox.slack import SlackSandbox
from syncd.alerts.slack import SlackDelivery
from syncd.state import Store

NOW = datetime(2026, 3, 16, 7, tzinfo=UTC)


class Time:
    """Simulated seconds for Slack's pacing and the store's wall clock (``now``)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.now = NOW
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        # A positive sleep that leaves the clock where it was is a loop that never ends (it
        # filled 20 GB of `slept` once): fail it here instead.
        assert s <= 0 or self.t + s > self.t, f"sleep({s!r}) does not move the clock at {self.t!r}"
        self.slept.append(s)
        self.t += s

    def wall(self) -> datetime:
        return self.now


def delivery(slack: SlackSandbox, tm: Time) -> SlackDelivery:
    """A sender to the Slack sandbox on ``tm``'s clock (fallback channel ``#deals``)."""
    return SlackDelivery(
        token=slack.token,
        api_url=slack.api_url,
        fallback_channel="#deals",
        sleep=tm.sleep,
        clock=tm.clock,
    )


def fixtures() -> tuple[Any, Any, Any]:
    """The ``tm``, ``slack`` and ``store`` fixtures, for a test module to assign by name."""

    @pytest.fixture
    def tm() -> Time:
        return Time()

    @pytest.fixture
    def slack(tm: Time) -> Iterator[SlackSandbox]:
        sb = SlackSandbox(clock=tm.clock).start()
        sb.add_user("ana@ourco.com")
        yield sb
        sb.stop()

    @pytest.fixture
    def store(tmp_path: Path, tm: Time) -> Iterator[Store]:
        s = Store.open(f"sqlite:///{tmp_path / 's.db'}", clock=lambda: tm.now)
        yield s
        s.close()

    return tm, slack, store
