"""Matching: who an activity was with (WhoId) and what it was about (WhatId). Pure functions.

:func:`match` reads an :class:`~syncd.model.Activity` and a directory snapshot and returns a
:class:`Match`: the decision and a trace of why, in words an operator can read in
``syncd explain``. The rules (design.md, "Matching"):

1. The owner is the Salesforce user whose email is the mailbox's.
2. Each external participant, in order of relevance (the other side first: recipients of
   outbound mail, the sender of inbound mail, then cc, attendees), is matched to a Contact by
   email, else to an unconverted Lead by email; a phone number to a Contact, else a Lead, by
   E.164. Participants of one role are taken in the order of their addresses, not of the
   header or attendee list, so the result does not depend on how a provider listed them.
   Internal participants (Salesforce users, internal domains, the mailbox) are never
   matched. An address or number shared by several contacts is *ambiguous*: it is reported,
   not guessed, and that participant is not used.
3. WhoId is the first matched contact (else the first lead). WhatId, with a contact, follows
   ``opportunity_policy``:

   - ``contact_role_then_single_open``: an open opportunity where a matched contact holds a
     contact role (one such opportunity, or the one where the role is primary); with no role,
     the only open opportunity of the contact's account; else the account. Roles on several
     open opportunities with no single primary one give the account: the roles left it open,
     so the account's only opportunity is not used to guess.
   - ``contact_role_only``: an opportunity by contact role, else the account.
   - ``account_only``: the account.

   The directory holds open opportunities only, so a closed one is never chosen. A lead gets no
   WhatId (Salesforce refuses a WhatId beside a Lead WhoId).
4. No contact or lead: the domain of an external, non-personal address → the one Account whose
   Website is on that domain.
5. Still nothing: unmatched, with the reason; the item waits in the unmatched queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from syncd.capture.addresses import InternalParties, domain_of, is_personal_domain
from syncd.config import CaptureConfig
from syncd.email_address import matching_address
from syncd.model import Activity, Direction, Participant, Role

if TYPE_CHECKING:
    from syncd.ports import DirectoryView

POLICIES = ("contact_role_then_single_open", "contact_role_only", "account_only")
#: ``capture.opportunity_policy`` when the table does not set it.
DEFAULT_POLICY: str = CaptureConfig.model_fields["opportunity_policy"].default

_ORDER_OUTBOUND = (Role.TO, Role.CC, Role.BCC, Role.CALLEE, Role.ATTENDEE, Role.ORGANIZER)
_ORDER_INBOUND = (Role.FROM, Role.CALLER, Role.ORGANIZER, Role.CC, Role.TO, Role.ATTENDEE)


@dataclass(frozen=True)
class Match:
    """The matching decision for one activity, with the reasons."""

    owner_id: str | None = None
    who_id: str | None = None
    who_type: str | None = None  # "Contact" | "Lead"
    what_id: str | None = None
    what_type: str | None = None  # "Opportunity" | "Account"
    #: Every matched contact/lead id, Who first (meeting invitees become EventRelations).
    people: tuple[str, ...] = ()
    trace: tuple[str, ...] = ()
    unmatched_reason: str | None = None

    @property
    def matched(self) -> bool:
        """True when the activity can be written (it has a Who or a What)."""
        return self.who_id is not None or self.what_id is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for the ledger's match trace and ``syncd explain``."""
        return {
            "owner_id": self.owner_id,
            "who_id": self.who_id,
            "who_type": self.who_type,
            "what_id": self.what_id,
            "what_type": self.what_type,
            "people": list(self.people),
            "trace": list(self.trace),
            "unmatched_reason": self.unmatched_reason,
        }


@dataclass
class _Found:
    contacts: list[Any] = field(default_factory=list)
    leads: list[Any] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    external: list[Participant] = field(default_factory=list)


def _ordered(activity: Activity) -> list[Participant]:
    order = _ORDER_OUTBOUND if activity.direction is Direction.OUTBOUND else _ORDER_INBOUND
    rank = {role: i for i, role in enumerate(order)}
    # Within one role, by address (then phone), not by position: the same meeting comes from
    # several calendars and the same mail from several mailboxes, and their providers list
    # attendees and recipients in different orders. The match must not depend on that.
    return sorted(
        activity.participants,
        key=lambda p: (
            rank.get(p.role, len(rank)),
            matching_address(p.address) or "",
            (p.address or "").lower(),
            p.phone or "",
        ),
    )


def _label(p: Participant) -> str:
    # The trace names participants by role and position, never by address: it is stored and
    # shown in status, and addresses are personal data.
    kind = "phone" if p.phone and not p.address else "address"
    return f"{p.role} {kind}"


