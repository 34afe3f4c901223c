"""Metrics on a real-export-shaped org: data migrated into Salesforce after the fact, so deals
were created after they closed, OpportunityHistory has no stage transitions and no
PrevCloseDate, and the last closed deal is older than the default period."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from rules_helpers import STAGES, TODAY

from syncd.alerts.digests import weekly
from syncd.config.models import RulesConfig
from syncd.pipeline_metrics import report
from syncd.rules.engine import evaluate, settings_from_config
from syncd.rules.inputs import Pipeline, assemble
from syncd.rules.run import pipeline_report

IMPORTED = "2026-02-01T09:00:00.000+0000"  # the day the export was loaded


def d(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def opp(opp_id: str, stage: str, close: int, amount: float) -> dict:
    return {
        "Id": opp_id,
        "Name": opp_id,
        "StageName": stage,
        "Amount": amount,
        "CloseDate": d(close),
        "CreatedDate": IMPORTED,
        "NextStep": "call",
        "LastActivityDate": None,
    }


def hist(opp_id: str, stage: str, close: int, at: str, prev: int | None = None) -> dict:
    return {
        "OpportunityId": opp_id,
        "StageName": stage,
        "CloseDate": d(close),
        "PrevCloseDate": d(prev) if prev is not None else None,
        "CreatedDate": at,
    }


def org() -> Pipeline:
    rows = {
        "opportunities": [
            # Won before they were created in Salesforce (closed in 2025, loaded in 2026).
            opp("W1", "Won", -150, 10_000.0),
            opp("W2", "Won", -120, 20_000.0),
            opp("L1", "Lost", -130, 5_000.0),
            # Open: one overdue, one closing in the next 90 days, one beyond.
            opp("O1", "Discover", -10, 1_000.0),
            opp("O2", "Propose", 30, 40_000.0),
            opp("O3", "Negotiate", 200, 99_000.0),
        ],
        "history": [
            # One row per deal at import: no stage transitions, PrevCloseDate empty...
            *(hist(o, s, c, IMPORTED) for o, s, c in [("W1", "Won", -150), ("W2", "Won", -120)]),
            hist("L1", "Lost", -130, IMPORTED),
            hist("O1", "Discover", -40, IMPORTED),
            # ...and a close date moved later shows only in the CloseDate sequence.
            hist("O1", "Discover", -10, "2026-02-20T09:00:00.000+0000"),
            hist("O2", "Propose", 30, IMPORTED),
            hist("O3", "Negotiate", 200, IMPORTED),
        ],
    }
    p = assemble(rows, TODAY)
    p.stages = dict(STAGES)
    return p


def test_coverage_counts_deals_closing_in_the_next_period() -> None:
    r = report(org(), TODAY - timedelta(days=90), TODAY, target=20_000.0)
    assert r.open_amount == pytest.approx(40_000.0)  # O2 only: O1 is overdue, O3 too far out
    assert r.coverage == pytest.approx(2.0)
    assert (r.coverage_from, r.coverage_to) == (TODAY.isoformat(), d(90))


def test_created_after_close_is_left_out_of_cycle_and_velocity() -> None:
    r = report(org(), TODAY - timedelta(days=365), TODAY)
    assert r.won == 2 and r.cycle_excluded == 2
    assert r.cycle_days is None and r.velocity_per_day is None  # not -55 days and 0
    message = weekly(org(), r, {}, None)
    assert "2 won deals created after their close date" in str(message["blocks"])


def test_no_stage_transitions_is_no_data() -> None:
    r = report(org(), TODAY - timedelta(days=365), TODAY)
    assert set(r.stage_conversion.values()) == {None}
    assert r.median_days_in_stage == {}
    stalled = [s for s in settings_from_config() if s.type == "stalled_in_stage"]
    found = evaluate(org(), stalled).findings
    assert found and all("no org median yet" in f.summary for f in found)
    assert not any("median 0" in f.summary for f in found)


def test_close_date_pushes_from_the_close_date_sequence() -> None:
    (o1,) = [x for x in org().deals if x.id == "O1"]
    assert o1.close_date_changes == [(TODAY - timedelta(days=40), TODAY - timedelta(days=10))]
    pushed = [s for s in settings_from_config() if s.type == "close_date_pushed"]
    pushed = [s.__class__(**{**s.__dict__, "times": 1}) for s in pushed]
    assert [f.opportunity_id for f in evaluate(org(), pushed).findings] == ["O1"]


def test_default_period_says_it_is_empty_and_what_to_ask() -> None:
    config = SimpleNamespace(rules=RulesConfig(period_days=90))
    r = pipeline_report(config, org())  # type: ignore[arg-type]
    assert r.won + r.lost == 0
    assert r.note is not None
    assert f"between {d(-90)} and {TODAY.isoformat()}" in r.note
    assert f"The last closed on {d(-120)}: try --since {d(-210)} --until {d(-120)}" in r.note
    assert pipeline_report(config, org(), start=TODAY - timedelta(days=365)).note is None  # type: ignore[arg-type]
