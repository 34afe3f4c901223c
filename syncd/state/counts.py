"""Outcome counters per unit: how many items were written, already written, skipped and why.

Outcomes are ``written``, ``already_written``, ``unmatched``, ``dead_letter`` and
``skipped:<reason>`` (the privacy or planning rule that skipped the item). Increments are
upserts that add to the stored total, so two workers counting the same unit never lose one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select

from syncd.state.schema import OutcomeCountRow
from syncd.state.scope import Scope, insert_for

OUTCOMES = ("written", "already_written", "unmatched", "dead_letter")
_SKIPPED = re.compile(r"skipped:[a-z0-9_.\-]{1,100}")


def check_outcome(outcome: str) -> str:
    """Return ``outcome`` if it is one of the known names, else raise ValueError."""
    if outcome in OUTCOMES or _SKIPPED.fullmatch(outcome):
        return outcome
    raise ValueError(f"unknown outcome {outcome!r}: use one of {OUTCOMES} or 'skipped:<reason>'")


@dataclass(frozen=True)
class UnitCounts:
    """Totals by outcome for one unit."""

    connector: str
    mailbox: str
    counts: dict[str, int]


class Counts:
    """Increment and read outcome counters."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def increment(self, connector: str, mailbox: str, outcomes: Mapping[str, int]) -> None:
        """Add each outcome's amount to the unit's totals (zero amounts are ignored)."""
        amounts = {check_outcome(name): n for name, n in outcomes.items() if n}
        if any(n < 0 for n in amounts.values()):
            raise ValueError("outcome counts only go up")
        if not amounts:
            return
        now = self._scope.now()
        with self._scope.session() as session:
            # Sorted, so concurrent increments lock rows in the same order (no deadlock).
            values = [
                {
                    "connector": connector,
                    "mailbox": mailbox,
                    "outcome": name,
                    "count": amounts[name],
                    "updated_at": now,
                }
                for name in sorted(amounts)
            ]
            stmt = insert_for(session, OutcomeCountRow).values(values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["connector", "mailbox", "outcome"],
                set_={
                    "count": OutcomeCountRow.count + stmt.excluded.count,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
            session.execute(stmt)

    def for_unit(self, connector: str, mailbox: str) -> dict[str, int]:
        """The unit's totals by outcome."""
        with self._scope.session(write=False) as session:
            rows = session.execute(
                select(OutcomeCountRow.outcome, OutcomeCountRow.count).where(
                    OutcomeCountRow.connector == connector, OutcomeCountRow.mailbox == mailbox
                )
            )
            return {outcome: count for outcome, count in rows}

    def all(self) -> list[UnitCounts]:
        """Totals of every unit, ordered by connector and mailbox."""
        by_unit: dict[tuple[str, str], dict[str, int]] = {}
        with self._scope.session(write=False) as session:
            rows = session.execute(
                select(
                    OutcomeCountRow.connector,
                    OutcomeCountRow.mailbox,
                    OutcomeCountRow.outcome,
                    OutcomeCountRow.count,
                )
            )
            for connector, mailbox, outcome, count in rows:
                by_unit.setdefault((connector, mailbox), {})[outcome] = count
        return [UnitCounts(c, m, counts) for (c, m), counts in sorted(by_unit.items())]
