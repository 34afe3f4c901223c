"""The Maven sales pipeline loads into the sandbox faithfully to its CSVs."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from simple_salesforce import Salesforce

from sandbox.maven import DEFAULT_DIR, STAGE_MAP, load_maven
from sandbox.salesforce import SalesforceSandbox

pytestmark = pytest.mark.skipif(
    not (DEFAULT_DIR / "sales_pipeline.csv").exists(),
    reason=f"Maven data set not present at {DEFAULT_DIR}",
)


@pytest.fixture(scope="module")
def pipeline() -> list[dict[str, str]]:
    with (Path(DEFAULT_DIR) / "sales_pipeline.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def loaded(sandbox: SalesforceSandbox) -> dict:
    return load_maven(sandbox)


def test_counts_per_stage_equal_the_csv(
    loaded: dict, sf: Salesforce, pipeline: list[dict[str, str]]
) -> None:
    expected = Counter(STAGE_MAP[row["deal_stage"]] for row in pipeline)
    assert loaded["by_stage"] == dict(expected)
    grouped = sf.query("SELECT StageName, COUNT(Id) n FROM Opportunity GROUP BY StageName")
    assert {r["StageName"]: r["n"] for r in grouped["records"]} == dict(expected)
    assert loaded["opportunities"] == len(pipeline)


def test_won_amounts_and_dates_are_the_csv_values(
    loaded: dict, sandbox: SalesforceSandbox, pipeline: list[dict[str, str]]
) -> None:
    won = [row for row in pipeline if row["deal_stage"] == "Won"]
    by_name = {o["Name"].rsplit("(", 1)[1].rstrip(")"): o for o in sandbox.records("Opportunity")}
    for row in won[:200]:
        opp = by_name[row["opportunity_id"]]
        assert opp["Amount"] == float(row["close_value"])
        assert opp["CloseDate"] == row["close_date"]
        assert opp["CreatedDate"].startswith(row["engage_date"])
        assert opp["IsWon"] is True
    total_won = sum(float(r["close_value"]) for r in won)
    assert sum(o["Amount"] for o in by_name.values() if o["IsWon"]) == pytest.approx(total_won)


def test_open_deals_use_the_product_price_including_gtxpro(
    loaded: dict, sandbox: SalesforceSandbox, pipeline: list[dict[str, str]]
) -> None:
    by_name = {o["Name"].rsplit("(", 1)[1].rstrip(")"): o for o in sandbox.records("Opportunity")}
    gtx_pro_open = [
        r for r in pipeline if r["product"] == "GTXPro" and r["deal_stage"] == "Engaging"
    ]
    assert gtx_pro_open
    assert {by_name[r["opportunity_id"]]["Amount"] for r in gtx_pro_open} == {4821.0}


def test_users_accounts_and_managers(loaded: dict, sf: Salesforce) -> None:
    assert loaded["accounts"] == 85
    agents = sf.query(
        "SELECT Name, Manager.Name FROM User WHERE Title = 'Account Executive' "
        "AND Name = 'Anna Snelling'"
    )["records"]
    assert agents[0]["Manager"]["Name"] == "Dustin Brinkmann"
    websites = sf.query("SELECT Website FROM Account WHERE Name = 'Acme Corporation'")["records"]
    assert websites[0]["Website"] == "www.acmecorporation.com"


def test_history_has_an_entry_and_a_close_row(loaded: dict, sf: Salesforce) -> None:
    closed = sf.query("SELECT COUNT() FROM Opportunity WHERE IsClosed = true")["totalSize"]
    rows = sf.query("SELECT COUNT() FROM OpportunityHistory")["totalSize"]
    assert rows == loaded["opportunities"] + closed
    stages = sf.query("SELECT MasterLabel FROM OpportunityStage ORDER BY SortOrder")["records"]
    assert set(STAGE_MAP.values()) <= {s["MasterLabel"] for s in stages}
