"""One rules run, the digests and the pipeline report, wired from a configuration.

This is what ``syncd rules run``, ``syncd pipeline report``, the scheduler and ``syncd demo``
call: load the pipeline (a handful of Salesforce calls), evaluate, bring the flags up to date,
decide per deal what goes out (:mod:`syncd.alerts.dispatch`), queue it, and deliver the queue
to Slack when ``[alerts.slack]`` is configured.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from syncd.alerts import digests, dispatch
from syncd.alerts.actions import buttons
from syncd.alerts.blocks import deal_message
from syncd.alerts.slack import SlackDelivery
from syncd.capture.org_rules import rep_zones
from syncd.config import Config, SlackAlerts
from syncd.pipeline_metrics import Report, report
from syncd.ports import SalesforceApi, StateStore
from syncd.rules import inputs
from syncd.rules.engine import evaluate, settings_from_config
from syncd.rules.grouping import DealStory, stories
from syncd.rules.inputs import Pipeline
from syncd.rules.lifecycle import apply

if TYPE_CHECKING:
    from syncd.app import App

log = logging.getLogger(__name__)

#: ``[alerts.slack]``'s defaults, for a run without Slack (built unvalidated: app mode would
#: need a token); the cooldown, fallback channel and managers still shape the queue.
_NO_SLACK = SlackAlerts.model_construct()


def _slack(config: Config) -> SlackAlerts:
    return config.alerts.slack or _NO_SLACK


def base_url(config: Config, client: SalesforceApi) -> str | None:
    """Where opportunity links point: the configured URL, else the org's instance URL."""
    configured = _slack(config).salesforce_base_url
    return configured or getattr(client, "instance_url", None)


def rep_zone_of(app: App) -> Callable[[str | None], tzinfo]:
    """Each rep's zone, as capture reads it (User.TimeZoneSidKey, service, org, UTC).

    The directory is read only when quiet hours need it.
    """
    directory = app.directory if _slack(app.config).quiet_hours else None
    return rep_zones(directory, timezone=app.config.service.timezone)


def load(config: Config, client: SalesforceApi, store: StateStore, today: date) -> Pipeline:
    """The pipeline as of ``today``, with the fields missing_fields looks at."""
    extra: tuple[str, ...] = ()
    for s in settings_from_config(config.rules):
        if s.type == "missing_fields" and s.enabled:
            extra = tuple(s.fields)
    return inputs.load(client, today, ledger=store.ledger if store else None, extra_fields=extra)


def run_rules(
    config: Config,
    client: SalesforceApi,
    store: StateStore,
    *,
    now: datetime,
    dry_run: bool = False,
    delivery: SlackDelivery | None = None,
    progress: Callable[[int, int], None] | None = None,
    pipeline: Pipeline | None = None,
    zone_of: Callable[[str | None], tzinfo] | None = None,
) -> dict[str, Any]:
    """Evaluate the rules, update flags, queue and deliver deal messages; return a summary.

    ``zone_of`` gives a rep's zone by User Id (:func:`rep_zone_of`; without it every rep is in
    ``service.timezone``, else UTC): quiet hours are the owning rep's.

    The summary accounts for every flag (``alerts``): sent, merged, suppressed (by reason),
    failed (with its error) or still queued; they add up to the number of flags.
    """
    calls_before = getattr(client, "calls_made", 0)
    today = now.date()
    pipeline = pipeline or load(config, client, store, today)
    evaluation = evaluate(
        pipeline, settings_from_config(config.rules), boundary=config.rules.early_stage_boundary
    )
    deals = {d.id: d for d in pipeline.deals}
    slack = _slack(config)
    fallback = slack.fallback_channel
    link_base = base_url(config, client)
    policy = dispatch.Policy.from_config(
        slack, zone_of or rep_zones(None, timezone=config.service.timezone)
    )
    first_run = store.alerts.count() == 0 and not store.flags.list_open()

    def render_deal(st: DealStory) -> dict[str, Any]:
        reasons = [(f.rule, f.summary) for f in st.shown]
        deal = digests.deal_dict(deals[st.opportunity_id])
        message = deal_message(deal, reasons, st.primary.action, link_base, merged=len(st.merged))
        if slack.takes_clicks:
            # Buttons only where their clicks reach us (the interactivity endpoint is on).
            message["blocks"][-1:-1] = buttons(st.opportunity_id, deal["close_date"])
        return message

    outcome = apply(store, evaluation, now=now, cooldown=slack.cooldown, dry_run=dry_run)
    plan = dispatch.plan(
        outcome,
        {d.id: d.owner_email for d in pipeline.deals},
        reps={d.id: d.owner_id for d in pipeline.deals},
        policy=policy,
        first_run=first_run,
        busy=store.alerts.recent_deals(now - policy.per_deal),
        pending=store.alerts.pending_flags(),
        fallback=fallback,
        render_deal=render_deal,
        render_digest=lambda sts: digests.deal_digest(deals, sts, link_base),
        today=today,
        now=now,
    )
    delivered: Counter[str] = Counter()
    if not dry_run:
        dispatch.queue(store, plan)
        if delivery is not None:
            delivered = delivery.deliver(store.alerts, now=lambda: now, progress=progress)
        dispatch.settle(store, plan)
    accounts = plan.accounts
    return {
        "open_deals": len(evaluation.evaluated),
        "flagged_deals": len({f.opportunity_id for f in evaluation.findings}),
        "flags_by_rule": dict(sorted(evaluation.by_rule().items())),
        "raised": outcome.raised,
        "resolved": outcome.resolved,
        "first_run": first_run,
        "alerts": plan.counts(),
        "alerts_queued": 0 if dry_run else len(plan.rows),
        "alerts_sent": delivered.get("sent", 0),
        "alerts_requeued": delivered.get("requeued", 0),
        "alerts_failed": delivered.get("failed", 0),
        "alerts_paused": delivered.get("paused", 0),
        "alerts_held": delivered.get("held", 0),
        "delivery_paused": getattr(delivery, "paused", None),
        "salesforce_calls": getattr(client, "calls_made", 0) - calls_before,
        "dry_run": dry_run,
        "flags": [
            {
                "opportunity_id": f.opportunity_id,
                "opportunity": deals[f.opportunity_id].name,
                "rule": f.rule,
                "severity": f.severity,
                "why": f.summary,
                "action": f.action,
                "alert": accounts[(f.opportunity_id, f.rule)].status,
                "alert_reason": accounts[(f.opportunity_id, f.rule)].reason,
            }
            for f in evaluation.findings
        ],
    }


