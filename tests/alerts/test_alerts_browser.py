"""A deal message and a digest as Slack shows them, rendered by the Slack sandbox's page in
headless Chromium: the deal's name shows literally (no ping, no foreign link), the record
link, the reasons, the next step and the buttons are there. Screenshots are kept in
``tests/artifacts/`` (docs/images holds copies). Skips visibly without Chromium."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rules"))

from rules_helpers import STAGES, at, deal

from sandbox.slack import SlackSandbox
from syncd.alerts.slack import SlackDelivery
from syncd.config.models import RulesConfig
from syncd.rules.inputs import Change, Pipeline
from syncd.rules.run import run_rules
from syncd.state import Store

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
NOW = datetime(2026, 3, 16, 7, tzinfo=UTC)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=900,900",
]  # fmt: skip
CONFIG = SimpleNamespace(
    service=SimpleNamespace(timezone=None),
    rules=RulesConfig(early_stage_boundary="Propose"),
    alerts=SimpleNamespace(
        slack=SimpleNamespace(
            fallback_channel="#deals",
            cooldown=timedelta(days=3),
            salesforce_base_url="https://acme.my.salesforce.com",
            managers=(),
            immediate="warning",
            per_deal_interval=timedelta(days=1),
            takes_clicks=True,
            quiet_hours=None,
        )
    ),
)


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


@pytest.fixture
def slack() -> Iterator[SlackSandbox]:
    sb = SlackSandbox().start()
    sb.add_user("ana@ourco.com")
    yield sb
    sb.stop()


def world(today: datetime, first: bool) -> Pipeline:
    entered = [Change(at(today.date() - timedelta(days=40)), "Negotiate", None, None)]
    deals = [
        deal(
            "006GLOBEX",
            name="Globex <!channel> & co renewal",
            stage="Negotiate",
            amount=84_000.0,
            owner_email="ana@ourco.com",
            last_activity=today.date() - timedelta(days=41),
            close_date=today.date() - timedelta(days=6),
            next_step=None,
            roles=["Influencer"],
            history=entered,
        ),
        deal(
            "006INITECH",
            name="Initech expansion",
            stage="Negotiate",
            owner_email="ana@ourco.com",
            last_activity=today.date() - timedelta(days=12),
            history=entered,
        ),
    ]
    if first:
        deals = deals[1:]
    return Pipeline(today=today.date(), stages=dict(STAGES), deals=deals)


def shot(chromium: str, url: str, tmp: Path, name: str) -> str:
    flags = [*FLAGS, f"--user-data-dir={tmp / 'profile'}"]
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=90,
        check=True,
    ).stdout  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(
        [chromium, *flags, f"--screenshot={ARTIFACTS / name}", url],
        capture_output=True, timeout=90, check=True,
    )  # fmt: skip
    assert (ARTIFACTS / name).stat().st_size > 10_000
    return dom


def test_deal_message_and_digest_render_as_slack_shows_them(
    chromium: str, slack: SlackSandbox, tmp_path: Path
) -> None:
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", clock=lambda: NOW) as store:
        delivery = SlackDelivery(token=slack.token, api_url=slack.api_url)
        run_rules(CONFIG, None, store, now=NOW, delivery=delivery, pipeline=world(NOW, True))
        run_rules(CONFIG, None, store, now=NOW, delivery=delivery, pipeline=world(NOW, False))
    dm = "D" + slack.users["ana@ourco.com"][1:]
    digest, message = slack.by_channel(dm)
    assert digest.text.startswith("Your deals needing attention")
    assert message.text.startswith("past close date (+4 more): Globex")
    dom = shot(chromium, f"{slack.url}/?channel={dm}", tmp_path, "slack-deal-message.png")
    assert "Direct message with ana@ourco.com (2)" in dom
    assert "Globex &lt;!channel&gt; &amp; co renewal" in dom  # literal, not a ping
    assert "@channel" not in dom
    assert 'href="https://acme.my.salesforce.com/lightning/r/Opportunity/006GLOBEX/view"' in dom
    assert "Next step:" in dom and "Snooze 7 days" in dom and "Close date +1 week" in dom
    assert "Log next step" in dom
