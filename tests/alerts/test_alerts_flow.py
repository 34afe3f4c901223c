"""Rules to Slack end to end (pipeline in memory, real store, real slack_sdk, Slack sandbox):
one alert per flag however often the rules run, a re-alert when it worsens, digests grouped
per rep and within Slack's limits."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rules"))

from rules_helpers import STAGES, at, deal

from sandbox.slack import SlackSandbox
from syncd.alerts import digests
from syncd.alerts.slack import SlackDelivery
from syncd.config.models import RulesConfig
from syncd.pipeline_metrics import report
from syncd.rules.inputs import Change, Pipeline
from syncd.rules.run import run_digests, run_rules
from syncd.state import Store

NOW = datetime(2026, 3, 16, 7, tzinfo=UTC)


class Time:
    def __init__(self) -> None:
        self.t = 0.0
        self.now = NOW

    def clock(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


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


CONFIG = SimpleNamespace(
    rules=RulesConfig(early_stage_boundary="Propose", pipeline_target=50_000.0),
    alerts=SimpleNamespace(
        slack=SimpleNamespace(
            fallback_channel="#deals",
            cooldown=timedelta(days=3),
            salesforce_base_url="https://org.example.my.salesforce.com",
            managers=("boss@ourco.com",),
        )
    ),
)


def world(today: date, quiet: int, step: str | None = "demo") -> Pipeline:
    """Ana's quiet deal, Bob's deal past its close date, a healthy deal."""
    entered = [Change(at(today - timedelta(days=5)), "Discover", None, None)]
    deals = [
        deal(
            "006ANA",
            owner_email="ana@ourco.com",
            last_activity=today - timedelta(days=quiet),
            history=entered,
            next_step=step,
        ),
        deal(
            "006BOB",
            owner_email="bob@ourco.com",
            close_date=today - timedelta(days=2),
            history=entered,
        ),
        deal("006OK", owner_email="ana@ourco.com", history=entered),
    ]
    return Pipeline(today=today, stages=dict(STAGES), deals=deals)


def rules_pass(
    store: Store, slack: SlackSandbox, tm: Time, quiet: int, step: str | None = "demo"
) -> dict:
    delivery = SlackDelivery(
        token=slack.token,
        api_url=slack.api_url,
        fallback_channel="#deals",
        sleep=tm.sleep,
        clock=tm.clock,
    )
    return run_rules(
        CONFIG,
        None,
        store,
        now=tm.now,
        delivery=delivery,
        pipeline=world(tm.now.date(), quiet, step),
    )


def test_each_flag_alerts_once_and_again_when_worse(
    store: Store, slack: SlackSandbox, tm: Time
) -> None:
    first = rules_pass(store, slack, tm, quiet=12)
    assert first["flags_by_rule"] == {"no_activity": 1, "past_close_date": 1}
    assert first["alerts_sent"] == 2
    ana_dm = "D" + slack.users["ana@ourco.com"][1:]
    assert len(slack.by_channel(ana_dm)) == 1 and len(slack.by_channel("#deals")) == 1
    assert "lightning/r/Opportunity/006ANA/view" in str(slack.by_channel(ana_dm)[0].blocks)

    again = rules_pass(store, slack, tm, quiet=13)
    assert again["alerts_queued"] == again["alerts_sent"] == 0
    assert len(slack.messages) == 2

    worse = rules_pass(store, slack, tm, quiet=24)
    assert worse["alerts_sent"] == 1
    assert "24 days" in slack.by_channel(ana_dm)[-1].text

    cleared = rules_pass(store, slack, tm, quiet=0)
    assert cleared["resolved"] == 1 and cleared["alerts_sent"] == 0
    assert {f.opportunity_id for f in store.flags.list_open()} == {"006BOB"}


def test_daily_digest_groups_each_reps_flags_once(
    store: Store, slack: SlackSandbox, tm: Time
) -> None:
    rules_pass(store, slack, tm, quiet=40, step=None)  # Ana: no_activity and stale, one deal
    pipeline = world(tm.now.date(), 40, None)
    counts = run_digests(CONFIG, None, store, pipeline, weekly=True)
    assert counts == {"daily": 2, "weekly": 1}
    assert run_digests(CONFIG, None, store, pipeline, weekly=True) == {"daily": 0, "weekly": 0}
    delivery = SlackDelivery(
        token=slack.token,
        api_url=slack.api_url,
        fallback_channel="#deals",
        sleep=tm.sleep,
        clock=tm.clock,
    )
    assert delivery.deliver(store.alerts, now=lambda: tm.now)["sent"] == 3
    ana = [
        m for m in slack.by_channel("D" + slack.users["ana@ourco.com"][1:]) if "flags on" in m.text
    ]
    assert [m.text for m in ana] == ["Your deals needing attention: 2 flags on 1 deals"]
    weekly = slack.by_channel("#deals")[-1]  # the manager has no Slack account: fallback
    assert weekly.text.startswith("Weekly pipeline digest")
    body = str(weekly.blocks)
    assert "Win rate" in body and "*At risk* (2)" in body


def test_weekly_digest_lists_attention_groups() -> None:
    today = date(2026, 3, 16)
    new = deal("N", created=at(today - timedelta(days=2)))
    closing = deal("C", close_date=today + timedelta(days=10))
    missing = deal("M", fields={"Amount": None, "NextStep": "x", "CloseDate": "y"})
    p = Pipeline(today=today, stages=dict(STAGES), deals=[new, closing, missing])
    groups = digests.attention(p, {"M"})
    assert [d.id for d in groups["New this week"]] == ["N"]
    assert [d.id for d in groups["Closing in 30 days"]] == ["C"]
    assert [d.id for d in groups["Missing information"]] == ["M"]
    assert [d.id for d in groups["At risk"]] == ["M"]
    message = digests.weekly(p, report(p, today - timedelta(days=90), today), {"M"}, None)
    assert len(message["blocks"]) <= 50
    assert "New this week" in str(message["blocks"])
