"""The rules engine: effective settings from ``[rules]``, then every rule over every open deal.

Evaluation is pure (a Pipeline in, Findings out); loading and the flag store are elsewhere.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from syncd.config import RulesConfig
from syncd.pipeline_metrics import median_days_in_stage
from syncd.rules.builtin import DEFAULTS, RULES, Context, Finding, Settings
from syncd.rules.inputs import Pipeline

log = logging.getLogger(__name__)


def settings_from_config(rules_config: RulesConfig | None = None) -> list[Settings]:
    """Every built-in rule with its defaults, overridden by the configured ``[[rules.rule]]``."""
    configured = {rule.type: rule for rule in (rules_config or RulesConfig()).rule}
    result: list[Settings] = []
    for name, defaults in DEFAULTS.items():
        values: dict[str, Any] = dict(defaults)
        rule = configured.get(name)
        if rule is not None:
            values["enabled"] = rule.enabled
            for key in ("days", "times", "percent"):
                if getattr(rule, key) is not None:
                    values[key] = getattr(rule, key)
            for key in ("stages", "fields", "roles", "competitors"):
                if getattr(rule, key):
                    values[key] = tuple(getattr(rule, key))
            values["severity"] = rule.severity
            values["per_stage"] = dict(rule.per_stage)
        if name == "competitor_mentioned" and not values.get("competitors"):
            values["enabled"] = False
        result.append(Settings(type=name, **values))
    return result


@dataclass
class Evaluation:
    """One run of the rules: the findings and which deals were looked at."""

    findings: list[Finding]
    evaluated: list[str]
    rules: list[str]

    def by_rule(self) -> Counter[str]:
        """Number of findings per rule."""
        return Counter(f.rule for f in self.findings)


def evaluate(
    pipeline: Pipeline,
    settings: Iterable[Settings],
    *,
    boundary: str | None = None,
    internal_who: Iterable[str] = (),
) -> Evaluation:
    """Run every enabled rule over every open deal."""
    active = [s for s in settings if s.enabled]
    ctx = Context(
        pipeline=pipeline,
        boundary=boundary,
        median_days=median_days_in_stage(pipeline),
        internal_who=frozenset(internal_who),
    )
    findings: list[Finding] = []
    deals = pipeline.open_deals()
    for deal in deals:
        for s in active:
            found = RULES[s.type](s, deal, ctx)
            if found is not None:
                findings.append(found)
    log.info("rules: %d open deals, %d findings", len(deals), len(findings))
    return Evaluation(findings, [d.id for d in deals], [s.type for s in active])
