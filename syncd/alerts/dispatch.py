"""Which flags become a message now, which wait for the digest, and what became of each.

A rules run hands over the flags that are due an alert and those that stay silent. Per deal:

- findings that say what another already says are *merged* (:mod:`syncd.rules.grouping`);
- the first run after installation sends each rep one digest of their flagged deals, never a
  burst (*suppressed: first_run_digest*);
- a deal gets a message now only for a new or worsened finding at or above the ``immediate``
  severity; the rest wait for the morning digest (*suppressed: digest*);
- none during ``quiet_hours`` in the owning rep's zone (*suppressed: quiet_hours*);
- at most one message per deal per ``per_deal`` interval (*suppressed: daily_limit*), and
  none while a queued message still carries the deal's flags (*suppressed: pending*);
- flags in their cool-down or snoozed stay silent (*suppressed: cooldown / snoozed*).

Every flag ends in exactly one account: queued (then sent or failed once delivery ran),
merged or suppressed with its reason. Messages carry their flags' ids in Slack message
metadata so delivery marks exactly those alerted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from syncd.alerts.slack import user_target
from syncd.config import SlackAlerts
from syncd.ports import StateStore
from syncd.rules.builtin import SEVERITY, Finding
from syncd.rules.grouping import DealStory, stories
from syncd.rules.lifecycle import Outcome

#: Reasons a due flag gets a message now rather than in the digest.
URGENT_REASONS = ("new", "worse")
#: Slack message metadata ``event_type`` of syncd's messages.
EVENT_TYPE = "syncd_deal_alert"


@dataclass(frozen=True)
class Policy:
    """How eagerly deal messages go out."""

    #: Lowest severity that is DMed at once when new or worse; None: digest only.
    immediate: int | None
    #: At most one message per deal within this interval.
    per_deal: timedelta
    #: No message at once from the first time to the second (wrapping midnight), read in
    #: the zone of the rep the message is for.
    quiet: tuple[time, time] | None = None
    #: A rep's zone by their User Id (:func:`syncd.capture.org_rules.rep_zones`).
    zone_of: Callable[[str | None], tzinfo] = lambda _rep: UTC

    @classmethod
    def from_config(
        cls, slack: SlackAlerts, zone_of: Callable[[str | None], tzinfo] | None = None
    ) -> Policy:
        """From ``[alerts.slack]``; ``zone_of`` places each rep's quiet hours."""
        quiet = None
        if slack.quiet_hours:
            start, end = slack.quiet_hours.split("-")
            quiet = (time.fromisoformat(start), time.fromisoformat(end))
        return cls(
            immediate=SEVERITY.get(slack.immediate),
            per_deal=slack.per_deal_interval,
            quiet=quiet,
            zone_of=zone_of or (lambda _rep: UTC),
        )

    def is_quiet(self, now: datetime, rep: str | None = None) -> bool:
        """Whether ``now`` falls in the quiet hours of ``rep`` (a User Id)."""
        if self.quiet is None:
            return False
        start, end = self.quiet
        here = now.astimezone(self.zone_of(rep)).time()
        return start <= here < end if start <= end else (here >= start or here < end)


@dataclass
class Account:
    """What became of one flag in this run."""

    status: str  # queued | sent | failed | merged | suppressed
    reason: str | None = None  # the suppression reason, or the delivery error
    alert_id: int | None = None


def metadata(opportunity_ids: Iterable[str], flag_ids: Iterable[int | None]) -> dict[str, Any]:
    """Slack message metadata naming the deals and flags a message carries."""
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {
            "opportunities": sorted(set(opportunity_ids)),
            "flags": sorted({f for f in flag_ids if f is not None}),
        },
    }


RenderDeal = Callable[[DealStory], dict[str, Any]]
RenderDigest = Callable[[list[DealStory]], dict[str, Any]]


@dataclass
class Dispatch:
    """The run's decisions: an account per (opportunity, rule) and the rows to queue."""

    accounts: dict[tuple[str, str], Account]
    rows: list[tuple[dict[str, Any], list[tuple[str, str]]]]

    def counts(self) -> dict[str, Any]:
        """Flags by account, and suppressed ones by reason."""
        by: dict[str, int] = dict.fromkeys(("sent", "merged", "suppressed", "failed", "queued"), 0)
        reasons: dict[str, int] = {}
        for acc in self.accounts.values():
            by[acc.status] = by.get(acc.status, 0) + 1
            if acc.status == "suppressed" and acc.reason:
                reasons[acc.reason] = reasons.get(acc.reason, 0) + 1
        return by | {"suppressed_by": dict(sorted(reasons.items()))}


