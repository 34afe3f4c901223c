"""Pipeline metrics as the domain notes define them (manager digest, `pipeline report`).

- velocity = open deals x average won deal size x win rate / average cycle days (per day);
- win rate = won / (won + lost), deals closed in the period;
- average deal size = mean Amount of deals won in the period;
- cycle length = mean days from CreatedDate to CloseDate of deals won in the period; deals
  created after they closed (data migrated into Salesforce after the fact) are left out of
  cycle and velocity and counted in ``cycle_excluded``;
- coverage = open Amount closing in the NEXT period (today to today + the period's length) /
  the period's target, early and late stages separately (early: SortOrder below the
  configured boundary stage);
- stage conversion = deals that left stage S forward / deals that entered S (OpportunityHistory);
  a stage no deal ever left has no data (None), not 0 %;
- time in stage (median days per stage, stays from history) and aging (days since created);
- slippage = share of deals once due in the period whose close date now lies after it.

Everything here is a pure function of a :class:`~syncd.rules.inputs.Pipeline`.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from syncd.rules.inputs import Deal, Pipeline


def velocity(open_deals: int, avg_deal_size: float, win_rate: float, cycle_days: float) -> float:
    """Revenue per day the pipeline produces; 0 when there is no cycle to divide by."""
    if cycle_days <= 0:
        return 0.0
    return open_deals * avg_deal_size * win_rate / cycle_days


@dataclass
class Report:
    """The metrics for one period."""

    period_start: str
    period_end: str
    open_deals: int
    won: int
    lost: int
    win_rate: float | None
    avg_deal_size: float | None
    cycle_days: float | None
    velocity_per_day: float | None
    #: Won deals left out of cycle and velocity: created after their close date.
    cycle_excluded: int
    #: The window coverage counts open deals closing in: today to today + the period length.
    coverage_from: str
    coverage_to: str
    open_amount: float
    target: float | None
    coverage: float | None
    coverage_early: float | None
    coverage_late: float | None
    stage_conversion: dict[str, float | None] = field(default_factory=dict)
    median_days_in_stage: dict[str, float] = field(default_factory=dict)
    aging_median_days: float | None = None
    slippage: float | None = None
    slipped: int = 0
    #: Said when the period holds no closed deal (and what to ask instead).
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def is_early(pipeline: Pipeline, stage_name: str, boundary: str | None) -> bool:
    """Whether a stage comes before the early/late boundary stage (by SortOrder)."""
    stage = pipeline.stage(stage_name)
    if stage is None:
        return False
    open_orders = sorted(s.sort_order for s in pipeline.stages.values() if not s.is_closed)
    if boundary and pipeline.stage(boundary) is not None:
        limit = pipeline.stages[boundary].sort_order
    elif open_orders:
        # No boundary configured: the first half of the open stages is early.
        limit = open_orders[len(open_orders) // 2]
    else:
        return False
    return stage.sort_order < limit


def stays(pipeline: Pipeline, deal: Deal) -> list[tuple[str, int, bool]]:
    """(stage, days spent, finished) for each stay in a stage, from the deal's history."""
    changes = [c for c in deal.history]
    result: list[tuple[str, int, bool]] = []
    if not changes:
        return [(deal.stage, max((pipeline.today - deal.created.date()).days, 0), False)]
    current, since = changes[0].stage, changes[0].at.date()
    for change in changes[1:]:
        if change.stage != current:
            result.append((current, max((change.at.date() - since).days, 0), True))
            current, since = change.stage, change.at.date()
    result.append((current, max((pipeline.today - since).days, 0), False))
    return result


def days_in_current_stage(pipeline: Pipeline, deal: Deal) -> int:
    """Days since the deal entered the stage it is in."""
    return stays(pipeline, deal)[-1][1]


def median_days_in_stage(pipeline: Pipeline) -> dict[str, float]:
    """The org's median days in each stage, over finished stays."""
    spans: dict[str, list[int]] = defaultdict(list)
    for deal in pipeline.deals:
        for stage, days, finished in stays(pipeline, deal):
            if finished:
                spans[stage].append(days)
    return {stage: float(statistics.median(days)) for stage, days in spans.items()}


