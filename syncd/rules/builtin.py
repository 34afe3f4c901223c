"""The built-in deal rules: each looks at one open deal and returns a Finding or None.

Thresholds come from :class:`Settings` (TOML ``[[rules.rule]]`` over the defaults below), with
``per_stage`` overrides by stage name. Stage sets are never names written here: "late" and
"from this stage on" are SortOrder comparisons against stages the org reports. A finding whose
measure reaches twice its threshold is one severity level higher, so "got worse" is visible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from syncd.config import Rule
from syncd.pipeline_metrics import days_in_current_stage, is_early
from syncd.rules.inputs import Deal, Pipeline

SEVERITY = {"info": 1, "warning": 2, "critical": 3}
SEVERITY_NAME = {v: k for k, v in SEVERITY.items()}

ACTIONS = {
    "no_activity": "Re-engage with a new angle or escalate to your manager.",
    "stale": "Close it as lost or move it to nurture; keep the pipeline honest.",
    "past_close_date": "Update the close date or close the deal.",
    "close_date_pushed": "Re-qualify; confirm the decision timeline with the buyer.",
    "stalled_in_stage": "Find what blocks the next step.",
    "missing_fields": "Fill them in; verify the deal is real.",
    "no_decision_maker": "Map the buying committee; meet the economic buyer.",
    "single_threaded": "Multi-thread: reach another stakeholder.",
    "engagement_drop": "Find out what changed in the buyer's priorities.",
    "closing_soon_early_stage": "The date is not real or the deal must move now.",
    "competitor_mentioned": "Sharpen the differentiation.",
}


@dataclass(frozen=True)
class Settings:
    """One rule's effective settings (defaults filled in)."""

    type: str
    enabled: bool = Rule.model_fields["enabled"].default
    days: int = 0
    times: int = 0
    percent: float = 0.0
    stages: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    competitors: tuple[str, ...] = ()
    severity: str = Rule.model_fields["severity"].default
    per_stage: Mapping[str, int] = field(default_factory=dict)

    def threshold(self, stage: str) -> int:
        """The days (or times) threshold for a deal in ``stage``."""
        default = self.days or self.times
        return int(self.per_stage.get(stage, default))


DEFAULTS: dict[str, dict[str, Any]] = {
    "no_activity": {"days": 10},
    "stale": {"days": 30},
    "past_close_date": {},
    "close_date_pushed": {"times": 2},
    "stalled_in_stage": {"days": 14},
    "missing_fields": {"fields": ("Amount", "NextStep", "CloseDate")},
    "no_decision_maker": {"roles": ("Decision Maker", "Economic Buyer")},
    "single_threaded": {"days": 30},
    "engagement_drop": {"days": 14, "percent": 50.0},
    "closing_soon_early_stage": {"days": 30},
    # Off unless configured with competitor names.
    "competitor_mentioned": {"days": 30, "enabled": False},
}


@dataclass(frozen=True, slots=True)
class Finding:
    """Why a rule flags a deal: the numbers, a sentence, a severity and what to do."""

    opportunity_id: str
    rule: str
    severity: int
    measure: float
    summary: str
    action: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def details(self) -> dict[str, Any]:
        """What the flag store keeps."""
        return {
            "summary": self.summary,
            "action": self.action,
            "measure": self.measure,
            "numbers": self.numbers,
        }


@dataclass
class Context:
    """Org-wide facts a rule may need, computed once per run."""

    pipeline: Pipeline
    boundary: str | None
    median_days: dict[str, float]
    internal_who: frozenset[str] = frozenset()


def _d(day: date | None) -> str:
    return day.strftime("%-d %b %Y") if day else "never"


def _finding(
    s: Settings, deal: Deal, measure: float, limit: float, summary: str, **numbers: Any
) -> Finding:
    level = SEVERITY[s.severity]
    if limit > 0 and measure >= 2 * limit:
        level = min(level + 1, 3)
    return Finding(deal.id, s.type, level, float(measure), summary, ACTIONS[s.type], numbers)


def _from_stage(ctx: Context, deal: Deal, stages: tuple[str, ...]) -> bool:
    """At or past the first of ``stages`` (or the late boundary) by SortOrder."""
    here = ctx.pipeline.stage(deal.stage)
    if here is None:
        return False
    named = [ctx.pipeline.stage(n) for n in stages]
    orders = [st.sort_order for st in named if st is not None]
    if orders:
        return here.sort_order >= min(orders)
    return not is_early(ctx.pipeline, deal.stage, ctx.boundary)


def no_activity(s: Settings, deal: Deal, ctx: Context) -> Finding | None:
    """No logged activity for N days (since creation when there never was any)."""
    last = deal.last_activity or deal.created.date()
    days = (ctx.pipeline.today - last).days
    limit = s.threshold(deal.stage)
    if days < limit:
        return None
    text = f"No activity for {days} days; last: {_d(deal.last_activity)}."
    return _finding(s, deal, days, limit, text, days=days, threshold=limit)


def stale(s: Settings, deal: Deal, ctx: Context) -> Finding | None:
    """No activity for N days and no next step."""
    if (deal.next_step or "").strip():
        return None
    last = deal.last_activity or deal.created.date()
    days = (ctx.pipeline.today - last).days
    limit = s.threshold(deal.stage)
    if days < limit:
        return None
    text = f"No activity for {days} days and no next step."
    return _finding(s, deal, days, limit, text, days=days, threshold=limit)


