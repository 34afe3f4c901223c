"""Flag lifecycle: raise, resolve, snooze, and decide which flags deserve an alert now.

raised → alerted → resolved when the condition clears. A flag is alerted when first raised,
then again only when the cool-down since its last alert has passed or it got worse (severity
up, or its measure — days, times — at least doubled since that alert). A snoozed flag stays
silent until its snooze ends. "Alerted" is recorded when the alert is queued: the queue is
durable and delivers it later, once, so a second run never queues it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from syncd.rules.builtin import Finding
from syncd.rules.engine import Evaluation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one run did to the flags."""

    raised: int
    updated: int
    resolved: int
    to_alert: list[tuple[Any, Finding, str]]  # (flag, finding, reason)


def _why(
    flag: Any, before: Any, finding: Finding, now: datetime, cooldown: timedelta
) -> str | None:
    """Why this flag should alert now, or None to stay silent."""
    if flag.snoozed_until is not None and flag.snoozed_until > now:
        return None
    if before is None or flag.last_alerted is None:
        return "new"
    said = (before.details or {}).get("alerted") or {}
    if finding.severity > int(said.get("severity", flag.severity)):
        return "worse"
    measure = float(said.get("measure", 0) or 0)
    if measure > 0 and finding.measure >= 2 * measure:
        return "worse"
    if now - flag.last_alerted >= cooldown:
        return "cooldown"
    return None


def apply(
    flags: Any,
    evaluation: Evaluation,
    *,
    now: datetime,
    cooldown: timedelta,
    enqueue: Callable[[Any, Finding, str], None] | None = None,
) -> Outcome:
    """Bring the flag store in line with the evaluation; queue alerts through ``enqueue``.

    With ``enqueue`` None (a dry run) nothing is written and the alerts that would be sent
    are returned.
    """
    found = {(f.opportunity_id, f.rule): f for f in evaluation.findings}
    rules = set(evaluation.rules)
    raised = updated = resolved = 0
    to_alert: list[tuple[Any, Finding, str]] = []
    open_flags = {(fl.opportunity_id, fl.rule): fl for fl in flags.list_open()}
    for key, finding in found.items():
        current = open_flags.get(key)
        if enqueue is None:
            reason = _why(current, current, finding, now, cooldown) if current else "new"
            if reason:
                to_alert.append((current, finding, reason))
            continue
        details = finding.details()
        if current is not None and (current.details or {}).get("alerted"):
            details["alerted"] = current.details["alerted"]
        flag, before = flags.raise_flag(key[0], key[1], finding.severity, details)
        raised += before is None
        updated += before is not None
        reason = _why(flag, before, finding, now, cooldown)
        if reason:
            details["alerted"] = {"severity": finding.severity, "measure": finding.measure}
            flag, _ = flags.raise_flag(key[0], key[1], finding.severity, details)
            flag = flags.mark_alerted(flag.id)
            enqueue(flag, finding, reason)
            to_alert.append((flag, finding, reason))
    for key, flag in open_flags.items():
        # A flag of a rule that ran and did not fire again has cleared (a deal that closed
        # since is not evaluated at all, so its flags clear too).
        if key in found or key[1] not in rules:
            continue
        if enqueue is not None:
            flags.resolve(flag.id)
        resolved += 1
    log.info(
        "flags: %d raised, %d updated, %d resolved, %d to alert",
        raised,
        updated,
        resolved,
        len(to_alert),
    )
    return Outcome(raised, updated, resolved, to_alert)


def snooze(flags: Any, opportunity_id: str, rule: str, until: datetime) -> Any:
    """Snooze the open flag of this deal and rule until ``until`` (KeyError when none)."""
    flag = flags.open_flag(opportunity_id, rule)
    if flag is None:
        raise KeyError(f"no open {rule} flag on {opportunity_id}")
    return flags.snooze(flag.id, until)
