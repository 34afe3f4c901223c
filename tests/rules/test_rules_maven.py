"""`syncd pipeline report --json` and `syncd rules run` over the Maven pipeline in a sandbox org.

Win rate, average deal size and cycle length must equal an independent computation from the
CSV; the whole load is a handful of Salesforce calls.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))

from sf_helpers import start_sandbox

from sandbox.maven import DEFAULT_DIR, load_maven
from syncd.cli import main
from syncd.state import Store

SECRET_ENV = "SYNCD_TEST_SF_SECRET"


@pytest.fixture(scope="module")
def maven() -> Iterator[tuple[Any, dict[str, Any]]]:
    if not (Path(DEFAULT_DIR) / "sales_pipeline.csv").exists():
        pytest.skip(f"Maven data set not found at {DEFAULT_DIR}")
    sb = start_sandbox()
    loaded = load_maven(sb)
    yield sb, loaded
    sb.stop()


@pytest.fixture
def config(maven: tuple[Any, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    sb, _ = maven
    monkeypatch.setenv(SECRET_ENV, sb.client_secret)
    path = tmp_path / "syncd.toml"
    path.write_text(
        f"""
[state]
url = "sqlite:///{tmp_path / "state.db"}"
[salesforce]
login_url = "{sb.url}"
auth = "client_credentials"
client_id = "{sb.client_id}"
client_secret_env = "{SECRET_ENV}"
ca_bundle = "{sb.ca_bundle}"
[rules]
early_stage_boundary = "Proposal"
pipeline_target = 1000000.0
"""
    )
    return path


def from_csv() -> dict[str, float]:
    with (Path(DEFAULT_DIR) / "sales_pipeline.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    won = [r for r in rows if r["deal_stage"] == "Won"]
    lost = [r for r in rows if r["deal_stage"] == "Lost"]
    return {
        "won": len(won),
        "lost": len(lost),
        "win_rate": len(won) / (len(won) + len(lost)),
        "avg_deal_size": statistics.fmean(float(r["close_value"]) for r in won),
        "cycle_days": statistics.fmean(
            (date.fromisoformat(r["close_date"]) - date.fromisoformat(r["engage_date"])).days
            for r in won
        ),
    }


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_pipeline_report_matches_the_csv(
    maven: tuple[Any, dict], config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sb, loaded = maven
    sb.reset_counters()
    data = run_json(
        capsys,
        "pipeline",
        "report",
        "-c",
        str(config),
        "--json",
        "--since",
        "2016-01-01",
        "--until",
        "2017-12-31",
        "--as-of",
        loaded["as_of"],
    )
    expected = from_csv()
    assert (data["won"], data["lost"]) == (expected["won"], expected["lost"])
    for key in ("win_rate", "avg_deal_size", "cycle_days"):
        assert data[key] == pytest.approx(expected[key], rel=1e-9), key
    assert data["open_deals"] == loaded["opportunities"] - expected["won"] - expected["lost"]
    assert data["velocity_per_day"] == pytest.approx(
        data["open_deals"]
        * expected["avg_deal_size"]
        * expected["win_rate"]
        / expected["cycle_days"]
    )
    # Stage conversion from OpportunityHistory: every deal entered at a first stage.
    assert set(data["stage_conversion"]) >= {"Prospecting"}
    # 8,800 deals and ~15,000 history rows in a handful of calls (auth + paged queries).
    assert sb.api_calls_used <= 30, sb.calls


def test_rules_run_dry_then_real_then_again(
    maven: tuple[Any, dict], config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, loaded = maven
    args = ("rules", "run", "-c", str(config), "--json", "--as-of", loaded["as_of"])
    dry = run_json(capsys, *args, "--dry-run")
    assert dry["flags_by_rule"] and dry["alerts_queued"] == 0
    first = run_json(capsys, *args)
    assert first["flags_by_rule"] == dry["flags_by_rule"]
    assert first["raised"] == len(first["flags"])
    # The first run: one digest per owner, never one message per flag; every flag accounted.
    assert first["first_run"] and 0 < first["alerts_queued"] <= first["flagged_deals"]
    acc = first["alerts"]
    assert acc["merged"] + acc["suppressed"] + acc["failed"] == len(first["flags"])
    again = run_json(capsys, *args)
    assert again["raised"] == 0 and again["alerts_queued"] == 0 and again["resolved"] == 0
    assert again["salesforce_calls"] <= 15

    # flags snooze: the open flag goes quiet; an unknown one is an error.
    flag = first["flags"][0]
    snooze = ["flags", "snooze", flag["opportunity_id"], flag["rule"], "--until", "2099-01-01"]
    assert main([*snooze, "-c", str(config)]) == 0
    with Store.open(f"sqlite:///{config.parent / 'state.db'}") as store:
        snoozed = store.flags.open_flag(flag["opportunity_id"], flag["rule"])
        assert snoozed is not None and snoozed.state == "snoozed"
    assert (
        main(
            [
                "flags",
                "snooze",
                "006000000000000XXX",
                "stale",
                "--until",
                "2099-01-01",
                "-c",
                str(config),
            ]
        )
        == 1
    )