def _find_people(
    activity: Activity, directory: DirectoryView, internal: InternalParties, trace: list[str]
) -> _Found:
    found = _Found()
    seen: set[str] = set()
    for p in _ordered(activity):
        ident = p.address or p.phone
        if not ident or ident in seen:
            continue
        seen.add(ident)
        if p.address and (internal.is_internal(p.address) or directory.user_by_email(p.address)):
            continue
        found.external.append(p)
        if p.address:
            contacts, leads = directory.contacts_by_email(p.address), []
            if not contacts:
                leads = directory.leads_by_email(p.address)
            how = "email"
        else:
            assert p.phone is not None
            contacts, leads = directory.contacts_by_phone(p.phone), []
            if not contacts:
                leads = directory.leads_by_phone(p.phone)
            how = "phone"
        for sobject, hits, bucket in (("Contact", contacts, found.contacts),
                                      ("Lead", leads, found.leads)):  # fmt: skip
            if len(hits) == 1:
                if all(h.id != hits[0].id for h in bucket):
                    bucket.append(hits[0])
                trace.append(f"{_label(p)} → {sobject} {hits[0].id} by {how}")
            elif len(hits) > 1:
                ids = ", ".join(sorted(h.id for h in hits))
                found.ambiguous.append(f"{_label(p)} ({how}) is on {len(hits)} {sobject}s: {ids}")
                trace.append(f"{_label(p)} is ambiguous: {len(hits)} {sobject}s share it; not used")
        if not contacts and not leads:
            trace.append(f"{_label(p)}: no Contact or Lead by {how}")
    return found


def _what_for_contacts(
    contacts: Sequence[Any], directory: DirectoryView, policy: str, trace: list[str]
) -> tuple[str | None, str | None]:
    opps: list[str] = []
    if policy != "account_only":
        roles = [r for c in contacts for r in directory.contact_roles_for_contact(c.id)]
        opps = sorted({r.opportunity_id for r in roles})
        if len(opps) == 1:
            trace.append(f"Opportunity {opps[0]}: a matched contact holds a contact role on it")
            return opps[0], "Opportunity"
        if len(opps) > 1:
            primary = sorted({r.opportunity_id for r in roles if r.is_primary})
            if len(primary) == 1:
                trace.append(
                    f"Opportunity {primary[0]}: contact roles on {len(opps)} open opportunities;"
                    " chose the one where the role is primary"
                )
                return primary[0], "Opportunity"
            trace.append(
                f"contact roles on {len(opps)} open opportunities and no single primary one:"
                " falling back to the account"
            )
    account_id = next((c.account_id for c in contacts if c.account_id), None)
    if account_id is None:
        trace.append("the matched contacts have no account: no WhatId")
        return None, None
    # Roles that left the choice open are not overruled by the account's "only" opportunity:
    # that would be a guess among the very opportunities the roles could not decide between.
    if policy == "contact_role_then_single_open" and not opps:
        opens = directory.open_opportunities_for_account(account_id)
        if len(opens) == 1:
            trace.append(f"Opportunity {opens[0].id}: the only open opportunity of the account")
            return opens[0].id, "Opportunity"
        if opens:
            trace.append(f"the account has {len(opens)} open opportunities: using the account")
    trace.append(f"Account {account_id}: the contact's account")
    return account_id, "Account"


def _account_by_domain(
    external: Iterable[Participant], directory: DirectoryView, trace: list[str]
) -> str | None:
    for p in external:
        domain = domain_of(p.address)
        if domain is None:
            continue
        if is_personal_domain(domain):
            trace.append(f"{_label(p)}: personal mail domain, not used to find an account")
            continue
        accounts = directory.accounts_by_domain(domain)
        if len(accounts) == 1:
            trace.append(f"Account {accounts[0].id}: its website is on the {_label(p)}'s domain")
            return str(accounts[0].id)
        if len(accounts) > 1:
            ids = ", ".join(sorted(a.id for a in accounts))
            trace.append(
                f"{len(accounts)} accounts share the {_label(p)}'s domain ({ids}): none used"
            )
    return None


def match(
    activity: Activity,
    directory: DirectoryView,
    *,
    internal: InternalParties,
    policy: str = DEFAULT_POLICY,
) -> Match:
    """Decide WhoId, WhatId and the owner for ``activity``; deterministic for equal inputs."""
    if policy not in POLICIES:
        raise ValueError(f"unknown opportunity policy {policy!r}")
    trace: list[str] = []
    owner = directory.user_by_email(activity.mailbox)
    owner_id = owner.id if owner is not None else None
    trace.append(
        f"owner: User {owner_id} (the mailbox's user)"
        if owner_id
        else "owner: the mailbox has no active Salesforce user; the integration user owns it"
    )
    internal = internal.with_addresses([activity.mailbox])
    found = _find_people(activity, directory, internal, trace)
    people = tuple(c.id for c in found.contacts) + tuple(lead.id for lead in found.leads)
    if found.contacts:
        who = found.contacts[0]
        what_id, what_type = _what_for_contacts(found.contacts, directory, policy, trace)
        return Match(owner_id, who.id, "Contact", what_id, what_type, people, tuple(trace))
    if found.leads:
        trace.append("WhoId is a Lead: Salesforce allows no WhatId with it")
        return Match(owner_id, found.leads[0].id, "Lead", None, None, people, tuple(trace))
    account_id = _account_by_domain(found.external, directory, trace)
    if account_id is not None:
        return Match(owner_id, None, None, account_id, "Account", (), tuple(trace))
    if not found.external:
        reason = "no external participant"
    elif found.ambiguous:
        reason = "ambiguous: " + "; ".join(found.ambiguous)
    else:
        reason = f"no Contact, Lead or Account for {len(found.external)} external participant(s)"
    trace.append(f"unmatched: {reason}")
    return Match(owner_id, trace=tuple(trace), unmatched_reason=reason)
