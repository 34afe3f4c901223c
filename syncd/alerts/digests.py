"""Digests: a daily one per rep, and a weekly manager digest.

The daily digest is one message per rep: each flagged deal once, its findings merged and
ranked (:mod:`syncd.rules.grouping`), most severe deal first. The weekly one carries the
pipeline metrics and the deals that need attention, the at-risk ones ranked by risk x amount.

Digests are queued like alerts, under a digest key (``daily:<rep>:<date>``,
``weekly:<manager>:<date>``), so a digest is queued once per rep and day even when the job
runs twice, and delivered from the queue like any alert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from syncd.alerts.blocks import deal_line, escape, list_message, money, rule_title
from syncd.alerts.dispatch import metadata
from syncd.alerts.slack import user_target
from syncd.pipeline_metrics import Report, days_in_current_stage
from syncd.ports import StateStore
from syncd.rules.builtin import Finding
from syncd.rules.grouping import DealStory, stories
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


def finding_of(flag: Any) -> Finding:
    """A stored flag as the finding it records (for digests, which read flags, not rules)."""
    details = flag.details or {}
    return Finding(
        flag.opportunity_id,
        flag.rule,
        int(flag.severity),
        float(details.get("measure", 0) or 0),
        str(details.get("summary", "")),
        str(details.get("action", "")),
    )


def story_line(deal: dict[str, Any], st: DealStory, base_url: str | None) -> str:
    """A deal in a digest: the linked deal, its worst reason, the others named, what to do."""
    line = f"{deal_line(deal, base_url)}\n    *{rule_title(st.primary.rule)}*: "
    line += escape(st.primary.summary)
    rest = [rule_title(f.rule) for f in st.shown[1:]]
    if rest:
        line += f" (also {', '.join(rest)})"
    return line + f"\n    Next step: {escape(st.primary.action)}"


def deal_digest(
    deals: Mapping[str, Deal], deal_stories: list[DealStory], base_url: str | None
) -> dict[str, Any]:
    """One rep's flagged deals as one message, most severe deal first."""
    ranked = sorted(deal_stories, key=lambda st: (-st.severity, -st.risk, st.opportunity_id))
    lines = [
        story_line(deal_dict(deals[st.opportunity_id]), st, base_url)
        for st in ranked
        if st.opportunity_id in deals
    ]
    flags = sum(len(st.shown) + len(st.merged) for st in ranked)
    deals_word = "deal" if len(lines) == 1 else "deals"
    title = f"Your deals needing attention: {len(lines)} {deals_word} ({flags} flags)"
    return list_message(title, [("Deals", lines)])


def daily(
    pipeline: Pipeline, open_flags: list[Any], base_url: str | None
) -> dict[str, dict[str, Any]]:
    """One message per rep (by owner email) of that rep's flagged deals, merged and ranked."""
    deals = {d.id: d for d in pipeline.deals}
    per_rep: dict[str, list[Any]] = defaultdict(list)
    for flag in open_flags:
        deal = deals.get(flag.opportunity_id)
        if deal is None or not deal.owner_email:
            continue
        if flag.snoozed_until and flag.snoozed_until.date() > pipeline.today:
            continue
        per_rep[deal.owner_email.lower()].append(flag)
    messages: dict[str, dict[str, Any]] = {}
    for rep, flags in sorted(per_rep.items()):
        message = deal_digest(deals, stories(finding_of(f) for f in flags), base_url)
        message["metadata"] = metadata((f.opportunity_id for f in flags), (f.id for f in flags))
        messages[rep] = message
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
    pipeline: Pipeline,
    report: Report,
    flagged: Mapping[str, int] | set[str],
    base_url: str | None,
) -> dict[str, Any]:
    """The manager digest: the metrics, then the deals needing attention.

    ``flagged`` maps each flagged deal to its risk score (a set: equal risk).
    """

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
        f" · *Closing by {report.coverage_to}* {money(report.open_amount)}",
        f"*Coverage* {num(report.coverage, times)} (early {num(report.coverage_early, times)},"
        f" late {num(report.coverage_late, times)}) · *Slippage* {pct(report.slippage)}",
    ]
    if report.cycle_excluded:
        header.append(
            f"{report.cycle_excluded} won deals created after their close date"
            " left out of cycle and velocity"
        )
    if report.note:
        header.append(escape(report.note))
    risk = flagged if isinstance(flagged, Mapping) else dict.fromkeys(flagged, 1)

    def order(name: str, deal: Deal) -> tuple[Any, ...]:
        if name == "At risk":  # the costliest risk first: risk score x amount
            return (-risk.get(deal.id, 0) * (deal.amount or 0.0), deal.id)
        return (deal.close_date or date.max, deal.id)

    groups = [
        (
            name,
            [
                deal_line(deal_dict(d), base_url)
                for d in sorted(deals, key=lambda d, n=name: order(n, d))
            ],
        )
        for name, deals in attention(pipeline, set(risk)).items()
    ]
    return list_message(f"Weekly pipeline digest, {pipeline.today.isoformat()}", groups, header)


def queue_daily(store: StateStore, messages: dict[str, dict[str, Any]], today: date) -> int:
    """Queue each rep's digest once per day; returns how many were queued now."""
    queued = 0
    for rep, message in messages.items():
        key = f"daily:{rep}:{today.isoformat()}"
        if store.alerts.last_sent(digest_key=key) is None and not _queued(store, key):
            store.alerts.enqueue(user_target(rep), message, digest_key=key)
            queued += 1
    return queued


def queue_weekly(
    store: StateStore,
    message: dict[str, Any],
    managers: list[str],
    channel: str | None,
    today: date,
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


def _queued(store: StateStore, key: str) -> bool:
    return any(a.digest_key == key for a in store.alerts.due(10_000))
