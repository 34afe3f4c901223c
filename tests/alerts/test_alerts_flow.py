"""Rules to Slack end to end (pipeline in memory, real store, real slack_sdk, Slack sandbox):
the first run is one digest per rep; then one message per deal (findings merged and ranked),
at most one a day, only for what is new and severe; every flag accounted for; a flag alerted
when its message is delivered; digests grouped per rep and within Slack's limits."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rules"))

from alerts_helpers import Time, delivery, fixtures
from rules_helpers import STAGES, at, deal

from sandbox.slack import SlackSandbox
from syncd.alerts import digests
from syncd.capture.org_rules import rep_zones
from syncd.config.models import RulesConfig
from syncd.pipeline_metrics import report
from syncd.rules.inputs import Change, Pipeline
from syncd.rules.run import run_digests, run_rules
from syncd.state import Store

tm, slack, store = fixtures()

NOW = datetime(2026, 3, 16, 7, tzinfo=UTC)


CONFIG = SimpleNamespace(
    service=SimpleNamespace(timezone=None),
    rules=RulesConfig(early_stage_boundary="Propose", pipeline_target=50_000.0),
    alerts=SimpleNamespace(
        slack=SimpleNamespace(
            fallback_channel="#deals",
            cooldown=timedelta(days=3),
            salesforce_base_url="https://org.example.my.salesforce.com",
            managers=("boss@ourco.com",),
            immediate="critical",
            per_deal_interval=timedelta(days=1),
            takes_clicks=False,
            quiet_hours=None,
        )
    ),
)


def world(today: date, quiet: int, step: str | None = "demo", *extra: Any) -> Pipeline:
    """Ana's quiet deal, Bob's deal past its close date, a healthy deal (and ``extra``)."""
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
        *extra,
    ]
    return Pipeline(today=today, stages=dict(STAGES), deals=deals)


def troubled(today: date) -> Any:
    """Ana's late-stage deal with six findings: quiet, stale, past close, missing next step,
    no decision maker, single-threaded."""
    return deal(
        "006BAD",
        name="Initech expansion",
        stage="Negotiate",
        owner_email="ana@ourco.com",
        last_activity=today - timedelta(days=40),
        close_date=today - timedelta(days=3),
        next_step=None,
        history=[Change(at(today - timedelta(days=5)), "Negotiate", None, None)],
    )


def rules_pass(
    store: Store,
    slack: SlackSandbox,
    tm: Time,
    quiet: int,
    step: str | None = "demo",
    *extra: Any,
    config: Any = CONFIG,
    users: dict[str, str] | None = None,
    zone_of: Any = None,
) -> dict:
    """One rules run over ``world``; ``users`` gives the deals' owners their User Ids."""
    pipeline = world(tm.now.date(), quiet, step, *extra)
    for d in pipeline.deals:
        d.owner_id = (users or {}).get(d.owner_email or "")
    return run_rules(
        config,
        None,
        store,
        now=tm.now,
        delivery=delivery(slack, tm),
        pipeline=pipeline,
        zone_of=zone_of,
    )


def quiet_config(hours: str) -> Any:
    """CONFIG with these ``quiet_hours`` and the service in Paris."""
    slack = vars(CONFIG.alerts.slack) | {"quiet_hours": hours}
    return SimpleNamespace(
        rules=CONFIG.rules,
        service=SimpleNamespace(timezone="Europe/Paris"),
        alerts=SimpleNamespace(slack=SimpleNamespace(**slack)),
    )


def accounted(summary: dict) -> int:
    acc = summary["alerts"]
    return acc["sent"] + acc["merged"] + acc["suppressed"] + acc["failed"] + acc["queued"]


def ana_dm(slack: SlackSandbox) -> str:
    return "D" + slack.users["ana@ourco.com"][1:]


def test_first_run_is_one_digest_per_rep_and_flags_alerted_on_delivery(
    store: Store, slack: SlackSandbox, tm: Time
) -> None:
    first = rules_pass(store, slack, tm, 12, "demo", troubled(tm.now.date()))
    assert first["first_run"] is True
    assert first["flagged_deals"] == 3
    # Ana: one digest of her two flagged deals; Bob (no Slack account): the fallback channel.
    assert len(slack.by_channel(ana_dm(slack))) == 1 and len(slack.by_channel("#deals")) == 1
    assert first["alerts_sent"] == 2 <= first["flagged_deals"]
    assert accounted(first) == len(first["flags"])
    assert first["alerts"]["merged"] == 1  # no_activity said by stale on the troubled deal
    assert set(first["alerts"]["suppressed_by"]) == {"first_run_digest"}
    digest = slack.by_channel(ana_dm(slack))[0]
    assert digest.text.startswith("Your deals needing attention: 2 deals")
    body = str(digest.blocks)
    assert body.index("Initech expansion") < body.index("Deal 006ANA")  # worst deal first
    assert {f.state for f in store.flags.list_open()} == {"alerted"}


