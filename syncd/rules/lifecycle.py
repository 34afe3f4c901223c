"""Flag lifecycle: raise, resolve, snooze, and decide which flags deserve an alert now.

raised → alerted → resolved when the condition clears. A flag is due an alert when first
raised, then again only when the cool-down since its last alert has passed or it got worse
(severity up, or its measure — days, times — at least doubled since that alert). A snoozed
flag stays silent until its snooze ends. Which due flags become a message now, and which wait
for the digest, is :mod:`syncd.alerts.dispatch`'s choice. "Alerted" is recorded when Slack
accepts the message that carries the flag (:meth:`syncd.state.alerts.Alerts.mark_sent`), not
when it is queued: a flag whose message never went out is still due.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from syncd.ports import StateStore
from syncd.rules.builtin import Finding
from syncd.rules.engine import Evaluation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one run did to the flags."""

    raised: int
    updated: int
    resolved: int
    to_alert: list[tuple[int | None, Finding, str]]  # (flag id, finding, reason)
    #: Open flags that stay silent now: (flag id, finding, "cooldown" or "snoozed").
    silent: list[tuple[int | None, Finding, str]] = field(default_factory=list)


def _snoozed(flag: Any, now: datetime) -> bool:
    return flag.snoozed_until is not None and flag.snoozed_until > now


def _why(flag: Any, finding: Finding, now: datetime, cooldown: timedelta) -> str | None:
    """Why this open flag should alert again now, or None to stay silent."""
    if _snoozed(flag, now):
        return None
    if flag.last_alerted is None:
        return "new"
    said = (flag.details or {}).get("alerted") or {}
    if finding.severity > int(said.get("severity", flag.severity)):
        return "worse"
    measure = float(said.get("measure", 0) or 0)
    if measure > 0 and finding.measure >= 2 * measure:
        return "worse"
    if now - flag.last_alerted >= cooldown:
        return "cooldown"
    return None


def apply(
    store: StateStore,
    evaluation: Evaluation,
    *,
    now: datetime,
    cooldown: timedelta,
    dry_run: bool = False,
) -> Outcome:
    """Bring the flags in line with the evaluation; say which flags are due an alert.

    All writes go through the flag and alert stores in one transaction, with set-based
    statements (a run over a large org touches tens of thousands of flags). With ``dry_run``
    nothing is written and the alerts that would be queued are returned.
    """
    found = {(f.opportunity_id, f.rule): f for f in evaluation.findings}
    open_flags = {(fl.opportunity_id, fl.rule): fl for fl in store.flags.list_open()}
    plan: list[tuple[Any, Finding, str | None]] = [
        (
            open_flags.get(key),
            finding,
            _why(open_flags[key], finding, now, cooldown) if key in open_flags else "new",
        )
        for key, finding in found.items()
    ]
    # A flag of a rule that ran and did not fire again has cleared (a deal that closed since
    # is not evaluated at all, so its flags clear too).
    rules = set(evaluation.rules)
    cleared = [fl.id for key, fl in open_flags.items() if key not in found and key[1] in rules]
    raised = sum(1 for current, _f, _r in plan if current is None)

    def silent(current: Any) -> str:
        return "snoozed" if _snoozed(current, now) else "cooldown"

    def outcome(ids: dict[tuple[str, str], int | None]) -> Outcome:
        due = [(ids.get((f.opportunity_id, f.rule)), f, r) for _c, f, r in plan if r]
        quiet = [(c.id, f, silent(c)) for c, f, r in plan if not r and c is not None]
        return Outcome(raised, len(plan) - raised, len(cleared), due, quiet)

    if dry_run:
        return outcome({k: fl.id for k, fl in open_flags.items()})
    new_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for current, finding, _reason in plan:
        details = finding.details()
        # What the last delivered message said stays (set on delivery): "worse" compares to it.
        said = (current.details or {}).get("alerted") if current is not None else None
        if said:
            details["alerted"] = said
        values: dict[str, Any] = {
            "severity": finding.severity,
            "details": details,
            "updated_at": now,
        }
        if current is None:
            values |= {"state": "raised", "last_alerted": None}
            new_rows.append(
                {
                    "opportunity_id": finding.opportunity_id,
                    "rule": finding.rule,
                    "first_raised": now,
                }
                | values
            )
        else:
            updates.append({"id": current.id} | values)
    with store.transaction() as tx:
        ids: dict[tuple[str, str], int] = {k: fl.id for k, fl in open_flags.items()}
        ids |= tx.flags.raise_many(new_rows)
        tx.flags.update_many(updates)
        tx.flags.resolve_many(cleared, now)
    result = outcome(ids)
    log.info(
        "flags: %d raised, %d updated, %d resolved, %d due an alert",
        raised,
        len(updates),
        len(cleared),
        len(result.to_alert),
    )
    return result


def snooze(flags: Any, opportunity_id: str, rule: str, until: datetime) -> Any:
    """Snooze the open flag of this deal and rule until ``until`` (KeyError when none)."""
    flag = flags.open_flag(opportunity_id, rule)
    if flag is None:
        raise KeyError(f"no open {rule} flag on {opportunity_id}")
    return flags.snooze(flag.id, until)
