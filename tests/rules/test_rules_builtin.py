"""Each built-in rule at its threshold edges, with a fixed today."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from rules_helpers import TODAY, at, deal, pipeline

from syncd.rules.builtin import Settings
from syncd.rules.engine import evaluate, settings_from_config
from syncd.rules.inputs import Change, Deal, Touch


def run(rule: str, d: Deal, **override: object) -> list:
    settings = [s for s in settings_from_config() if s.type == rule]
    if override:
        settings = [Settings(**{**settings[0].__dict__, **override})]
    return evaluate(pipeline(d), settings, boundary="Propose").findings


def ago(days: int):
    return TODAY - timedelta(days=days)


@pytest.mark.parametrize(("days", "flagged"), [(9, False), (10, True)])
def test_no_activity_edge(days: int, flagged: bool) -> None:
    found = run("no_activity", deal(last_activity=ago(days)))
    assert bool(found) is flagged
    if flagged:
        assert "No activity for 10 days" in found[0].summary


def test_no_activity_per_stage_threshold_and_doubling_raises_severity() -> None:
    assert not run("no_activity", deal(last_activity=ago(10)), per_stage={"Discover": 11})
    found = run("no_activity", deal(last_activity=ago(20)))
    assert found[0].severity == 3


@pytest.mark.parametrize(
    ("days", "step", "flagged"), [(29, None, False), (30, None, True), (30, "call", False)]
)
def test_stale_edge(days: int, step: str | None, flagged: bool) -> None:
    assert bool(run("stale", deal(last_activity=ago(days), next_step=step))) is flagged


@pytest.mark.parametrize(("offset", "flagged"), [(0, False), (-1, True)])
def test_past_close_date_edge(offset: int, flagged: bool) -> None:
    assert bool(run("past_close_date", deal(close_date=TODAY + timedelta(days=offset)))) is flagged


def _pushed(*dates_: int) -> Deal:
    d = deal()
    d.close_date_changes = [
        (TODAY + timedelta(days=a), TODAY + timedelta(days=b))
        for a, b in itertools.pairwise(dates_)
    ]
    return d


def test_close_date_pushed_counts_only_later_moves() -> None:
    assert not run("close_date_pushed", _pushed(10, 20))
    assert not run("close_date_pushed", _pushed(10, 20, 5))  # one push, one pull-in
    found = run("close_date_pushed", _pushed(10, 20, 40))
    assert found[0].numbers == {"times": 2, "days": 30}


def test_close_date_pushes_read_from_opportunity_history_prev_close_date() -> None:
    from syncd.rules.inputs import assemble

    rows = {
        "opportunities": [
            {
                "Id": "006A",
                "Name": "A",
                "StageName": "Discover",
                "CreatedDate": "2026-01-01T00:00:00.000+0000",
                "CloseDate": "2026-05-01",
            }
        ],
        "history": [
            {
                "OpportunityId": "006A",
                "StageName": "Discover",
                "CloseDate": "2026-03-01",
                "PrevCloseDate": None,
                "CreatedDate": "2026-01-01T00:00:00Z",
            },
            {
                "OpportunityId": "006A",
                "StageName": "Discover",
                "CloseDate": "2026-04-01",
                "PrevCloseDate": "2026-03-01",
                "CreatedDate": "2026-02-01T00:00:00Z",
            },
            {
                "OpportunityId": "006A",
                "StageName": "Discover",
                "CloseDate": "2026-05-01",
                "PrevCloseDate": "2026-04-01",
                "CreatedDate": "2026-02-10T00:00:00Z",
            },
            {
                "OpportunityId": "006A",
                "StageName": "Propose",
                "CloseDate": "2026-05-01",
                "PrevCloseDate": "2026-05-01",
                "CreatedDate": "2026-02-11T00:00:00Z",
            },
        ],
    }
    p = assemble(rows, TODAY)
    p.stages = pipeline().stages
    assert len(p.deals[0].close_date_changes) == 2
    found = evaluate(
        p, [s for s in settings_from_config() if s.type == "close_date_pushed"]
    ).findings
    assert found and found[0].numbers["times"] == 2


def test_stalled_in_stage_uses_max_of_threshold_and_twice_median() -> None:
    def entered(opp_id: str, days: int) -> Deal:
        d = deal(opp_id)
        d.history = [Change(at(ago(days)), "Discover", None, None)]
        return d

    assert not run("stalled_in_stage", entered("A", 14))
    assert run("stalled_in_stage", entered("A", 15))
    # Others spent 10 days in Discover: the limit becomes 2 x 10 = 20.
    others = []
    for i in range(3):
        o = deal(f"O{i}", stage="Propose")
        o.history = [
            Change(at(ago(40)), "Discover", None, None),
            Change(at(ago(30)), "Propose", None, None),
        ]
        others.append(o)
    settings = [s for s in settings_from_config() if s.type == "stalled_in_stage"]
    found = evaluate(pipeline(entered("A", 20), *others), settings).findings
    assert not [f for f in found if f.opportunity_id == "A"]
    found = evaluate(pipeline(entered("A", 21), *others), settings).findings
    assert [f.opportunity_id for f in found if f.opportunity_id == "A"] == ["A"]


def test_missing_fields_only_from_late_stage() -> None:
    assert not run(
        "missing_fields",
        deal(
            stage="Discover",
            next_step=None,
            fields={"Amount": 1, "NextStep": None, "CloseDate": "x"},
        ),
    )
    found = run(
        "missing_fields",
        deal(stage="Propose", fields={"Amount": None, "NextStep": "a", "CloseDate": "x"}),
    )
    assert found[0].numbers["fields"] == ["Amount"]
    assert not run("missing_fields", deal(stage="Propose"), stages=("Negotiate",))


def test_no_decision_maker() -> None:
    assert not run("no_decision_maker", deal(stage="Discover"))
    assert run("no_decision_maker", deal(stage="Propose", roles=["Influencer"]))
    assert not run("no_decision_maker", deal(stage="Propose", roles=["Economic Buyer"]))


def test_single_threaded_edge() -> None:
    one = [Touch(ago(1), "003A", "call"), Touch(ago(30), "003B", "old")]
    two = [Touch(ago(1), "003A", "call"), Touch(ago(29), "003B", "recent")]
    assert run("single_threaded", deal(stage="Propose", touches=one))
    assert not run("single_threaded", deal(stage="Propose", touches=two))
    assert not run("single_threaded", deal(stage="Discover", touches=one))


def test_engagement_drop_edge() -> None:
    before = [Touch(ago(20), None, "x") for _ in range(4)]
    assert not run("engagement_drop", deal(touches=before + [Touch(ago(1), None, "y")] * 2))  # 50 %
    found = run("engagement_drop", deal(touches=[*before, Touch(ago(1), None, "y")]))  # 25 %
    assert found[0].numbers == {"recent": 1, "before": 4}


@pytest.mark.parametrize(
    ("days", "stage", "flagged"),
    [(30, "Discover", True), (31, "Discover", False), (5, "Propose", False)],
)
def test_closing_soon_early_stage_edge(days: int, stage: str, flagged: bool) -> None:
    assert (
        bool(
            run(
                "closing_soon_early_stage",
                deal(stage=stage, close_date=TODAY + timedelta(days=days)),
            )
        )
        is flagged
    )


def test_competitor_mentioned_is_off_until_configured() -> None:
    d = deal(touches=[Touch(ago(2), None, "They are also talking to Acme")])
    assert not run("competitor_mentioned", d)
    assert run("competitor_mentioned", d, enabled=True, competitors=("acme",))
    assert not run("competitor_mentioned", d, enabled=True, competitors=("Globex",))
