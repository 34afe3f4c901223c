"""Alert delivery that never loses an alert: a revoked Slack token pauses delivery (checked
with auth.test), ``syncd rules run`` exits non-zero with the alerts still queued, ``syncd
alerts list`` shows them, and once the token works ``syncd alerts retry`` sends every one.
Delivery runs on its own executor thread, apart from capture."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from service_helpers import SECRET_ENV, start_org
from werkzeug.test import Client

from sandbox.slack import SlackSandbox
from syncd.app import App, load_config
from syncd.cli import main
from syncd.service.scheduler import Service

SLACK_ENV = "SYNCD_TEST_DELIVERY_SLACK_TOKEN"


def rules_config(org: Any, slack: SlackSandbox) -> Path:
    text = org.config.read_text() + (
        "\n[alerts.slack]\n"
        f'token_env = "{SLACK_ENV}"\n'
        f'api_url = "{slack.api_url}"\n'
        'fallback_channel = "#deals"\n'
    )
    path = org.config.with_name("rules.toml")
    path.write_text(text)
    return path


def seed_deals(org: Any, n: int) -> None:
    owners = [u for u in org.sb.records("User") if u["Email"]]
    (account, *_) = [a["Id"] for a in org.sb.records("Account")]
    past = (datetime.now(UTC).date() - timedelta(days=20)).isoformat()
    org.sb.insert(
        "Opportunity",
        [
            {
                "Name": f"Deal {i}",
                "StageName": "Prospecting",
                "CloseDate": past,
                "AccountId": account,
                "OwnerId": owners[i % len(owners)]["Id"],
                "Amount": 1000 * (i + 1),
            }
            for i in range(n)
        ],
    )


def api_calls(slack: SlackSandbox) -> int:
    return sum(n for path, n in slack.calls.items() if path.startswith("/api/"))


def test_revoked_token_loses_no_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    org = start_org(tmp_path)
    slack = SlackSandbox().start()
    try:
        for user in org.sb.records("User"):
            if user["Email"]:
                slack.add_user(user["Email"])
        seed_deals(org, 6)
        config = rules_config(org, slack)
        monkeypatch.setenv(SECRET_ENV, org.sb.client_secret)
        monkeypatch.setenv(SLACK_ENV, "xoxb-revoked")  # Slack answers invalid_auth

        assert main(["rules", "run", "-c", str(config), "--json"]) == 1
        summary = json.loads(capsys.readouterr().out)
        assert summary["alerts_queued"] > 0 and summary["alerts_sent"] == 0
        assert "invalid_auth" in summary["delivery_paused"]
        assert slack.messages == []
        assert api_calls(slack) == 1  # paused after the first refusal

        assert main(["alerts", "list", "-c", str(config), "--status", "queued", "--json"]) == 0
        queued = json.loads(capsys.readouterr().out)
        assert len(queued) == summary["alerts_queued"]
        assert all("invalid_auth" in (a["error"] or "") for a in queued[-1:])

        # Still revoked: retry checks auth.test first and posts nothing.
        assert main(["alerts", "retry", "-c", str(config)]) == 1
        capsys.readouterr()
        assert api_calls(slack) == 2  # a fresh process finds out with one request, then stops

        with App(load_config(config)) as app:
            # The status page and the metric show the pause and what waits.
            service = Service(app, listen="")
            # A rules run now: its flags ride in queued messages (pending), accounted so; it
            # wakes delivery, whose one refused request pauses it.
            service.rules_job()
            metrics = service.metrics.exposition().decode()
            assert 'syncd_alert_flags_total{account="suppressed"}' in metrics
            assert "syncd_alert_delivery_paused 1.0" in metrics
            assert api_calls(slack) == 3
            service.alerts_job()  # paused: auth.test only
            assert slack.calls["/api/auth.test"] == 1 and api_calls(slack) == 4
            page = Client(service.web_app).get("/").get_data(as_text=True)
            assert f"Slack alerts queued: <b>{len(queued)}</b>" in page
            assert "invalid_auth" in page and slack.token not in page
            assert '<span id="flag-accounts">flags: suppressed ' in page
            delivery = app.slack_delivery
            assert delivery.paused is not None
            # The token is fixed (same token object, now valid): auth.test passes, all go.
            slack.token = "xoxb-revoked"
            counts = delivery.deliver(app.store.alerts, now=app.clock)
            assert delivery.paused is None
            assert counts["sent"] == len(queued)
            assert app.store.alerts.due(1000) == []
            assert {f.state for f in app.store.flags.list_open()} == {"alerted"}
        assert len(slack.messages) == len(queued)  # 0 lost, none twice
    finally:
        slack.stop()
        org.sb.stop()


def test_delivery_has_its_own_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = start_org(tmp_path)
    slack = SlackSandbox().start()
    try:
        monkeypatch.setenv(SECRET_ENV, org.sb.client_secret)
        monkeypatch.setenv(SLACK_ENV, slack.token)
        with App(load_config(rules_config(org, slack))) as app:
            scheduler = Service(app, listen="").build_scheduler()
            jobs = {job.id: job for job in scheduler.get_jobs()}
            assert jobs["alerts"].executor == "delivery"
            assert {j.executor for k, j in jobs.items() if k != "alerts"} == {"default"}
    finally:
        slack.stop()
        org.sb.stop()