def stage_conversion(pipeline: Pipeline) -> dict[str, float | None]:
    """Per open stage: deals that left it forward / deals that entered it."""
    entered: dict[str, int] = defaultdict(int)
    forward: dict[str, int] = defaultdict(int)
    left: dict[str, int] = defaultdict(int)
    for deal in pipeline.deals:
        path = [c.stage for c in deal.history] or [deal.stage]
        distinct = [s for i, s in enumerate(path) if i == 0 or path[i - 1] != s]
        for i, name in enumerate(distinct):
            entered[name] += 1
            if i + 1 < len(distinct):
                left[name] += 1
                here, nxt = pipeline.stage(name), pipeline.stage(distinct[i + 1])
                lost = nxt is not None and nxt.is_closed and not nxt.is_won
                if here and nxt and not lost and nxt.sort_order > here.sort_order:
                    forward[name] += 1
    return {
        s.name: (forward[s.name] / entered[s.name] if left[s.name] else None)
        for s in sorted(pipeline.stages.values(), key=lambda s: s.sort_order)
        if not s.is_closed
    }


def report(
    pipeline: Pipeline,
    start: date,
    end: date,
    *,
    target: float | None = None,
    boundary: str | None = None,
) -> Report:
    """The metrics for deals closing between ``start`` and ``end`` (inclusive)."""
    won: list[Deal] = []
    lost: list[Deal] = []
    for deal in pipeline.deals:
        stage = pipeline.stage(deal.stage)
        if stage is None or not stage.is_closed or deal.close_date is None:
            continue
        if start <= deal.close_date <= end:
            (won if stage.is_won else lost).append(deal)
    open_deals = pipeline.open_deals()
    win_rate = len(won) / (len(won) + len(lost)) if won or lost else None
    amounts = [d.amount or 0.0 for d in won]
    avg_size = statistics.fmean(amounts) if amounts else None
    spans = [(d.close_date - d.created.date()).days for d in won if d.close_date]
    cycles = [days for days in spans if days >= 0]
    cycle = statistics.fmean(cycles) if cycles else None
    vel = (
        velocity(len(open_deals), avg_size, win_rate, cycle)
        if avg_size is not None and win_rate is not None and cycle
        else None
    )
    ahead = pipeline.today + (end - start)
    in_period = [d for d in open_deals if d.close_date and pipeline.today <= d.close_date <= ahead]
    early = sum(d.amount or 0.0 for d in in_period if is_early(pipeline, d.stage, boundary))
    total = sum(d.amount or 0.0 for d in in_period)
    late = total - early

    def cover(amount: float) -> float | None:
        return amount / target if target else None

    ages = [(pipeline.today - d.created.date()).days for d in open_deals]
    once_due = [d for d in pipeline.deals if _was_due(d, start, end)]
    slipped = [d for d in once_due if d.close_date and d.close_date > end]
    return Report(
        period_start=start.isoformat(),
        period_end=end.isoformat(),
        open_deals=len(open_deals),
        won=len(won),
        lost=len(lost),
        win_rate=win_rate,
        avg_deal_size=avg_size,
        cycle_days=cycle,
        velocity_per_day=vel,
        cycle_excluded=len(spans) - len(cycles),
        coverage_from=pipeline.today.isoformat(),
        coverage_to=ahead.isoformat(),
        open_amount=total,
        target=target,
        coverage=cover(total),
        coverage_early=cover(early),
        coverage_late=cover(late),
        stage_conversion=stage_conversion(pipeline),
        median_days_in_stage=median_days_in_stage(pipeline),
        aging_median_days=float(statistics.median(ages)) if ages else None,
        slippage=len(slipped) / len(once_due) if once_due else None,
        slipped=len(slipped),
    )


def _was_due(deal: Deal, start: date, end: date) -> bool:
    """Whether the deal's close date lay in the period at some point (now or in history)."""
    dates = {deal.close_date} | {c.close_date for c in deal.history}
    dates |= {old for old, _new in deal.close_date_changes}
    return any(d is not None and start <= d <= end for d in dates)
