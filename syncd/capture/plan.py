"""Plan, then act: decide what one batch needs before any I/O. Pure.

Given the screened activities of a batch, what the ledger already knows of their keys, and a
match for each, :func:`plan` sorts every activity into exactly one bucket:

- ``writes``: not yet in Salesforce and matched → upsert by key (Task or Event);
- ``seen``: already written (by this or another mailbox) → record the sighting, write nothing;
  for a meeting, invitees matched now that the Event does not relate yet become
  ``relations`` (EventRelation rows);
- ``unmatched``: no Who or What → the unmatched queue, with the reason;
- ``skips``: a cancelled meeting that was never written (nothing to cancel).

A meeting over 14 days is skipped (``event_too_long``): no org accepts it. EventRelations
follow the org's Shared Activities rules (:mod:`.org_rules`): related contacts only, at most
50 with the Who, none beside a lead, none at all without Shared Activities; each is written
``IsParent = true, IsInvitee = false`` (Salesforce would otherwise make it an invitee).

Email under ``email_as = "EmailMessage"`` (:mod:`.email_message`): a new message is one
EmailMessage write whose ToIds/CcIds Salesforce relates itself, its sender a FromAddress
relation written with it; a message already written as an EmailMessage gets an
EmailMessageRelation for each person matched since (a new Contact), once; one already
written as a Task (before ``email_as`` changed) is kept as it is: history is not duplicated.

A key that appears twice in one batch is planned once (its first occurrence). The Event's
own Who needs no EventRelation: that is the Who it was written with (``Known.who_id``) when the
ledger knows it, else the Who matched now. A cancelled meeting that *was* written
is re-written (Subject "Canceled: …", shown as free) so the rep's calendar tells the truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from syncd.capture.email_message import (
    Addressed,
    email_message_fields,
    relation_ids,
    sender_id,
)
from syncd.capture.match import Match
from syncd.capture.org_rules import MAX_CONTACTS_PER_EVENT, OrgRules
from syncd.capture.privacy import Screened
from syncd.capture.records import event_minutes, fields_for, sobject_for, too_long
from syncd.model import Activity, Email, Meeting, Skip, SkipReason

EMAIL_MESSAGE = "EmailMessage"


@dataclass(frozen=True)
class Write:
    """One record to upsert."""

    activity: Activity
    match: Match
    sobject: str
    fields: dict[str, Any]
    #: An EmailMessage's sender (User, Contact or Lead): its FromAddress relation.
    sender_id: str | None = None
    #: Everyone an EmailMessage relates once written (its ToIds, CcIds and sender).
    related: tuple[str, ...] = ()


@dataclass(frozen=True)
class MessageRelation:
    """An EmailMessageRelation to create: a person matched after the message was written."""

    sobject: ClassVar[str] = "EmailMessageRelation"
    key: str
    message_id: str
    relation_id: str
    relation_type: str

    def fields(self) -> dict[str, Any]:
        """The EmailMessageRelation record."""
        return {
            "EmailMessageId": self.message_id,
            "RelationId": self.relation_id,
            "RelationType": self.relation_type,
        }


@dataclass(frozen=True)
class Relation:
    """An EventRelation to create: an invitee matched after (or beside) the Event's Who."""

    sobject: ClassVar[str] = "EventRelation"
    key: str
    event_id: str
    relation_id: str

    def fields(self) -> dict[str, Any]:
        """The EventRelation record: a related person, not an invitee (who gets no invitation).

        With none of IsInvitee/IsParent/IsWhat set Salesforce makes the row an invitee.
        """
        return {
            "EventId": self.event_id,
            "RelationId": self.relation_id,
            "IsParent": True,
            "IsInvitee": False,
        }


@dataclass
class Plan:
    """Everything one batch needs, decided before any write."""

    writes: list[Write] = field(default_factory=list)
    seen: list[Activity] = field(default_factory=list)
    relations: list[Relation | MessageRelation] = field(default_factory=list)
    unmatched: list[tuple[Activity, Match]] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    #: The match every activity was planned with, by key.
    matches: dict[str, Match] = field(default_factory=dict)

    def writes_for(self, sobject: str) -> list[Write]:
        """The writes of one sObject type, in batch order."""
        return [w for w in self.writes if w.sobject == sobject]


@dataclass(frozen=True)
class Known:
    """What the ledger knows of a key: the record and who it already relates."""

    sobject: str
    salesforce_id: str
    related: frozenset[str] = frozenset()
    #: The WhoId the record was written with, when the ledger knows it. That person is on the
    #: Event already, whoever the Who would be if matched today.
    who_id: str | None = None


