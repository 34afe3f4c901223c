"""Prometheus metrics: one registry per process (never the library's global one).

Two sources:

- :class:`StoreCollector` reads ``store.status()`` (and ``store.ledger.count_by_kind()``) at scrape
  time, so lag, counts, resyncs, unmatched and dead letters are what the database says, even
  for units another worker synced;
- :class:`Metrics` holds what only this process knows and the daemon updates: Salesforce API
  calls, usage and remaining budget (from the client's ``Sforce-Limit-Info``), passes, errors
  by class, and alert deliveries (the family is registered now; the alerts module feeds it).

Labels are connector names, mailboxes (internal users), outcomes, kinds, skip reasons and error
class names: never subjects, participants or secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from syncd.ports import StateStore

if TYPE_CHECKING:
    from syncd.salesforce.client import SalesforceClient

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StoreCollector(Collector):
    """Per-unit lag and counts, read from the store when Prometheus scrapes."""

    def __init__(self, store: StateStore, clock: Callable[[], datetime] = _utc_now) -> None:
        self.store = store
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families (an unreachable store yields only ``syncd_store_up 0``).

        ``syncd_store_up`` is 1 only when a write commits (the readiness probe): a full disk
        or a read-only file reads as down even though reads still answer.
        """
        up = GaugeMetricFamily(
            "syncd_store_up", "1 when the state store answered this scrape and a write commits"
        )
        try:
            report = self.store.status()
            kinds = self.store.ledger.count_by_kind()
        except Exception:  # the scrape must still answer: say the store is down
            log.warning("metrics: state store unreachable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 0 if self.store.commit_problem() else 1)
        yield up
        yield from self._units(report)
        written = CounterMetricFamily(
            "syncd_activities_written",
            "Activities written to Salesforce (ledger rows), by connector and kind",
            labels=["connector", "kind"],
        )
        for (connector, kind), n in sorted(kinds.items()):
            written.add_metric([connector, kind], n)
        yield written
        unmatched = GaugeMetricFamily("syncd_unmatched_items", "Items in the unmatched queue")
        unmatched.add_metric([], report.unmatched_total)
        yield unmatched
        dead = GaugeMetricFamily("syncd_dead_letters_open", "Dead letters not yet resolved")
        dead.add_metric([], report.dead_letters_open)
        yield dead

    def _units(self, report: Any) -> Iterator[Metric]:
        unit = ["connector", "mailbox"]
        lag = GaugeMetricFamily(
            "syncd_unit_lag_seconds", "Seconds since the unit's last successful pass", labels=unit
        )
        success = GaugeMetricFamily(
            "syncd_unit_last_success_timestamp_seconds",
            "Unix time of the unit's last successful pass",
            labels=unit,
        )
        failing = GaugeMetricFamily(
            "syncd_unit_failing", "1 when the unit's latest pass ended in an error", labels=unit
        )
        outcomes = CounterMetricFamily(
            "syncd_outcomes",
            "Items by outcome (written, already_written, unmatched, dead_letter, skipped:…)",
            labels=[*unit, "outcome"],
        )
        skips = CounterMetricFamily(
            "syncd_skips", "Items skipped, by connector and reason", labels=["connector", "reason"]
        )
        resyncs = CounterMetricFamily(
            "syncd_cursor_resyncs", "Expired cursors answered with a full resync", labels=unit
        )
        now = self.clock()
        skipped: dict[tuple[str, str], int] = {}
        for u in report.units:
            labels = [u.connector, u.mailbox]
            if u.last_success is not None:
                lag.add_metric(labels, max(0.0, (now - u.last_success).total_seconds()))
                success.add_metric(labels, u.last_success.timestamp())
            last = u.last_run
            failing.add_metric(labels, 1 if last is not None and last.status == "error" else 0)
            for outcome, n in sorted(u.counts.items()):
                outcomes.add_metric([*labels, outcome], n)
                if outcome.startswith("skipped:"):
                    key = (u.connector, outcome.removeprefix("skipped:"))
                    skipped[key] = skipped.get(key, 0) + n
            resyncs.add_metric(labels, sum(c.resync_count for c in u.cursors))
        for (connector, reason), n in sorted(skipped.items()):
            skips.add_metric([connector, reason], n)
        yield from (lag, success, failing, outcomes, skips, resyncs)


class Metrics:
    """This process's registry: the store collector plus what the daemon counts itself."""

    def __init__(
        self, store: StateStore | None = None, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        if store is not None:
            self.registry.register(StoreCollector(store, clock))
        r = self.registry
        self.salesforce_calls = Counter(
            "syncd_salesforce_api_calls", "Salesforce REST calls this process made", registry=r
        )
        self.salesforce_used = Gauge(
            "syncd_salesforce_api_usage",
            "Org's rolling 24 h API calls (Sforce-Limit-Info)",
            registry=r,
        )
        self.salesforce_limit = Gauge(
            "syncd_salesforce_api_limit", "Org's rolling 24 h API allocation", registry=r
        )
        self.salesforce_remaining = Gauge(
            "syncd_salesforce_api_remaining",
            "API calls left before syncd stops writing (limit minus the reserve, minus usage)",
            registry=r,
        )
        self.passes = Counter(
            "syncd_passes", "Sync passes run here", ["connector", "result"], registry=r
        )
        self.errors = Counter(
            "syncd_errors",
            "Errors by class (passes and org-wide jobs)",
            ["error_class"],
            registry=r,
        )
        self.alert_deliveries = Counter(
            "syncd_alert_deliveries",
            "Alert deliveries by channel and outcome (fed by the alerts module)",
            ["channel", "outcome"],
            registry=r,
        )
        self.outage = Gauge(
            "syncd_outage",
            "1 while a scope (salesforce, a connector, or connector/mailbox) is stopped: auth, a "
            "mailbox or writes refused",
            ["scope"],
            registry=r,
        )
        self.ops_alerts = Counter(
            "syncd_ops_alerts",
            "Outages begun (one ops alert each), by scope and error class",
            ["scope", "error_class"],
            registry=r,
        )
        self.alert_flags = Counter(
            "syncd_alert_flags",
            "Flags of each rules run by what became of them (sent, merged, suppressed, failed,"
            " queued)",
            ["account"],
            registry=r,
        )
        self.alert_delivery_paused = Gauge(
            "syncd_alert_delivery_paused",
            "1 while Slack refuses the token and alert delivery waits for it (auth.test)",
            registry=r,
        )
        self.directory_loads = Counter(
            "syncd_directory_loads", "Directory loads and refreshes", ["result"], registry=r
        )
        self._calls_seen = 0

    def observe_client(self, client: SalesforceClient) -> None:
        """Fold a SalesforceClient's call count and last reported usage into the metrics."""
        made = client.calls_made
        if made > self._calls_seen:
            self.salesforce_calls.inc(made - self._calls_seen)
        self._calls_seen = max(self._calls_seen, made)
        usage = client.usage
        if usage is not None:
            self.salesforce_used.set(usage.used)
            self.salesforce_limit.set(usage.limit)
            threshold = usage.threshold(client.options.api_reserve)
            self.salesforce_remaining.set(max(0.0, threshold - usage.used))

    def error(self, exc: BaseException) -> None:
        """Count an error by its class name."""
        self.errors.labels(type(exc).__name__).inc()

    def exposition(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

    def flag_accounts(self) -> dict[str, int]:
        """Flags of this process's rules runs by what became of them (for the status page)."""
        accounts = ("sent", "merged", "suppressed", "failed", "queued")
        values = {
            a: self.registry.get_sample_value("syncd_alert_flags_total", {"account": a}) or 0
            for a in accounts
        }
        return {a: int(v) for a, v in values.items()}