def past_close_date(s: Settings, deal: Deal, ctx: Context) -> Finding | None:
    """The close date is before today."""
    if deal.close_date is None or deal.close_date >= ctx.pipeline.today:
        return None
    days = (ctx.pipeline.today - deal.close_date).days
    text = f"Close date {_d(deal.close_date)} passed {days} days ago."
    return _finding(s, deal, days, 30, text, days=days)


def close_date_pushed(s: Settings, deal: Deal, ctx: Context) -> Finding | None:
    """The close date moved later N or more times (counted from history)."""
    pushes = [(o, n) for o, n in deal.close_date_changes if o and n and n > o]
    limit = s.threshold(deal.stage)
    if len(pushes) < limit:
        return None
    slipped = (pushes[-1][1] - pushes[0][0]).days
    text = f"Close date pushed {len(pushes)} times, {slipped} days in all."
    return _finding(s, deal, len(pushes), limit, text, times=len(pushes), days=slipped)


def stalled_in_stage(s: Settings, deal: Deal, ctx: Context) -> Finding | None:
    """Days in stage above max(N, 2 x the org's median for the stage)."""
    days = days_in_current_stage(ctx.pipeline, deal)
    median = ctx.median_days.get(deal.stage)
    limit = max(float(s.threshold(deal.stage)), 2 * (median or 0.0))
    if days <= limit:
        return None
    usual = f"org median {median:g}" if median is not None else "no org median yet"
    text = f"{days} days in {deal.stage} ({usual})."
    return _finding(s, deal, days, limit, text, days=days, median=median, threshold=limit)


def missing_fields(s: Settings, deal: Deal, ctx: Context) -> Finding | None:
    """A field required from this stage on is empty."""
    if not _from_stage(ctx, deal, s.stages):
        return None
    empty = [f for f in s.fields if deal.fields.get(f) in (None, "")]
    if not empty:
        return None
    text = f"Missing at {deal.stage}: {', '.join(empty)}."
    return _finding(s, deal, len(empty), 0, text, fields=empty)


def no_decision_maker(s: Settings, deal: Deal, ctx: Context) -> Finding | None:
    """From a stage on, no contact role in the configured set."""
    if not _from_stage(ctx, deal, s.stages):
        return None
    if any(role in s.roles for role in deal.roles):
        return None
    text = f"No {' or '.join(s.roles)} among {len(deal.roles)} contact roles."
    return _finding(s, deal, 1, 0, text, contact_roles=len(deal.roles))


def single_threaded(s: Settings, deal: Deal, ctx: Context) -> Finding | None:
    """Late stage with at most one external contact in the last N days."""
    if is_early(ctx.pipeline, deal.stage, ctx.boundary):
        return None
    window = s.threshold(deal.stage)
    who = {
        t.who_id
        for t in deal.touches
        if t.who_id
        and t.who_id not in ctx.internal_who
        and (ctx.pipeline.today - t.on).days < window
    }
    if len(who) > 1:
        return None
    text = (
        f"No buyer contact in the last {window} days at {deal.stage}."
        if not who
        else f"Single-threaded: one buyer contact in the last {window} days at {deal.stage}."
    )
    return _finding(s, deal, len(who), 0, text, contacts=len(who), days=window)


def engagement_drop(s: Settings, deal: Deal, ctx: Context) -> Finding | None:
    """Activities in the last N days below X% of the N days before."""
    n = s.threshold(deal.stage)
    ages = [(ctx.pipeline.today - t.on).days for t in deal.touches]
    recent = sum(1 for a in ages if 0 <= a < n)
    before = sum(1 for a in ages if n <= a < 2 * n)
    if before == 0 or recent * 100 >= s.percent * before:
        return None
    text = f"{recent} activities in the last {n} days against {before} the {n} days before."
    drop = 100 - 100 * recent / before
    return _finding(s, deal, drop, 0, text, recent=recent, before=before)


def closing_soon_early_stage(s: Settings, deal: Deal, ctx: Context) -> Finding | None:
    """Close date within N days while the stage is early."""
    if deal.close_date is None or not is_early(ctx.pipeline, deal.stage, ctx.boundary):
        return None
    days = (deal.close_date - ctx.pipeline.today).days
    limit = s.threshold(deal.stage)
    if not 0 <= days <= limit:
        return None
    text = f"Closes in {days} days ({_d(deal.close_date)}) but still at {deal.stage}."
    return _finding(s, deal, days, 0, text, days=days)


def competitor_mentioned(s: Settings, deal: Deal, ctx: Context) -> Finding | None:
    """A configured competitor appears in a recent activity subject."""
    window = s.threshold(deal.stage)
    recent = [
        t.subject.casefold() for t in deal.touches if (ctx.pipeline.today - t.on).days < window
    ]
    named = sorted({c for c in s.competitors if any(c.casefold() in subj for subj in recent)})
    if not named:
        return None
    text = f"Competitor mentioned in the last {window} days: {', '.join(named)}."
    return _finding(s, deal, len(named), 0, text, competitors=named)


RULES: dict[str, Callable[[Settings, Deal, Context], Finding | None]] = {
    "no_activity": no_activity,
    "stale": stale,
    "past_close_date": past_close_date,
    "close_date_pushed": close_date_pushed,
    "stalled_in_stage": stalled_in_stage,
    "missing_fields": missing_fields,
    "no_decision_maker": no_decision_maker,
    "single_threaded": single_threaded,
    "engagement_drop": engagement_drop,
    "closing_soon_early_stage": closing_soon_early_stage,
    "competitor_mentioned": competitor_mentioned,
}
