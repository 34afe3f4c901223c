"""Pipeline metrics on hand-built pipelines: the worked velocity example and each definition."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rules_helpers import TODAY, at, deal, pipeline

from syncd.pipeline_metrics import report, stage_conversion, velocity
from syncd.rules.inputs import Change


def test_worked_velocity_example() -> None:
    assert velocity(50, 25_000, 0.25, 60) == pytest.approx(5208.33, abs=0.005)
    assert velocity(50, 25_000, 0.25, 0) == 0.0


def test_win_rate_size_cycle_count_only_deals_closed_in_period() -> None:
    start, end = TODAY - timedelta(days=90), TODAY
    won1 = deal(
        "W1",
        stage="Won",
        amount=30_000.0,
        close_date=TODAY - timedelta(days=10),
        created=at(TODAY - timedelta(days=70)),
    )
    won2 = deal(
        "W2",
        stage="Won",
        amount=10_000.0,
        close_date=TODAY - timedelta(days=20),
        created=at(TODAY - timedelta(days=40)),
    )
    lost = deal("L1", stage="Lost", close_date=TODAY - timedelta(days=5))
    old = deal("W3", stage="Won", amount=999.0, close_date=TODAY - timedelta(days=200))
    opens = [deal(f"O{i}") for i in range(4)]
    r = report(pipeline(won1, won2, lost, old, *opens), start, end, target=10_000.0)
    assert (r.won, r.lost, r.open_deals) == (2, 1, 4)
    assert r.win_rate == pytest.approx(2 / 3)
    assert r.avg_deal_size == pytest.approx(20_000.0)
    assert r.cycle_days == pytest.approx((60 + 20) / 2)
    assert r.velocity_per_day == pytest.approx(4 * 20_000 * (2 / 3) / 40)


def test_coverage_splits_early_and_late_by_boundary() -> None:
    end = TODAY + timedelta(days=90)
    early = deal("E", stage="Qualify", amount=100.0)
    late = deal("L", stage="Negotiate", amount=300.0)
    outside = deal("X", stage="Negotiate", amount=5_000.0, close_date=end + timedelta(days=1))
    r = report(pipeline(early, late, outside), TODAY, end, target=100.0, boundary="Propose")
    assert r.coverage == pytest.approx(4.0)
    assert r.coverage_early == pytest.approx(1.0)
    assert r.coverage_late == pytest.approx(3.0)


def test_stage_conversion_from_history() -> None:
    def moved(opp_id: str, *stages: str) -> object:
        d = deal(opp_id, stage=stages[-1])
        d.history = [
            Change(at(TODAY - timedelta(days=30 - i)), s, None, None) for i, s in enumerate(stages)
        ]
        return d

    p = pipeline(
        moved("A", "Qualify", "Discover"),
        moved("B", "Qualify", "Lost"),
        moved("C", "Qualify"),
        moved("D", "Discover", "Propose"),
    )
    conv = stage_conversion(p)
    assert conv["Qualify"] == pytest.approx(1 / 3)
    assert conv["Discover"] == pytest.approx(1 / 2)
    assert conv["Negotiate"] is None


def test_slippage_counts_deals_moved_out_of_period() -> None:
    end = TODAY + timedelta(days=30)
    slipped = deal("S", close_date=end + timedelta(days=20))
    slipped.close_date_changes = [(end - timedelta(days=5), end + timedelta(days=20))]
    kept = deal("K", close_date=end - timedelta(days=1))
    r = report(pipeline(slipped, kept), TODAY, end)
    assert r.slipped == 1
    assert r.slippage == pytest.approx(0.5)