def plan(
    outcome: Outcome,
    owners: Mapping[str, str | None],
    *,
    reps: Mapping[str, str | None] | None = None,
    policy: Policy,
    first_run: bool,
    busy: set[str],
    pending: Collection[int] = (),
    fallback: str | None,
    render_deal: RenderDeal,
    render_digest: RenderDigest,
    today: date,
    now: datetime,
) -> Dispatch:
    """Decide, per deal, what goes out.

    ``owners`` maps a deal to its owner's email, ``reps`` to their User Id (whose zone
    places the quiet hours). ``busy`` deals already had their message; ``pending`` flags
    ride in a queued one.
    """
    reps = reps or {}
    ids: dict[tuple[str, str], int | None] = {}
    reasons: dict[tuple[str, str], str] = {}
    accounts: dict[tuple[str, str], Account] = {}
    live: list[Finding] = []
    for flag_id, finding, reason in outcome.to_alert:
        key = (finding.opportunity_id, finding.rule)
        ids[key], reasons[key] = flag_id, reason
        live.append(finding)
    for flag_id, finding, why in outcome.silent:
        key = (finding.opportunity_id, finding.rule)
        ids[key] = flag_id
        if why == "snoozed":
            accounts[key] = Account("suppressed", "snoozed")
        else:
            live.append(finding)

    def key(f: Finding) -> tuple[str, str]:
        return (f.opportunity_id, f.rule)

    def target(opp: str) -> str | None:
        owner = owners.get(opp)
        return user_target(owner) if owner else (f"channel:{fallback}" if fallback else None)

    rows: list[tuple[dict[str, Any], list[tuple[str, str]]]] = []
    digests: dict[str, list[DealStory]] = {}
    for st in stories(live):
        for f in st.merged:
            accounts[key(f)] = Account("merged")
        shown = [key(f) for f in st.shown]
        due = [k for k in shown if k in reasons]
        urgent = policy.immediate is not None and any(
            reasons.get(key(f)) in URGENT_REASONS and f.severity >= policy.immediate
            for f in st.shown
        )
        where = target(st.opportunity_id)
        if where is None:
            for k in shown:
                accounts[k] = Account("failed", "no owner email and no fallback channel")
            continue
        if first_run:
            suppressed = "first_run_digest"
            digests.setdefault(where, []).append(st)
        elif any(ids.get(k) in pending for k in shown):
            suppressed = "pending"  # a queued message already carries it
        elif not due:
            suppressed = "cooldown"
        elif not urgent:
            suppressed = "digest"
        elif st.opportunity_id in busy:
            suppressed = "daily_limit"
        elif policy.is_quiet(now, reps.get(st.opportunity_id)):
            suppressed = "quiet_hours"  # the digest or the next run after says it
        else:
            carried = shown + [key(f) for f in st.merged]
            payload = render_deal(st) | {
                "metadata": metadata([st.opportunity_id], (ids.get(k) for k in carried))
            }
            rows.append(
                (
                    _row(where, payload, f"deal:{st.opportunity_id}:{today.isoformat()}", now),
                    shown,
                )
            )
            for k in shown:
                accounts[k] = Account("queued")
            continue
        for k in shown:
            accounts[k] = Account("suppressed", suppressed)
    for where, deal_stories in sorted(digests.items()):
        carried = [key(f) for st in deal_stories for f in st.shown + st.merged]
        payload = render_digest(deal_stories) | {
            "metadata": metadata(
                (st.opportunity_id for st in deal_stories), (ids.get(k) for k in carried)
            )
        }
        rep = where.removeprefix("user:")
        rows.append((_row(where, payload, f"daily:{rep}:{today.isoformat()}", now), []))
    return Dispatch(accounts, rows)


def _row(channel: str, payload: dict[str, Any], key: str, now: datetime) -> dict[str, Any]:
    return {
        "flag_id": None,
        "digest_key": key,
        "channel": channel,
        "payload": payload,
        "status": "queued",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


def queue(store: StateStore, dispatch: Dispatch) -> None:
    """Queue the planned messages in one transaction; accounts learn their alert ids."""
    if not dispatch.rows:
        return
    rows = [(r["digest_key"], r["channel"], r["payload"]) for r, _shown in dispatch.rows]
    with store.transaction() as tx:
        ids = tx.alerts.enqueue_keyed(rows, dispatch.rows[0][0]["created_at"])
    for alert_id, (_row, shown) in zip(ids, dispatch.rows, strict=True):
        for k in shown:
            dispatch.accounts[k].alert_id = alert_id


def settle(store: StateStore, dispatch: Dispatch) -> None:
    """After delivery: each queued flag's account becomes sent, failed (with why) or stays."""
    cache: dict[int, Any] = {}
    for acc in dispatch.accounts.values():
        if acc.status != "queued" or acc.alert_id is None:
            continue
        if acc.alert_id not in cache:
            cache[acc.alert_id] = store.alerts.get(acc.alert_id)
        alert = cache[acc.alert_id]
        if alert is None:
            continue
        if alert.status == "sent":
            acc.status = "sent"
        elif alert.status == "failed":
            acc.status, acc.reason = "failed", alert.last_error
        elif alert.last_error:
            acc.reason = alert.last_error
