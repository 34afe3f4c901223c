"""One sync pass for one (connector, mailbox): pull → screen → key → match → plan → write → commit.

The order is the exactly-once guarantee. Records are upserted into Salesforce by key *before*
the ledger rows and the advanced cursor are committed, in one database transaction. A crash
between the two re-pulls the batch next time; the upserts by key make the replay harmless and
the ledger then records what is already there. Nothing is marked done that is not in
Salesforce.

Per batch:

- a permanent per-record error dead-letters that record (with Salesforce's error) and the
  batch goes on;
- records still failing transiently after the retries leave the cursor where it was: the pass
  ends and the next one pulls the batch again;
- an expired cursor is counted (``resync_count``) and answered with a bounded full sync.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from syncd.capture.addresses import InternalParties
from syncd.capture.email_message import addressed, parent_key
from syncd.capture.match import DEFAULT_POLICY, Match, match
from syncd.capture.org_rules import OrgRules, rep_zones
from syncd.capture.plan import (
    EMAIL_MESSAGE,
    Decisions,
    Known,
    MessageRelation,
    Plan,
    Relation,
    Write,
    plan,
    relations_for_new_event,
)
from syncd.capture.privacy import PrivacyRules, screen
from syncd.errors import CursorExpired
from syncd.model import Activity, Batch, Email, activity_from_dict
from syncd.ports import DirectoryView, Writer
from syncd.state import LedgerEntry, Store, Transaction
from syncd.state.cursors import DEFAULT_STREAM

if TYPE_CHECKING:
    from connectors.base import Connector

log = logging.getLogger(__name__)

#: A relation the org already has.
DUPLICATE = "DUPLICATE_VALUE"

#: What one batch's writes produced: ledger entries, permanent failures, deferred records,
#: Salesforce calls spent, and EventRelations created per activity key.
_Written = tuple[list[LedgerEntry], list[tuple[Write, Any]], list[Any], int, dict[str, set[str]]]


@dataclass
class PassResult:
    """What one pass did, by outcome, and what it cost in Salesforce calls."""

    connector: str
    mailbox: str
    outcomes: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    salesforce_calls: int = 0
    resynced: bool = False
    complete: bool = True
    #: Vendor quota units spent, for connectors that meter them (None elsewhere).
    quota_units: int | None = None

    def merge(self, outcomes: Mapping[str, int]) -> None:
        """Add a batch's outcome counts."""
        self.outcomes.update(outcomes)


