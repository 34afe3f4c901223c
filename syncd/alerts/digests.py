"""Digests: a daily one per rep, and a weekly manager digest.

The daily digest groups a rep's open flags into one message; the weekly one carries the
pipeline metrics and the deals that need attention.

Digests are queued like alerts, under a digest key (``daily:<rep>:<date>``,
``weekly:<manager>:<date>``), so a digest is queued once per rep and day even when the job
runs twice, and delivered from the queue like any alert.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from syncd.alerts.blocks import deal_line, list_message, money
from syncd.alerts.slack import user_target
from syncd.pipeline_metrics import Report, days_in_current_stage
from syncd.rules.inputs import Deal, Pipeline

#: "Needs attention" windows of the weekly digest.
CLOSING_DAYS = 30
NO_STAGE_CHANGE_DAYS = 14
NEW_DAYS = 7


def deal_dict(deal: Deal) -> dict[str, Any]:
    """What the renderers show of a deal."""
    return {
        "id": deal.id,
        "name": deal.name,
        "amount": deal.amount,
        "stage": deal.stage,
        "close_date": deal.close_date.isoformat() if deal.close_date else None,
    }


def daily(
    pipeline: Pipeline, open_flags: list[Any], base_url: str | None
) -> dict[str, dict[str, Any]]:
    """One message per rep (by owner email) listing that rep's open, unsnoozed flags."""
    deals = {d.id: d for d in pipeline.deals}
    per_rep: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for flag in open_flags:
        deal = deals.get(flag.opportunity_id)
        if deal is None or not deal.owner_email:
            continue
        if (
            flag.state == "snoozed"
            and flag.snoozed_until
            and flag.snoozed_until.date() > pipeline.today
        ):
            continue
        summary = (flag.details or {}).get("summary", "")
        per_rep[deal.owner_email.lower()][deal.id].append(
            f"{flag.rule.replace('_', ' ')}: {summary}"
        )
    messages: dict[str, dict[str, Any]] = {}
    for rep, by_deal in sorted(per_rep.items()):
        lines = [
            f"{deal_line(deal_dict(deals[opp]), base_url)}\n    " + "\n    ".join(problems)
            for opp, problems in sorted(by_deal.items())
        ]
        count = sum(len(p) for p in by_deal.values())
        title = f"Your deals needing attention: {count} flags on {len(by_deal)} deals"
        messages[rep] = list_message(title, [("Deals", lines)])
    return messages


def attention(pipeline: Pipeline, flagged: set[str]) -> dict[str, list[Deal]]:
    """The weekly digest's lists of open deals needing attention."""
    today = pipeline.today
    open_deals = pipeline.open_deals()
    fields = ("Amount", "NextStep", "CloseDate")
    return {
        f"Closing in {CLOSING_DAYS} days": [
            d
            for d in open_deals
            if d.close_date and today <= d.close_date <= today + timedelta(days=CLOSING_DAYS)
        ],
        f"No stage change for {NO_STAGE_CHANGE_DAYS} days": [
            d for d in open_deals if days_in_current_stage(pipeline, d) >= NO_STAGE_CHANGE_DAYS
        ],
        "Missing information": [
            d for d in open_deals if any(d.fields.get(f) in (None, "") for f in fields)
        ],
        "New this week": [d for d in open_deals if (today - d.created.date()).days < NEW_DAYS],
        "At risk": [d for d in open_deals if d.id in flagged],
    }


def weekly(
    pipeline: Pipeline, report: Report, flagged: set[str], base_url: str | None
) -> dict[str, Any]:
    """The manager digest: the metrics, then the deals needing attention."""

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.0%}"

    def num(v: float | None, fmt: str = "{:,.1f}") -> str:
        return "—" if v is None else fmt.format(v)

    times = "{:.1f}x"
    header = [
        f"*Period* {report.period_start} to {report.period_end}:"
        f" {report.won} won, {report.lost} lost",
        f"*Win rate* {pct(report.win_rate)} · *Average deal* {money(report.avg_deal_size)}"
        f" · *Cycle* {num(report.cycle_days)} days",
        f"*Velocity* {money(report.velocity_per_day)} a day · *Open deals* {report.open_deals}"
        f" · *Open pipeline* {money(report.open_amount)}",
        f"*Coverage* {num(report.coverage, times)} (early {num(report.coverage_early, times)},"
        f" late {num(report.coverage_late, times)}) · *Slippage* {pct(report.slippage)}",
    ]
    groups = [
        (
            name,
            [
                deal_line(deal_dict(d), base_url)
                for d in sorted(deals, key=lambda d: d.close_date or date.max)
            ],
        )
        for name, deals in attention(pipeline, flagged).items()
    ]
    return list_message(f"Weekly pipeline digest, {pipeline.today.isoformat()}", groups, header)


def queue_daily(store: Any, messages: dict[str, dict[str, Any]], today: date) -> int:
    """Queue each rep's digest once per day; returns how many were queued now."""
    queued = 0
    for rep, message in messages.items():
        key = f"daily:{rep}:{today.isoformat()}"
        if store.alerts.last_sent(digest_key=key) is None and not _queued(store, key):
            store.alerts.enqueue(user_target(rep), message, digest_key=key)
            queued += 1
    return queued


def queue_weekly(
    store: Any, message: dict[str, Any], managers: list[str], channel: str | None, today: date
) -> int:
    """Queue the manager digest to each manager (or the fallback channel) once per day."""
    targets = [user_target(m) for m in managers] or ([f"channel:{channel}"] if channel else [])
    queued = 0
    for target in targets:
        key = f"weekly:{target}:{today.isoformat()}"
        if store.alerts.last_sent(digest_key=key) is None and not _queued(store, key):
            store.alerts.enqueue(target, message, digest_key=key)
            queued += 1
    return queued


def _queued(store: Any, key: str) -> bool:
    return any(a.digest_key == key for a in store.alerts.due(10_000))