def pipeline_report(
    config: Config,
    pipeline: Pipeline,
    *,
    start: date | None = None,
    end: date | None = None,
) -> Report:
    """The metrics for ``start``..``end`` (default: the last ``period_days`` to today).

    A period without a closed deal says so in ``note``, with the ``--since`` that would show
    the org's latest closed deals (an org whose last close is older than the period).
    """
    end = end or pipeline.today
    start = start or end - timedelta(days=config.rules.period_days)
    result = report(
        pipeline,
        start,
        end,
        target=config.rules.pipeline_target,
        boundary=config.rules.early_stage_boundary,
    )
    if result.won + result.lost == 0:
        closed = [
            d.close_date
            for d in pipeline.deals
            if d.close_date and (st := pipeline.stage(d.stage)) is not None and st.is_closed
        ]
        result.note = f"No deal closed between {start} and {end}."
        if closed:
            last = max(closed)
            since = last - timedelta(days=config.rules.period_days)
            result.note += f" The last closed on {last}: try --since {since} --until {last}."
        else:
            result.note += " No deal has closed yet."
    return result


def run_digests(
    config: Config,
    client: SalesforceApi,
    store: StateStore,
    pipeline: Pipeline,
    *,
    weekly: bool = False,
    daily: bool = True,
) -> dict[str, int]:
    """Queue today's rep digests (unless not ``daily``) and the manager digest when ``weekly``.

    Each digest is keyed by recipient and date, so queueing twice on one day queues nothing.
    """
    link_base = base_url(config, client)
    flags = store.flags.list_open()
    counts = {"daily": 0, "weekly": 0}
    if daily:
        counts["daily"] = digests.queue_daily(
            store, digests.daily(pipeline, flags, link_base), pipeline.today
        )
    if weekly:
        slack = _slack(config)
        risk = {st.opportunity_id: st.risk for st in stories(map(digests.finding_of, flags))}
        message = digests.weekly(pipeline, pipeline_report(config, pipeline), risk, link_base)
        counts["weekly"] = digests.queue_weekly(
            store, message, list(slack.managers), slack.fallback_channel, pipeline.today
        )
    return counts


# --- the daemon's scheduled jobs -------------------------------------------------------------
# ``syncd run`` calls these on their crons, on the advisory-lock holder only; ``app`` is a
# :class:`syncd.app.App` (its Salesforce client, store, clock and Slack delivery).

#: The advisory lock every daemon delivery of the alert queue takes. The jobs that deliver
#: (rules, digest, manager-digest, alerts) each hold their own lock, so two workers can run
#: two of them at once; the queue is read, then each alert marked sent after its post, so two
#: senders at once would post the same alerts twice. One sender at a time: a worker that finds
#: the queue being delivered leaves it to that worker and the next alerts job (five minutes).
DELIVERY_LOCK = "alert-delivery"


def deliver_due(app: App, should_stop: Callable[[], bool] | None = None) -> Counter[str]:
    """Send the alerts and digests that are due (requeued ones included); counts by outcome.

    Nothing is sent (empty counts) while another worker delivers the queue.
    """
    delivery = app.slack_delivery
    if delivery is None:
        return Counter()
    with app.store.try_advisory_lock(DELIVERY_LOCK) as held:
        if not held:
            log.info("alert queue being delivered by another worker; left to it")
            return Counter()
        return delivery.deliver(app.store.alerts, now=app.clock, should_stop=should_stop)


def scheduled_rules(app: App) -> dict[str, Any]:
    """The rules run at ``rules.schedule``: flags brought up to date, alerts queued.

    Delivery is the ``alerts`` job's, on its own thread (the caller wakes it).
    """
    summary = run_rules(
        app.config, app.salesforce, app.store, now=app.clock(), zone_of=rep_zone_of(app)
    )
    log.info(
        "rules run",
        extra={
            "open_deals": summary["open_deals"],
            "raised": summary["raised"],
            "resolved": summary["resolved"],
            "messages_queued": summary["alerts_queued"],
            "salesforce_calls": summary["salesforce_calls"],
        }
        | {f"flags_{k}": v for k, v in summary["alerts"].items() if k != "suppressed_by"},
    )
    return summary


def scheduled_digests(app: App, *, weekly: bool) -> dict[str, int]:
    """The reps' daily digests, or (``weekly``) the managers' digest, queued."""
    now = app.clock()
    pipeline = load(app.config, app.salesforce, app.store, now.date())
    counts = run_digests(
        app.config, app.salesforce, app.store, pipeline, weekly=weekly, daily=not weekly
    )
    log.info("digests queued", extra={"daily": counts["daily"], "weekly": counts["weekly"]})
    return counts