class Runner:
    """Runs passes; holds what every pass shares (store, writer, directory, rules)."""

    def __init__(
        self,
        store: Store,
        writer: Writer,
        directory: DirectoryView,
        rules: PrivacyRules,
        *,
        policy: str = DEFAULT_POLICY,
        max_batches: int | None = None,
        on_batch: Callable[[PassResult, Batch], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        org: OrgRules | None = None,
    ) -> None:
        self.store = store
        self.writer = writer
        self.directory = directory
        self.rules = rules
        self.policy = policy
        self.max_batches = max_batches
        self.on_batch = on_batch
        #: Asked after each committed batch; True ends the pass there (the daemon's drain).
        self.should_stop = should_stop
        #: What the org decides about records (the rep's day, Event rules); by default each
        #: rep's own zone from the directory and no multi-day events.
        self.org = org or OrgRules(zone_of=rep_zones(directory))

    # -- the pass ------------------------------------------------------------------------

    def run(
        self, connector: Connector, mailbox: str, *, stream: str = DEFAULT_STREAM
    ) -> PassResult:
        """Pull and write until the connector has nothing more, or a batch cannot finish.

        ``stream`` names the cursor to read and advance: the regular incremental one by
        default; ``syncd backfill`` uses its own so the regular cursor is left alone.
        """
        result = PassResult(connector.name, mailbox)
        run_id = self.store.runs.start(connector.name, mailbox)
        quota_before = _quota(connector, mailbox)
        error: BaseException | None = None
        try:
            self._loop(connector, mailbox, result, stream)
        except Exception as exc:
            error = exc
            self.store.cursors.record_error(
                connector.name, mailbox, f"{type(exc).__name__}", stream
            )
            raise
        finally:
            run_counts = dict(result.outcomes)
            if quota_before is not None:
                # Vendor quota units this pass spent (Gmail), shown by ``syncd status``.
                result.quota_units = (_quota(connector, mailbox) or 0) - quota_before
                run_counts["quota_units"] = result.quota_units
            self.store.runs.finish(run_id, run_counts, error)
            log.info(
                "pass finished",
                extra={
                    "connector": connector.name,
                    "batches": result.batches,
                    "outcomes": dict(result.outcomes),
                    "salesforce_calls": result.salesforce_calls,
                },
            )
        return result

    def _loop(self, connector: Connector, mailbox: str, result: PassResult, stream: str) -> None:
        cursor = self.store.cursors.get(connector.name, mailbox, stream)
        while self.max_batches is None or result.batches < self.max_batches:
            try:
                batch = connector.pull(mailbox, cursor)
            except CursorExpired:
                count = self.store.cursors.mark_resync(connector.name, mailbox, None, stream)
                log.warning(
                    "cursor expired: full resync of the backfill window",
                    extra={"connector": connector.name, "resyncs": count},
                )
                result.resynced = True
                cursor = None
                batch = connector.pull(mailbox, None)
            result.batches += 1
            finished = self.process(connector.name, mailbox, batch, result, stream=stream)
            if self.on_batch is not None:
                self.on_batch(result, batch)
            if not finished:
                result.complete = False
                return
            if batch.next_cursor is not None:
                cursor = batch.next_cursor
            if not batch.more:
                return
            if self.should_stop is not None and self.should_stop():
                result.complete = False  # the rest is pulled next pass, from the new cursor
                return

    def process(
        self,
        connector: str,
        mailbox: str,
        batch: Batch,
        result: PassResult,
        *,
        stream: str = DEFAULT_STREAM,
    ) -> bool:
        """Write one batch and commit it with its cursor; False when the cursor must stay."""
        outcomes: Counter[str] = Counter()
        for skip in batch.skips:
            outcomes[f"skipped:{skip.reason}"] += 1
        decided = self.decide(mailbox, batch.activities)
        for reason, n in decided.screened.counts.items():
            outcomes[f"skipped:{reason}"] += n
        the_plan = decided.plan
        assert the_plan is not None, "a runner that writes has a directory"
        for skip in the_plan.skips:
            outcomes[f"skipped:{skip.reason}"] += 1

        written = self._write(connector, mailbox, the_plan)
        entries, failed, deferred, calls, related = written
        result.salesforce_calls += calls
        outcomes["written"] += len(entries)
        outcomes["already_written"] += len(the_plan.seen)
        outcomes["unmatched"] += len(the_plan.unmatched)
        outcomes["dead_letter"] += len(failed) + len(batch.rejects)
        outcomes = +outcomes  # drop zero counts

        with self.store.transaction() as tx:
            tx.ledger.record(entries)
            for entry in entries:
                tx.ledger.relate(entry.key, related.get(entry.key, ()))
            tx.ledger.see(connector, mailbox, [a.key for a in the_plan.seen])
            for key in {a.key for a in the_plan.seen} & related.keys():
                tx.ledger.relate(key, related[key])
            for activity, found in the_plan.unmatched:
                tx.unmatched.add(
                    connector,
                    mailbox,
                    activity.key,
                    activity.to_dict(),
                    found.unmatched_reason or "",
                )
            self._dead_letter(tx, connector, mailbox, failed)
            for reject in batch.rejects:  # bad source records (a call file's rows), file:line
                tx.dead_letters.add(
                    connector,
                    mailbox,
                    reject.payload,
                    reject.code,
                    reject.message,
                    key=reject.key,
                    source_file=reject.source_file,
                    source_line=reject.source_line,
                )
            tx.counts.increment(connector, mailbox, outcomes)
            if not deferred and batch.next_cursor is not None:
                tx.cursors.set(connector, mailbox, batch.next_cursor, stream)
        result.merge(outcomes)
        return not deferred

    # -- second chances ------------------------------------------------------------------

    def rematch(
        self, items: Iterable[Any], *, window_start: datetime | None = None
    ) -> Counter[str]:
        """Match queued items again (after a directory refresh) and write those that match.

        Only items that match now are written (and leave the queue); the others stay, with the
        attempt counted, and their outcome counters are not touched again. Items older than
        ``window_start`` (the backfill window) leave the queue as ``expired``.
        """
        total: Counter[str] = Counter()
        for (connector, mailbox), group in _by_unit(items).items():
            activities = [activity_from_dict(i.payload) for i in group]
            if window_start is not None:
                old = [a.key for a in activities if a.occurred_at < window_start]
                self.store.unmatched.remove(old)
                total["expired"] += len(old)
                activities = [a for a in activities if a.occurred_at >= window_start]
            planned = self.plan(mailbox, activities)
            # Written now, or already written meanwhile from another mailbox: either way done.
            matched = {w.activity.key for w in planned.writes} | {a.key for a in planned.seen}
            still = [a.key for a in activities if a.key not in matched]
            self.store.unmatched.mark_tried(still)
            total["still_unmatched"] += len(still)
            if matched:
                result = PassResult(connector, mailbox)
                batch = Batch(activities=tuple(a for a in activities if a.key in matched))
                self.process(connector, mailbox, batch, result)
                total.update(result.outcomes)
                done = self.store.ledger.lookup(matched)
                self.store.unmatched.remove(done.keys())
        return +total

    def retry_dead_letters(self, letters: Iterable[Any]) -> Counter[str]:
        """Write dead-lettered activities again; those that land are resolved."""
        total: Counter[str] = Counter()
        letters = [d for d in letters if isinstance(d.payload, dict) and "activity" in d.payload]
        for (connector, mailbox), group in _by_unit(letters).items():
            activities = tuple(activity_from_dict(d.payload["activity"]) for d in group)
            result = PassResult(connector, mailbox)
            self.process(connector, mailbox, Batch(activities=activities), result)
            total.update(result.outcomes)
            done = self.store.ledger.lookup([a.key for a in activities])
            self.store.dead_letters.mark_resolved(d.id for d in group if d.key in done)
        return total

    # -- helpers -------------------------------------------------------------------------

    def decide(self, mailbox: str, activities: Iterable[Activity]) -> Decisions:
        """Screen by the privacy rules, then :meth:`plan` what is kept: every decision of a batch.

        :meth:`process` acts on it and ``syncd explain`` prints it, so both run the same steps
        in the same order. Without a directory (explain offline) it stops after screening.
        """
        screened = screen(activities, self.rules)
        if self.directory is None:
            return Decisions(screened)
        return Decisions(screened, self.plan(mailbox, screened.kept))

    def plan(self, mailbox: str, activities: Iterable[Activity]) -> Plan:
        """Look up the ledger and match, then plan."""
        activities = list(activities)
        as_message = self.org.email_as == EMAIL_MESSAGE
        emails = [a for a in activities if isinstance(a, Email)] if as_message else []
        # The messages replied to, in the same ledger look-up: a reply links to its parent.
        parents = {k for a in emails if (k := parent_key(a))}
        ledger = self.store.ledger.lookup([a.key for a in activities] + sorted(parents))
        known = {
            key: Known(
                e.sobject,
                e.salesforce_id,
                frozenset(_related(e.match_trace)),
                who_id=e.match_trace.get("who_id") if isinstance(e.match_trace, dict) else None,
            )
            for key, e in ledger.items()
        }
        internal = InternalParties(self.rules.internal_domains, self.rules.internal_addresses)
        matches: dict[str, Match] = {
            a.key: match(a, self.directory, internal=internal, policy=self.policy)
            for a in activities
        }
        parties = {a.key: addressed(a, self.directory) for a in emails}
        return plan(activities, known, matches, self.org, parties)

    def _write(self, connector: str, mailbox: str, the_plan: Plan) -> _Written:
        entries: list[LedgerEntry] = []
        failed: list[tuple[Write, Any]] = []
        deferred: list[Any] = []
        calls = 0
        relations: list[Relation | MessageRelation] = list(the_plan.relations)
        related: dict[str, set[str]] = {}
        for sobject in ("Task", "Event", EMAIL_MESSAGE):
            writes = the_plan.writes_for(sobject)
            if not writes:
                continue
            if sobject == EMAIL_MESSAGE:
                outcome = self.writer.create_messages(
                    [w.fields for w in writes], [w.sender_id for w in writes]
                )
            else:
                outcome = self.writer.upsert(sobject, [w.fields for w in writes])
            calls += outcome.calls
            by_key = {w.activity.key: w for w in writes}
            for failure in outcome.failed:
                failed.append((by_key[failure.key], failure))
            deferred.extend(outcome.deferred)
            for key, (sf_id, _created) in outcome.written.items():
                write = by_key[key]
                new_relations = (
                    relations_for_new_event(write, sf_id, self.org) if sobject == "Event" else []
                )
                relations.extend(new_relations)
                if write.related:
                    # Salesforce related them with the message (ToIds, CcIds, the sender).
                    related.setdefault(key, set()).update(write.related)
                entries.append(
                    LedgerEntry(
                        key=key,
                        sobject=sobject,
                        salesforce_id=sf_id,
                        connector=connector,
                        mailbox=mailbox,
                        kind=str(write.activity.kind),
                        occurred_at=write.activity.occurred_at,
                        what_id=write.match.what_id,
                        match_trace=write.match.as_dict(),
                    )
                )
        for kind in ("EventRelation", "EmailMessageRelation"):
            rows = [r for r in relations if r.sobject == kind]
            if not rows:
                continue
            outcome = self.writer.create(kind, [r.fields() for r in rows])
            calls += outcome.calls
            # create() keys rows by position; a relation that failed is tried again on the
            # next sighting of the item, so it is never lost. DUPLICATE_VALUE says the org
            # relates that person already (a ledger that lost it): related, not retried.
            done = [*outcome.written, *(f.key for f in outcome.failed if f.code == DUPLICATE)]
            for position in done:
                rel = rows[int(position)]
                related.setdefault(rel.key, set()).add(rel.relation_id)
        return entries, failed, deferred, calls, related

    @staticmethod
    def _dead_letter(
        tx: Transaction, connector: str, mailbox: str, failed: list[tuple[Write, Any]]
    ) -> None:
        for write, failure in failed:
            tx.dead_letters.add(
                connector,
                mailbox,
                {"activity": write.activity.to_dict(), "sobject": write.sobject},
                failure.code,
                failure.message,
                key=write.activity.key,
            )


def _related(trace: Any) -> list[str]:
    if isinstance(trace, dict):
        return [str(x) for x in trace.get("related", []) if x]
    return []


def _by_unit(items: Iterable[Any]) -> dict[tuple[str, str], list[Any]]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for item in items:
        groups.setdefault((item.connector, item.mailbox), []).append(item)
    return groups


def _quota(connector: Connector, mailbox: str) -> int | None:
    """Quota units the connector has spent on ``mailbox`` so far, if it meters them."""
    meter = getattr(connector, "quota_used", None)
    return int(meter(mailbox)) if callable(meter) else None