def test_one_message_per_deal_findings_merged_and_ranked(
    store: Store, slack: SlackSandbox, tm: Time
) -> None:
    rules_pass(store, slack, tm, 12)  # the first run: digests
    before = len(slack.messages)
    bad = troubled(tm.now.date())
    run = rules_pass(store, slack, tm, 12, "demo", bad)
    mine = [f for f in run["flags"] if f["opportunity_id"] == "006BAD"]
    assert len(mine) == 6
    assert len(slack.messages) == before + 1  # six findings, one message
    msg = slack.by_channel(ana_dm(slack))[-1]
    assert "Initech expansion" in msg.text and "(+4 more)" in msg.text
    shown = [f["rule"] for f in mine if f["alert"] == "sent"]
    assert len(shown) == 5 and [f["rule"] for f in mine if f["alert"] == "merged"] == [
        "no_activity"
    ]
    # The most severe reason leads; the message says "no activity" once.
    head = msg.blocks[0]["text"]["text"]
    assert "stale" in head or "past close date" in head
    assert str(msg.blocks).count("No activity for 40 days") == 1
    assert accounted(run) == len(run["flags"])

    # The same day it gets worse: still one message per deal per day.
    tm.now += timedelta(hours=3)
    again = rules_pass(store, slack, tm, 12, "demo", troubled(tm.now.date()))
    assert len(slack.messages) == before + 1
    assert again["alerts"]["suppressed"] >= 5


def test_new_warning_waits_for_the_digest_critical_goes_at_once(
    store: Store, slack: SlackSandbox, tm: Time
) -> None:
    rules_pass(store, slack, tm, 0)  # first run: Bob's digest only
    sent = len(slack.messages)
    warn = rules_pass(store, slack, tm, 12)  # Ana's deal: new no_activity, a warning
    assert [f["alert_reason"] for f in warn["flags"] if f["opportunity_id"] == "006ANA"] == [
        "digest"
    ]
    assert len(slack.messages) == sent
    assert store.flags.open_flag("006ANA", "no_activity").state == "raised"
    tm.now += timedelta(days=1)
    worse = rules_pass(store, slack, tm, 25)  # 25 days: twice the threshold, critical
    assert worse["alerts_sent"] == 1
    assert "25 days" in slack.by_channel(ana_dm(slack))[-1].text
    assert store.flags.open_flag("006ANA", "no_activity").state == "alerted"


def test_undelivered_message_keeps_its_flags_due(
    store: Store, slack: SlackSandbox, tm: Time
) -> None:
    rules_pass(store, slack, tm, 0)
    slack.outage(1000)
    run = rules_pass(store, slack, tm, 25)
    assert run["alerts"]["queued"] == 1 and accounted(run) == len(run["flags"])
    assert store.flags.open_flag("006ANA", "no_activity").last_alerted is None
    slack.outage(0)
    tm.now += timedelta(minutes=10)
    assert delivery(slack, tm).deliver(store.alerts, now=lambda: tm.now)["sent"] == 1
    assert store.flags.open_flag("006ANA", "no_activity").state == "alerted"


def test_daily_digest_groups_each_reps_deals_once(
    store: Store, slack: SlackSandbox, tm: Time
) -> None:
    rules_pass(store, slack, tm, 0)  # first run
    tm.now += timedelta(days=1)
    rules_pass(store, slack, tm, 40, None)  # Ana: no_activity and stale, one deal
    pipeline = world(tm.now.date(), 40, None)
    counts = run_digests(CONFIG, None, store, pipeline, weekly=True)
    assert counts == {"daily": 2, "weekly": 1}
    assert run_digests(CONFIG, None, store, pipeline, weekly=True) == {"daily": 0, "weekly": 0}
    assert delivery(slack, tm).deliver(store.alerts, now=lambda: tm.now)["sent"] == 3
    ana = [m for m in slack.by_channel(ana_dm(slack)) if "needing attention" in m.text]
    assert [m.text for m in ana] == ["Your deals needing attention: 1 deal (2 flags)"]
    assert str(ana[0].blocks).count("No activity for 40 days") == 1
    weekly = slack.by_channel("#deals")[-1]  # the manager has no Slack account: fallback
    assert weekly.text.startswith("Weekly pipeline digest")
    body = str(weekly.blocks)
    assert "Win rate" in body and "*At risk* (2)" in body


