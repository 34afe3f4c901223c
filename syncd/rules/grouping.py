"""A deal's findings as one ranked story: the most severe reason first, overlaps merged.

Rules overlap: ``stale`` is ``no_activity`` plus "no next step", and a deal past its close
date is, by the same fact, sitting in its stage. When both rules of such a pair fire on one
deal, the message says it once: the first of the pair (which states the fuller fact) stays,
at the worse severity of the two, and the other is *merged* into it. What stays is ranked by
severity, then by how directly the rep can act on it (:data:`RANK`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from syncd.rules.builtin import Finding

#: Pairs of rules that state the same fact; the first is kept.
OVERLAPS: tuple[tuple[str, str], ...] = (
    ("stale", "no_activity"),
    ("past_close_date", "stalled_in_stage"),
)

#: Tie-break among findings of equal severity: what a rep fixes first.
RANK: tuple[str, ...] = (
    "past_close_date",
    "stale",
    "no_activity",
    "closing_soon_early_stage",
    "close_date_pushed",
    "stalled_in_stage",
    "no_decision_maker",
    "single_threaded",
    "engagement_drop",
    "competitor_mentioned",
    "missing_fields",
)


def _order(finding: Finding) -> tuple[int, int]:
    rank = RANK.index(finding.rule) if finding.rule in RANK else len(RANK)
    return (-finding.severity, rank)


@dataclass(frozen=True)
class DealStory:
    """One deal's findings: what the message leads with, the rest, and what it merged."""

    opportunity_id: str
    shown: tuple[Finding, ...]
    merged: tuple[Finding, ...]

    @property
    def primary(self) -> Finding:
        """The most severe finding: the message's headline and its next step."""
        return self.shown[0]

    @property
    def severity(self) -> int:
        """The deal's severity: its most severe finding's."""
        return self.primary.severity

    @property
    def risk(self) -> int:
        """A score for ranking deals: the sum of the shown findings' severities."""
        return sum(f.severity for f in self.shown)


def story(findings: Iterable[Finding]) -> DealStory:
    """Merge and rank one deal's findings (at least one)."""
    by_rule = {f.rule: f for f in findings}
    merged: list[Finding] = []
    for keep, drop in OVERLAPS:
        a, b = by_rule.get(keep), by_rule.get(drop)
        if a is None or b is None:
            continue
        # The first of the pair says both facts; it carries the worse severity of the two.
        by_rule[keep] = replace(a, severity=max(a.severity, b.severity))
        merged.append(b)
        del by_rule[drop]
    shown = tuple(sorted(by_rule.values(), key=_order))
    if not shown:
        raise ValueError("a deal story needs at least one finding")
    return DealStory(shown[0].opportunity_id, shown, tuple(merged))


def stories(findings: Iterable[Finding]) -> list[DealStory]:
    """Every deal's story, most severe (then riskiest) deal first."""
    per_deal: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        per_deal[f.opportunity_id].append(f)
    result = [story(fs) for fs in per_deal.values()]
    return sorted(result, key=lambda s: (-s.severity, -s.risk, s.opportunity_id))
