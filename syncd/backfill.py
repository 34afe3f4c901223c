"""``syncd backfill``: a bounded full sync of history from a date, per (connector, mailbox).

Each unit runs the normal capture pass (the same runner, so the same exactly-once order:
write, then commit ledger and cursor together) with two differences:

- the connectors' full-sync window starts at ``--since`` instead of ``capture.backfill_days``
  (``ConnectorContext.since``);
- the cursor lives in its own stream, ``backfill:<DATE>``, so the regular incremental cursor
  is untouched. An interrupted backfill resumes from that stream; when a unit has finished, a
  ``backfill:<DATE>:done`` marker makes running the same backfill again a no-op for it.

The caller gets one :class:`UnitReport` per unit with outcome counts and the Salesforce calls
its writes spent; progress is reported per batch through a callback (the CLI draws it).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from connectors.base import Connector
from syncd.capture.runner import PassResult, Runner
from syncd.errors import ConfigError, Problem
from syncd.model import Batch

if TYPE_CHECKING:
    from syncd.app import App

log = logging.getLogger(__name__)

#: Value of the marker stream written once a unit's backfill has run to the end.
DONE = "done"


def parse_since(text: str, today: date) -> date:
    """``--since`` as a date: ISO ``YYYY-MM-DD``, not after ``today``; ConfigError otherwise."""
    try:
        since = date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            [Problem("--since", f"{text!r} is not an ISO date (YYYY-MM-DD)")]
        ) from None
    if since > today:
        raise ConfigError(
            [Problem("--since", f"{since.isoformat()} is in the future (today is {today})")]
        )
    return since


def stream_for(since: date) -> str:
    """The cursor stream of a backfill from ``since``."""
    return f"backfill:{since.isoformat()}"


@dataclass
class UnitReport:
    """What the backfill of one (connector, mailbox) did."""

    connector: str
    mailbox: str
    outcomes: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    items: int = 0
    salesforce_calls: int = 0
    #: "complete", "already complete", "interrupted" (batch cap reached) or "incomplete".
    state: str = "complete"

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "connector": self.connector,
            "mailbox": self.mailbox,
            "outcomes": dict(self.outcomes),
            "batches": self.batches,
            "items": self.items,
            "salesforce_calls": self.salesforce_calls,
            "state": self.state,
        }


#: Called after each batch with the unit's report so far (for a progress display).
Progress = Callable[[UnitReport], None]


class Backfill:
    """Runs the backfill from ``since`` over the units an :class:`~syncd.app.App` knows."""

    def __init__(
        self,
        app: App,
        since: date,
        *,
        max_batches: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.app = app
        self.since = since
        self.stream = stream_for(since)
        self.max_batches = max_batches
        self.progress = progress

    def connectors(self, only: str | None = None) -> list[Connector]:
        """The configured connectors, each with its window starting at ``since``."""
        return self.app.connectors(only, since=datetime.combine(self.since, time(0), tzinfo=UTC))

    def units(
        self, only_connector: str | None = None, only_mailbox: str | None = None
    ) -> list[tuple[Connector, str]]:
        """(connector, mailbox) pairs to backfill."""
        return [
            (connector, mailbox)
            for connector in self.connectors(only_connector)
            for mailbox in self.app.mailboxes(connector)
            if only_mailbox is None or mailbox == only_mailbox
        ]

    def run_unit(self, connector: Connector, mailbox: str) -> UnitReport:
        """Backfill one unit until its history is in, the batch cap is reached, or it fails."""
        report = UnitReport(connector.name, mailbox)
        cursors = self.app.store.cursors
        if cursors.get(connector.name, mailbox, self._done_stream) == DONE:
            report.state = "already complete"
            return report
        last: list[Batch] = []

        def on_batch(result: PassResult, batch: Batch) -> None:
            last[:] = [batch]
            report.batches = result.batches
            report.items += len(batch)
            report.salesforce_calls = result.salesforce_calls
            report.outcomes = Counter(result.outcomes)
            if self.progress is not None:
                self.progress(report)

        app = self.app
        runner = Runner(
            app.store,
            app.writer,
            app.directory,
            app.rules,
            policy=app.config.capture.opportunity_policy,
            max_batches=self.max_batches,
            on_batch=on_batch,
            org=app.org_rules,
        )
        result = runner.run(connector, mailbox, stream=self.stream)
        report.outcomes = Counter(result.outcomes)
        report.batches = result.batches
        report.salesforce_calls = result.salesforce_calls
        if not result.complete:
            report.state = "incomplete"
        elif last and last[0].more:
            report.state = "interrupted"
        else:
            cursors.set(connector.name, mailbox, DONE, self._done_stream)
        log.info(
            "backfill of a unit ended",
            extra={
                "connector": connector.name,
                "state": report.state,
                "batches": report.batches,
                "salesforce_calls": report.salesforce_calls,
            },
        )
        return report

    @property
    def _done_stream(self) -> str:
        return f"{self.stream}:{DONE}"