def plan(
    activities: Sequence[Activity],
    known: Mapping[str, Known],
    matches: Mapping[str, Match],
    org: OrgRules | None = None,
    parties: Mapping[str, tuple[Addressed, ...]] | None = None,
) -> Plan:
    """Sort ``activities`` into writes, sightings, relations, unmatched and skips.

    ``parties`` (by key) are each email's addresses and their records, for EmailMessages.
    """
    org = org or OrgRules()
    parties = parties or {}
    as_message = org.email_as == EMAIL_MESSAGE
    messages = {k: v.salesforce_id for k, v in known.items() if v.sobject == EMAIL_MESSAGE}
    out = Plan(matches=dict(matches))
    planned: set[str] = set()
    for activity in activities:
        if activity.key in planned:
            continue
        planned.add(activity.key)
        found = matches[activity.key]
        existing = known.get(activity.key)
        cancelled = isinstance(activity, Meeting) and activity.cancelled
        if existing is not None and not cancelled:
            out.seen.append(activity)
            if existing.sobject == "Event":
                who = existing.who_id or found.who_id
                people = relatable(found.people, who, existing.related, org)
                out.relations.extend(
                    Relation(activity.key, existing.salesforce_id, p) for p in people
                )
            elif existing.sobject == EMAIL_MESSAGE:
                ids = relation_ids(parties.get(activity.key, ()))
                out.relations.extend(
                    MessageRelation(activity.key, existing.salesforce_id, rid, kind)
                    for rid, kind in ids.items()
                    if rid not in existing.related
                )
            continue
        if cancelled and existing is None:
            out.skips.append(
                Skip(activity.source_id, SkipReason.CANCELLED_UNWRITTEN, "", activity.key)
            )
            continue
        if not found.matched and existing is None:
            out.unmatched.append((activity, found))
            continue
        if too_long(activity):
            assert isinstance(activity, Meeting)
            detail = f"{event_minutes(activity) // 1440} days"
            out.skips.append(
                Skip(activity.source_id, SkipReason.EVENT_TOO_LONG, detail, activity.key)
            )
            continue
        if as_message and isinstance(activity, Email):
            people = parties.get(activity.key, ())
            row = email_message_fields(activity, found, people, messages)
            related = tuple(relation_ids(people))
            write = Write(activity, found, EMAIL_MESSAGE, row, sender_id(people), related)
            out.writes.append(write)
            continue
        sobject = sobject_for(activity)
        out.writes.append(Write(activity, found, sobject, fields_for(activity, found, org)))
    return out


@dataclass(frozen=True)
class Decisions:
    """Every decision about a batch before any write: the privacy screening, then the plan.

    ``plan`` is None when there was no directory to match against (``syncd explain`` offline).
    """

    screened: Screened
    plan: Plan | None = None

    def outcome(self, key: str) -> str | None:
        """What a pass counts for ``key``, or None when undecided (kept, but no plan).

        ``written`` (when Salesforce accepts the write), ``already_written``, ``unmatched`` or
        ``skipped:<reason>``: the names of the pass's outcome counters.
        """
        for skip in self.screened.skips:
            if skip.key == key:
                return f"skipped:{skip.reason}"
        if self.plan is None:
            return None
        if any(w.activity.key == key for w in self.plan.writes):
            return "written"
        if any(a.key == key for a in self.plan.seen):
            return "already_written"
        if any(a.key == key for a, _ in self.plan.unmatched):
            return "unmatched"
        for skip in self.plan.skips:
            if skip.key == key:
                return f"skipped:{skip.reason}"
        return None


def relatable(
    people: Sequence[str],
    who_id: str | None,
    related: frozenset[str] | set[str],
    org: OrgRules,
) -> list[str]:
    """The people to relate to an Event besides its Who, as the org allows.

    Only contacts (ids starting ``003``) are related: an Event relates up to 50 contacts or one
    lead, and its lead (if any) is its Who. None without Shared Activities.
    """
    if not org.shared_activities or (who_id and not who_id.startswith("003")):
        return []
    room = MAX_CONTACTS_PER_EVENT - len({who_id, *related} - {None})
    out: list[str] = []
    for person in people:
        if room <= 0:
            break
        if person.startswith("003") and person != who_id and person not in related:
            out.append(person)
            room -= 1
    return out


def relations_for_new_event(
    write: Write, event_id: str, org: OrgRules | None = None
) -> list[Relation]:
    """EventRelations for a just-written Event: the contacts besides its Who the org allows."""
    people = relatable(write.match.people, write.match.who_id, frozenset(), org or OrgRules())
    return [Relation(write.activity.key, event_id, person) for person in people]