def test_weekly_digest_lists_attention_groups_at_risk_by_risk_times_amount() -> None:
    today = date(2026, 3, 16)
    new = deal("N", created=at(today - timedelta(days=2)))
    closing = deal("C", close_date=today + timedelta(days=10), amount=1_000.0)
    missing = deal("M", fields={"Amount": None, "NextStep": "x", "CloseDate": "y"})
    p = Pipeline(today=today, stages=dict(STAGES), deals=[new, closing, missing])
    groups = digests.attention(p, {"M"})
    assert [d.id for d in groups["New this week"]] == ["N"]
    assert [d.id for d in groups["Closing in 30 days"]] == ["C"]
    assert [d.id for d in groups["Missing information"]] == ["M"]
    assert [d.id for d in groups["At risk"]] == ["M"]
    # C: risk 3 x 1,000 < M: risk 1 x 10,000.
    message = digests.weekly(
        p, report(p, today - timedelta(days=90), today), {"C": 3, "M": 1}, None
    )
    assert len(message["blocks"]) <= 50
    body = str(message["blocks"])
    assert "New this week" in body
    at_risk = body[body.index("*At risk*") :]
    assert at_risk.index("*Deal M*") < at_risk.index("*Deal C*")


def test_quiet_hours_hold_deal_messages_until_they_end(
    store: Store, slack: SlackSandbox, tm: Time
) -> None:
    quiet = quiet_config("07:30-09:00")
    rules_pass(store, slack, tm, 0, config=quiet)  # first run: Bob's digest
    sent = len(slack.messages)
    held = rules_pass(store, slack, tm, 25, config=quiet)  # 08:00 in Paris: quiet
    assert [f["alert_reason"] for f in held["flags"] if f["opportunity_id"] == "006ANA"] == [
        "quiet_hours"
    ]
    assert len(slack.messages) == sent and accounted(held) == len(held["flags"])
    tm.now += timedelta(hours=1)  # 09:00 in Paris: the quiet hours are over
    after = rules_pass(store, slack, tm, 25, config=quiet)
    assert after["alerts_sent"] == 1 and "25 days" in slack.by_channel(ana_dm(slack))[-1].text


def test_quiet_hours_are_each_reps_own(store: Store, slack: SlackSandbox, tm: Time) -> None:
    """07:00 UTC is 08:00 for Ana in Paris (inside 07:30-09:00) and 03:00 for Bob in New York:
    Ana's new critical deal waits, Bob's goes out, at the same instant."""
    slack.add_user("bob@ourco.com")
    users = {"ana@ourco.com": "005ANA", "bob@ourco.com": "005BOB"}
    zones = {"005ANA": "Europe/Paris", "005BOB": "America/New_York"}
    # The directory's answers as Salesforce gives them (User.TimeZoneSidKey); the service
    # zone is Paris, so without each rep's own zone Bob's deal would be held too.
    directory = SimpleNamespace(time_zone_of=zones.get, org_time_zone="Europe/Paris")
    config = quiet_config("07:30-09:00")
    today = tm.now.date()
    quiet_bob = deal(
        "006BOB2",
        owner_email="bob@ourco.com",
        last_activity=today - timedelta(days=25),
        history=[Change(at(today - timedelta(days=5)), "Discover", None, None)],
    )
    zone_of = rep_zones(directory, timezone=config.service.timezone)

    def rules_run(quiet: int, *extra: Any) -> dict:
        return rules_pass(
            store, slack, tm, quiet, "demo", *extra, config=config, users=users, zone_of=zone_of
        )

    rules_run(0)  # first run: one digest each
    ana_before = len(slack.by_channel(ana_dm(slack)))
    bob_dm = "D" + slack.users["bob@ourco.com"][1:]
    bob_before = len(slack.by_channel(bob_dm))
    both = rules_run(25, quiet_bob)
    by_deal = {f["opportunity_id"]: (f["alert"], f["alert_reason"]) for f in both["flags"]}
    assert by_deal["006ANA"] == ("suppressed", "quiet_hours")
    assert by_deal["006BOB2"] == ("sent", None)
    assert both["alerts"]["suppressed_by"].get("quiet_hours") == 1
    assert accounted(both) == len(both["flags"])
    assert len(slack.by_channel(ana_dm(slack))) == ana_before
    assert len(slack.by_channel(bob_dm)) == bob_before + 1
    assert "Deal 006BOB2" in str(slack.by_channel(bob_dm)[-1].blocks)
