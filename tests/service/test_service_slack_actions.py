"""Buttons that act, end to end over real sockets: the Slack sandbox sends a signed click to
the service's /webhooks/slack, the service answers within Slack's three seconds, then moves
the close date in the Salesforce sandbox, resolves the flag, records who did it and updates
the message. Unsigned, stale and replayed callbacks are refused and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from service_helpers import SECRET_ENV, start_org

from sandbox.slack import SlackSandbox
from syncd.app import App, load_config
from syncd.service.scheduler import Service
from syncd.service.web import WebServer

SLACK_ENV = "SYNCD_TEST_ACTIONS_SLACK_TOKEN"
SIGNING_ENV = "SYNCD_TEST_ACTIONS_SIGNING_SECRET"


KEY_ENV = "SYNCD_TEST_ACTIONS_SF_KEY"


def actions_config(org: Any, slack: SlackSandbox, auth: str) -> Path:
    text = org.config.read_text()
    if auth == "jwt":  # the JWT bearer flow: the service can sign in as the rep
        text = text.replace(
            'auth = "client_credentials"',
            f'auth = "jwt"\nusername = "{org.sb.username}"\nprivate_key_env = "{KEY_ENV}"\n'
            'jwt_audience = "https://login.salesforce.com"',
        ).replace(f'client_secret_env = "{SECRET_ENV}"\n', "")
    text += (
        "\n[alerts.slack]\n"
        f'token_env = "{SLACK_ENV}"\n'
        f'signing_secret_env = "{SIGNING_ENV}"\n'
        f'api_url = "{slack.api_url}"\n'
        'fallback_channel = "#deals"\n'
        'immediate = "warning"\n'
    )
    path = org.config.with_name("actions.toml")
    path.write_text(text)
    return path


@pytest.mark.parametrize("auth", ["client_credentials", "jwt"])
def test_signed_click_moves_close_date_resolves_flag_updates_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auth: str
) -> None:
    org = start_org(tmp_path)
    slack = SlackSandbox().start()
    web = None
    try:
        ana = slack.add_user("ana@ourco.com")
        (owner,) = [u["Id"] for u in org.sb.records("User") if u["Email"] == "ana@ourco.com"]
        (account,) = [a["Id"] for a in org.sb.records("Account")]
        closed = datetime.now(UTC).date() - timedelta(days=3)
        (opp,) = org.sb.insert(
            "Opportunity",
            [
                {
                    "Name": "Globex renewal",
                    "StageName": "Prospecting",
                    "CloseDate": closed.isoformat(),
                    "AccountId": account,
                    "OwnerId": owner,
                    "NextStep": "call",
                    "Amount": 50000,
                }
            ],
        )
        monkeypatch.setenv(SECRET_ENV, org.sb.client_secret)
        monkeypatch.setenv(SLACK_ENV, slack.token)
        monkeypatch.setenv(SIGNING_ENV, slack.signing_secret)
        monkeypatch.setenv(KEY_ENV, org.sb.jwt_private_key_pem)
        with App(load_config(actions_config(org, slack, auth))) as app:
            # Not the first run after installation (that one is a digest): alerted before.
            app.store.alerts.mark_sent(app.store.alerts.enqueue("channel:#x", {}, digest_key="x"))
            service = Service(app, listen="")
            web = WebServer(service.web_app, "127.0.0.1:0").start()
            slack.interactivity_url = web.url + "/webhooks/slack"
            service.rules_job()
            (msg,) = [m for m in slack.messages if m.channel == "D" + ana[1:]]
            assert "syncd:close_month" in str(msg.blocks)
            flag = app.store.flags.open_flag(opp, "past_close_date")
            assert flag is not None

            refused = [
                slack.click(msg, "syncd:close_month", ana, sign=False)[0],
                slack.click(msg, "syncd:close_month", ana, age_seconds=6 * 60)[0],
            ]
            done, sent = slack.click(msg, "syncd:close_month", ana)
            replayed, _ = slack.click(msg, "syncd:close_month", ana, replay=sent)
            retried, _ = slack.click(msg, "syncd:close_month", ana, retry_of=sent)
            assert done.status == 200 and done.in_time, done
            assert retried.status == 200 and retried.in_time, retried
            assert [i.status for i in [*refused, replayed]] == [401, 401, 401]

            assert slack.wait_updated(msg), "the message was never updated"
            (record,) = org.sb.records("Opportunity")
            assert record["CloseDate"] == (closed + timedelta(days=30)).isoformat()  # once
            assert "syncd:close_month" not in str(msg.blocks)
            assert f"Close date moved to {closed + timedelta(days=30)} by <@{ana}>" in str(
                msg.blocks
            )
            assert app.store.flags.open_flag(opp, "past_close_date") is None
            resolved = app.store.flags.get(flag.id)
            assert resolved is not None and resolved.state == "resolved"
            (action,) = resolved.details["actions"]
            assert action["slack_user"] == ana and action["user_id"] == owner
            # With JWT the rep's own session made the change; else the integration user's.
            assert action["as_rep"] is (auth == "jwt")
            assert (record["LastModifiedById"] == owner) is (auth == "jwt")
            service.slack_actions.stop()
            assert service.slack_actions.done == 1  # the retry was acknowledged, not redone
    finally:
        if web is not None:
            web.stop()
        slack.stop()
        org.sb.stop()
