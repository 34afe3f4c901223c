"""One story per deal: overlapping rules merged, findings ranked by severity, deals by risk;
an activity dated in the future never silences the rules; captured activity counts at once."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rules_helpers import TODAY, deal, pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))
from sf_helpers import make_client, start_sandbox

from syncd.rules.builtin import Finding
from syncd.rules.engine import evaluate, settings_from_config
from syncd.rules.grouping import stories, story
from syncd.rules.inputs import assemble, load
from syncd.state import Store
from syncd.state.ledger import LedgerEntry


def f(rule: str, severity: int, opp: str = "006A") -> Finding:
    return Finding(opp, rule, severity, 1.0, f"{rule} text", f"{rule} action")


def test_overlapping_rules_say_the_fact_once_at_the_worse_severity() -> None:
    st = story([f("no_activity", 3), f("stale", 2), f("missing_fields", 2)])
    assert [x.rule for x in st.shown] == ["stale", "missing_fields"]
    assert st.primary.severity == 3  # stale carries no_activity's critical
    assert [x.rule for x in st.merged] == ["no_activity"]
    st = story([f("stalled_in_stage", 2), f("past_close_date", 2)])
    assert [x.rule for x in st.shown] == ["past_close_date"]
    assert [x.rule for x in st.merged] == ["stalled_in_stage"]


def test_most_severe_first_then_most_actionable() -> None:
    st = story([f("missing_fields", 2), f("single_threaded", 3), f("close_date_pushed", 2)])
    assert [x.rule for x in st.shown] == ["single_threaded", "close_date_pushed", "missing_fields"]
    ranked = stories([f("missing_fields", 1, "006L"), f("stale", 3, "006H"), f("x", 1, "006L")])
    assert [s.opportunity_id for s in ranked] == ["006H", "006L"]


def test_single_threaded_says_what_it_is() -> None:
    settings = [s for s in settings_from_config() if s.type == "single_threaded"]
    (found,) = evaluate(pipeline(deal(stage="Propose")), settings, boundary="Propose").findings
    assert found.summary.startswith("No buyer contact in the last 30 days")


def _rows(last_activity: str | None, task_day: str) -> dict:
    return {
        "opportunities": [
            {
                "Id": "006A",
                "Name": "A",
                "StageName": "Discover",
                "CreatedDate": "2025-01-01T00:00:00.000+0000",
                "CloseDate": "2026-05-01",
                "LastActivityDate": last_activity,
            }
        ],
        "tasks": [{"WhatId": "006A", "WhoId": "003A", "ActivityDate": task_day, "Subject": "s"}],
    }


def test_future_last_activity_date_never_silences_the_rules() -> None:
    real = (TODAY - timedelta(days=20)).isoformat()
    for forged in ("9999-12-31", "2099-01-01"):
        p = assemble(_rows(forged, real), TODAY)
        assert p.deals[0].last_activity == TODAY - timedelta(days=20)
        p.stages = pipeline().stages
        rules = {x.rule for x in evaluate(p, settings_from_config()).findings}
        assert "no_activity" in rules
    # A forged task date is no touch either.
    p = assemble(_rows(None, "9999-12-31"), TODAY)
    assert p.deals[0].touches == [] and p.deals[0].last_activity is None


def test_captured_activity_counts_at_once_and_future_dates_do_not(tmp_path: Path) -> None:
    """Against the Salesforce sandbox: a forged 9999 Task sets LastActivityDate to 9999 (as
    Salesforce does); the rules still see the last real activity, the ledger's included."""
    sb = start_sandbox()
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    client = make_client(sb)
    try:
        (opp,) = sb.insert(
            "Opportunity",
            [{"Name": "A", "StageName": "Prospecting", "CloseDate": "2026-05-01"}],
        )
        sb.insert(
            "Task",
            [
                {
                    "Subject": "forged",
                    "Status": "Completed",
                    "ActivityDate": "9999-12-31",
                    "WhatId": opp,
                }
            ],
        )

        def entry(key: str, when: datetime) -> LedgerEntry:
            return LedgerEntry(
                key=key,
                sobject="Task",
                salesforce_id="00T" + key.rjust(15, "0"),
                connector="gmail",
                mailbox="rep@ourco.com",
                kind="email",
                occurred_at=when,
                what_id=opp,
            )

        def last() -> Any:
            (d,) = load(client, TODAY, ledger=store.ledger).deals
            return d.last_activity

        assert last() is None  # the forged date is no activity
        noon = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
        store.ledger.record([entry("1", noon - timedelta(days=1))])  # this pass wrote it
        assert last() == TODAY - timedelta(days=1)
        store.ledger.record([entry("2", datetime(9999, 1, 1, tzinfo=UTC))])
        assert last() == TODAY - timedelta(days=1)
    finally:
        client.close()
        store.close()
        sb.stop()
