"""The privacy filter, applied to every activity before anything is written. Pure functions.

:func:`decide` returns a :class:`Decision` — keep, or skip with one
:class:`~syncd.model.SkipReason` — checking, in this order (the first that applies wins):

1. ``draft`` / ``spam_or_trash``: the provider's labels or folders say so.
2. ``excluded_address``, ``excluded_domain``, ``excluded_subject``: ``capture.exclude_*``.
   Subject patterns are Python regexes searched anywhere in the subject; write ``(?i)`` for
   case-insensitive.
3. Email only, when ``skip_bulk_mail``: ``bulk_mail`` when List-Unsubscribe or List-Id is
   present or Precedence is bulk/list/junk; ``automated`` when Auto-Submitted is anything but
   ``no``, or the sender's local part is a no-reply address (:data:`AUTOMATED_SENDERS`).
4. Inbound email only, when ``skip_role_senders``: ``role_sender`` when the sender's local part
   is in :data:`ROLE_SENDERS`. The list is deliberately short: ``sales@``, ``purchasing@``,
   ``procurement@``, ``accounts@``, ``billing@`` and the like are left out, because a
   customer's buying or finance team writing from a shared address is real deal activity.
   Outbound mail to a role address is kept: a rep chose to write to it.
5. Meetings: ``private_event`` for private or confidential events; ``declined`` when the
   mailbox owner declined; ``no_external_attendee`` (when ``skip_internal_only``) when every
   participant is internal.
6. Email and calls, when ``skip_internal_only``: ``internal_only`` when every participant is
   internal. A participant known only by a phone number counts as external.

Internal means a configured internal domain (or a subdomain of one), a Salesforce user's
address (``internal_addresses``, supplied at run time), or the activity's own mailbox.

:func:`apply_body` drops the body unless ``capture_body`` is true, and then replaces every
``redact_patterns`` match with ``[redacted]``. :func:`screen` does both for a list and counts
skips by reason in a ``Counter`` the runner merges into its totals.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syncd.capture.addresses import InternalParties, domain_matches
from syncd.email_address import matching_address
from syncd.model import Activity, Direction, Email, Meeting, Skip, SkipReason

if TYPE_CHECKING:
    from syncd.config import CaptureConfig

REDACTED = "[redacted]"

#: Local parts of senders that never get a reply: mail from them is machine-sent.
AUTOMATED_SENDERS: frozenset[str] = frozenset(
    {
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "mailer-daemon",
        "postmaster",
        "bounce",
        "bounces",
        "notifications",
        "notification",
        "notify",
        "alerts",
        "newsletter",
        "news",
        "marketing",
        "calendar-notification",
    }
)

#: Local parts of shared team inboxes whose inbound mail is rarely deal activity.
ROLE_SENDERS: frozenset[str] = frozenset(
    {"info", "support", "help", "helpdesk", "admin", "webmaster", "hostmaster", "abuse",
     "jobs", "careers", "hr", "press", "privacy", "legal", "security", "feedback"}
)  # fmt: skip

_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
_DRAFT_LABELS = frozenset({"draft", "drafts"})
_SPAM_LABELS = frozenset({"spam", "junk", "junkemail", "trash", "deleteditems", "deleted"})


@dataclass(frozen=True, slots=True)
class PrivacyRules:
    """What the filter needs from ``[capture]``, plus the Salesforce users' addresses."""

    internal_domains: frozenset[str]
    internal_addresses: frozenset[str]
    capture_body: bool
    redact_patterns: tuple[re.Pattern[str], ...]
    exclude_addresses: frozenset[str]
    exclude_domains: frozenset[str]
    exclude_subject_patterns: tuple[re.Pattern[str], ...]
    skip_internal_only: bool
    skip_bulk_mail: bool
    skip_role_senders: bool

    @classmethod
    def from_capture(
        cls, settings: CaptureConfig, internal_addresses: Iterable[str] = ()
    ) -> PrivacyRules:
        """The ``[capture]`` section (validated: its patterns compile) plus the org's users."""
        internal = InternalParties.build(settings.internal_domains, internal_addresses)
        excluded = InternalParties.build(settings.exclude_domains, settings.exclude_addresses)
        return cls(
            internal_domains=internal.domains,
            internal_addresses=internal.addresses,
            capture_body=settings.capture_body,
            redact_patterns=tuple(re.compile(p) for p in settings.redact_patterns),
            exclude_addresses=excluded.addresses,
            exclude_domains=excluded.domains,
            exclude_subject_patterns=tuple(
                re.compile(p) for p in settings.exclude_subject_patterns
            ),
            skip_internal_only=settings.skip_internal_only,
            skip_bulk_mail=settings.skip_bulk_mail,
            skip_role_senders=settings.skip_role_senders,
        )

    def internal_for(self, mailbox: str) -> InternalParties:
        """Who is internal for an activity captured from ``mailbox``."""
        # The fields are already normalised: no per-message pass over the org's users.
        return InternalParties(self.internal_domains, self.internal_addresses).with_addresses(
            [mailbox]
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """Keep the activity, or skip it for ``reason``; ``detail`` is short and content-free."""

    keep: bool
    reason: SkipReason | None = None
    detail: str = ""

    @classmethod
    def skip(cls, reason: SkipReason, detail: str = "") -> Decision:
        """A skip decision."""
        return cls(False, reason, detail)


KEEP = Decision(True)


def _local(address: str | None) -> str:
    return (matching_address(address) or "").rpartition("@")[0]


def _email_checks(email: Email, rules: PrivacyRules) -> Decision | None:
    if rules.skip_bulk_mail:
        if email.list_unsubscribe or email.list_id:
            return Decision.skip(SkipReason.BULK_MAIL, "list headers")
        if (email.precedence or "").strip().lower() in _BULK_PRECEDENCE:
            return Decision.skip(SkipReason.BULK_MAIL, "precedence")
        auto = (email.auto_submitted or "").split(";")[0].strip().lower()
        if auto and auto != "no":
            return Decision.skip(SkipReason.AUTOMATED, f"auto-submitted {auto}")
        if _local(email.sender) in AUTOMATED_SENDERS:
            return Decision.skip(SkipReason.AUTOMATED, "no-reply sender")
    if (
        rules.skip_role_senders
        and email.direction is Direction.INBOUND
        and _local(email.sender) in ROLE_SENDERS
    ):
        return Decision.skip(SkipReason.ROLE_SENDER, _local(email.sender))
    return None


def _meeting_checks(meeting: Meeting) -> Decision | None:
    if meeting.visibility in {"private", "confidential"}:
        return Decision.skip(SkipReason.PRIVATE_EVENT, meeting.visibility)
    owner = matching_address(meeting.mailbox)
    for p in meeting.participants:
        if p.response == "declined" and matching_address(p.address) == owner:
            return Decision.skip(SkipReason.DECLINED)
    return None


def _all_internal(activity: Activity, internal: InternalParties) -> bool:
    parts = activity.participants
    return bool(parts) and all(internal.is_internal(p.address) for p in parts)


def decide(activity: Activity, rules: PrivacyRules) -> Decision:
    """Whether ``activity`` may be captured, and if not, the one reason why."""
    if isinstance(activity, Email):
        labels = {label.strip().lower() for label in activity.labels}
        if labels & _DRAFT_LABELS:
            return Decision.skip(SkipReason.DRAFT)
        if labels & _SPAM_LABELS:
            return Decision.skip(SkipReason.SPAM_OR_TRASH)
    addresses = [a for a in (matching_address(x) for x in activity.addresses()) if a]
    for addr in addresses:
        if addr in rules.exclude_addresses:
            return Decision.skip(SkipReason.EXCLUDED_ADDRESS)
    for addr in addresses:
        if domain_matches(addr.rpartition("@")[2], rules.exclude_domains):
            return Decision.skip(SkipReason.EXCLUDED_DOMAIN, addr.rpartition("@")[2])
    for i, pattern in enumerate(rules.exclude_subject_patterns):
        if pattern.search(activity.subject):
            return Decision.skip(SkipReason.EXCLUDED_SUBJECT, f"pattern {i}")
    internal = rules.internal_for(activity.mailbox)
    if isinstance(activity, Email):
        found = _email_checks(activity, rules)
        if found:
            return found
    if isinstance(activity, Meeting):
        found = _meeting_checks(activity)
        if found:
            return found
        if rules.skip_internal_only and _all_internal(activity, internal):
            return Decision.skip(SkipReason.NO_EXTERNAL_ATTENDEE)
        return KEEP
    if rules.skip_internal_only and _all_internal(activity, internal):
        return Decision.skip(SkipReason.INTERNAL_ONLY)
    return KEEP


def redact(text: str, patterns: Iterable[re.Pattern[str]]) -> str:
    """``text`` with every match of every pattern replaced by ``[redacted]``."""
    for pattern in patterns:
        text = pattern.sub(REDACTED, text)
    return text


def apply_body(activity: Activity, rules: PrivacyRules) -> Activity:
    """Drop the body unless bodies are captured; redact it when they are."""
    if activity.body is None:
        return activity
    if not rules.capture_body:
        return activity.replace(body=None)
    return activity.replace(body=redact(activity.body, rules.redact_patterns))


@dataclass(frozen=True, slots=True)
class Screened:
    """The result of :func:`screen`: what to keep, what was skipped, and counts by reason."""

    kept: tuple[Activity, ...]
    skips: tuple[Skip, ...]
    counts: Counter[str]


def screen(activities: Iterable[Activity], rules: PrivacyRules) -> Screened:
    """Apply :func:`decide` and :func:`apply_body` to each activity, counting skips by reason."""
    kept: list[Activity] = []
    skips: list[Skip] = []
    counts: Counter[str] = Counter()
    for activity in activities:
        decision = decide(activity, rules)
        if decision.keep:
            kept.append(apply_body(activity, rules))
        else:
            assert decision.reason is not None
            skips.append(Skip(activity.source_id, decision.reason, decision.detail, activity.key))
            counts[str(decision.reason)] += 1
    return Screened(tuple(kept), tuple(skips), counts)
