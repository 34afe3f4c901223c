"""Plan, then act: decide what one batch needs before any I/O. Pure.

Given the screened activities of a batch, what the ledger already knows of their keys, and a
match for each, :func:`plan` sorts every activity into exactly one bucket:

- ``writes``: not yet in Salesforce and matched → upsert by key (Task or Event);
- ``seen``: already written (by this or another mailbox) → record the sighting, write nothing;
  for a meeting, invitees matched now that the Event does not relate yet become
  ``relations`` (EventRelation rows);
- ``unmatched``: no Who or What → the unmatched queue, with the reason;
- ``skips``: a cancelled meeting that was never written (nothing to cancel).

A key that appears twice in one batch is planned once (its first occurrence). The Event's
own Who needs no EventRelation: that is the Who it was written with (``Known.who_id``) when the
ledger knows it, else the Who matched now. A cancelled meeting that *was* written
is re-written (Subject "Canceled: …", shown as free) so the rep's calendar tells the truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncd.capture.match import Match
from syncd.capture.privacy import Screened
from syncd.capture.records import fields_for, sobject_for
from syncd.model import Activity, Meeting, Skip, SkipReason


@dataclass(frozen=True)
class Write:
    """One record to upsert."""

    activity: Activity
    match: Match
    sobject: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Relation:
    """An EventRelation to create: an invitee matched after (or beside) the Event's Who."""

    key: str
    event_id: str
    relation_id: str


@dataclass
class Plan:
    """Everything one batch needs, decided before any write."""

    writes: list[Write] = field(default_factory=list)
    seen: list[Activity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
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
) -> Plan:
    """Sort ``activities`` into writes, sightings, relations, unmatched and skips."""
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
                out.relations.extend(
                    Relation(activity.key, existing.salesforce_id, person)
                    for person in found.people
                    if person not in existing.related and person != who
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
        sobject = sobject_for(activity)
        out.writes.append(Write(activity, found, sobject, fields_for(activity, found)))
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


def relations_for_new_event(write: Write, event_id: str) -> list[Relation]:
    """EventRelations for a just-written Event: every matched person besides its Who."""
    return [
        Relation(write.activity.key, event_id, person)
        for person in write.match.people
        if person != write.match.who_id
    ]
