"""``syncd run``: the daemon. APScheduler jobs, leases, the HTTP endpoints, a graceful drain.

Jobs (APScheduler 3 ``BackgroundScheduler``):

- ``capture:<connector>`` per enabled connector, every ``interval`` with jitter (a tenth of the
  interval, at most a minute, so many workers do not stampede together), ``max_instances=1``
  (never two runs of the same job at once), ``coalesce=True`` (missed runs collapse into one)
  and no misfire limit (see below). A run works through the connector's mailboxes, leasing
  each unit first (:mod:`syncd.service.workers`).
- ``directory``: refresh this process's in-memory directory (every process keeps its own
  cache), then re-match the unmatched queue, which writes, on the advisory-lock holder only.
- ``rules``: on ``rules.schedule`` (cron): evaluate the deal rules, update flags, queue alerts.
- with ``[alerts.slack]``: ``digest`` (the reps' daily digests) and ``manager-digest`` (the
  weekly one) on their crons, and ``alerts`` every five minutes (what Slack refused for a
  while, retried when due).

- ``history`` every six hours: run history older than :data:`RUN_HISTORY` is pruned (each
  unit's latest run, success and error stay).

Rules, digests, alert delivery, re-matching and pruning run on the advisory-lock holder only;
crons are read in ``service.timezone`` (default: the host's zone). Every job has
``max_instances=1`` and ``coalesce=True``.

All jobs but alert delivery run on ONE executor thread: the Salesforce client and the
directory are shared and used by one thread at a time. Delivery (``alerts``, woken at once when
a rules or digest job queued messages) has its own thread and touches only the store and
Slack, so Slack's pace never delays capture. A job that comes due while another holds the
thread waits in the executor's queue; the interval jobs (capture, directory, alerts) have no
misfire grace, so that waiting firing runs when the thread frees, however late. With a grace
of one interval it was dropped as missed once the round ahead of it outlasted the interval,
and while it sat in the queue max_instances refused the job's next firings: a connector behind
rounds longer than its interval (a first backfill, a large org) never ran, nor did the
directory refresh.
More throughput comes from more processes (PostgreSQL leases), not more threads.

A config the org refuses at the first directory load (``salesforce.email_as = "EmailMessage"``
on an org without Enhanced Email) stops ``start`` with the ConfigError: ``syncd run`` exits 2.

A drain (SIGTERM/SIGINT) stops new units from starting, lets the pass in flight commit its
batch, shuts the scheduler down waiting for that job, releases the leases, stops the web server
and returns 0.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from syncd.config.durations import cron_trigger
from syncd.errors import ConfigError, StoreUnusable
from syncd.rules.run import deliver_due, scheduled_digests, scheduled_rules
from syncd.service.drain import Drain
from syncd.service.metrics import Metrics
from syncd.service.outage_notes import from_tracker
from syncd.service.outages import SALESFORCE, Outages, scope_of, stops
from syncd.service.web import Readiness, WebApp, WebhookApp, WebServer
from syncd.service.workers import Heartbeat, Worker, WorkReport

if TYPE_CHECKING:
    from connectors.base import Connector
    from syncd.app import App

log = logging.getLogger(__name__)

DIRECTORY_EVERY = timedelta(minutes=15)
#: How often alerts that are due (Slack refused them for a while) are sent again.
ALERTS_EVERY = timedelta(minutes=5)
#: How long run history is kept (status and metrics read only each unit's latest runs).
RUN_HISTORY = timedelta(days=30)
HISTORY_EVERY = timedelta(hours=6)
MAX_JITTER_SECONDS = 60
#: Round reports kept (the newest): a round over 1,000 mailboxes every 30 s holds ~80 kB of
#: unit keys, so keeping every round since the start grew the daemon by ~230 MB a day.
REPORTS_KEPT = 100


def jitter_for(interval: timedelta) -> int:
    """Seconds of jitter for a job every ``interval``: a tenth, at most a minute."""
    return int(min(interval.total_seconds() / 10, MAX_JITTER_SECONDS))


def webhook_receivers(connectors: Mapping[str, Connector]) -> dict[str, Any]:
    """``/webhooks/<name>`` receivers of the connectors that take webhooks (configured)."""
    receivers = {}
    for name, connector in connectors.items():
        if (receiver := connector.webhook_receiver()) is not None:
            receivers[name] = receiver
    return receivers


class Service:
    """One daemon process: scheduler, worker, endpoints, drain."""

    def __init__(
        self,
        app: App,
        *,
        worker: Worker | None = None,
        drain: Drain | None = None,
        directory_every: timedelta = DIRECTORY_EVERY,
        listen: str | None = None,
    ) -> None:
        self.app = app
        self.drain = drain or Drain()
        self.worker = worker or Worker(app.store)
        self.metrics = Metrics(app.store, clock=app.clock)
        #: Auth refused, writes refused, budget spent: logged and alerted once per outage.
        self.outages = Outages(self.metrics)
        self.readiness = Readiness()
        self.directory_every = directory_every
        self.listen = listen if listen is not None else app.config.service.listen
        self.connectors = {c.name: c for c in app.connectors()}
        intervals = {s.name: s.interval for s in app.config.connectors if s.enabled}
        service = app.config.service
        webhooks = webhook_receivers(self.connectors) | self._slack_actions()
        #: A second address serving only /webhooks/… (vendors reach it, not the status page).
        self.webhook_listen = service.webhook_listen
        self.web_app = WebApp(
            app.store,
            self.metrics,
            self.readiness,
            worker_id=self.worker.id,
            intervals=intervals,
            webhooks={} if self.webhook_listen else webhooks,
            token=service.token.resolve() if service.token is not None else None,
            outages=lambda: from_tracker(self.outages.stopped()),
        )
        self.webhook_app = WebhookApp(webhooks) if self.webhook_listen else None
        self.scheduler: BackgroundScheduler | None = None
        self.web: WebServer | None = None
        self.webhook_web: WebServer | None = None
        self._heartbeat: Heartbeat | None = None
        #: Why the daemon stopped itself (the store was replaced or deleted), or None.
        self.fatal: str | None = None
        # A pass, a lease renewal or a readiness probe may be the first to find it gone.
        app.store.identity.on_lost = self._store_lost
        #: The latest rounds' reports (at most :data:`REPORTS_KEPT`), newest last.
        self.reports: deque[WorkReport] = deque(maxlen=REPORTS_KEPT)

    def _store_lost(self, exc: Exception) -> None:
        """The store was deleted or replaced: stop the daemon rather than write on (exit 1)."""
        if self.fatal is not None:
            return
        # Writing on would start over on an empty ledger: every unit stops here.
        self.fatal = str(exc)
        log.error("stopping: %s", exc)
        self.drain.request("the state store is unusable")

    def _slack_actions(self) -> dict[str, Any]:
        """``/webhooks/slack``: the deal messages' buttons, when a signing secret is set."""
        from syncd.alerts.interactivity import receiver

        self.slack_actions = receiver(self.app)
        return {"slack": self.slack_actions} if self.slack_actions is not None else {}

    # -- jobs ------------------------------------------------------------------------------

    def load_directory(self) -> bool:
        """Load (first time) or refresh the directory; readiness follows the outcome."""
        app = self.app
        try:
            if "directory" in vars(app):
                changes = app.directory.refresh(app.salesforce)
                if changes:
                    # New or changed users change who is internal: rebuild the privacy rules,
                    # and let each connector read the users again on its next pull.
                    vars(app).pop("rules", None)
                    app.runner.rules = app.rules
                    for connector in self.connectors.values():
                        connector.context.users_changed()
            else:
                _ = app.runner  # loads the directory and builds the runner on it
        except ConfigError:  # the org refuses the config (email_as): no retry can fix it
            raise
        except Exception as exc:  # readiness reports it; the next run tries again
            if stops(exc):  # credentials refused: one line with the fix, not a trace each time
                self.outages.failed(SALESFORCE, exc)
            else:
                log.warning("directory load failed: %s", type(exc).__name__, exc_info=True)
            self.readiness.directory_failed(type(exc).__name__)
            self.metrics.error(exc)
            self.metrics.directory_loads.labels("error").inc()
            return False
        finally:
            self._observe_client()
        self.readiness.directory_loaded()
        self.metrics.directory_loads.labels("ok").inc()
        return True

    def directory_job(self) -> None:
        """Refresh the directory here; re-match the unmatched queue on the lock holder."""
        if self.drain.is_set() or not self.load_directory():
            return
        self.org_job("rematch", self.app.rematch)

    def org_job(self, name: str, fn: Callable[[], object]) -> bool:
        """Run an org-wide job on the advisory-lock holder; errors counted, never raised."""
        if self.drain.is_set():
            return False
        try:
            return self.worker.org_job(name, fn)
        except Exception as exc:  # the next firing tries again; the error is on /metrics
            log.exception("org-wide job failed", extra={"job": name})
            self.metrics.error(exc)
            return False
        finally:
            self._observe_client()

    def _delivered(self, counts: Mapping[str, int]) -> None:
        for outcome in ("sent", "requeued", "failed", "paused", "held"):
            if counts.get(outcome):
                self.metrics.alert_deliveries.labels("slack", outcome).inc(counts[outcome])

    def rules_job(self) -> None:
        """Evaluate the deal rules, update flags, queue the owners' alerts; wake delivery."""

        def run() -> None:
            summary = scheduled_rules(self.app)
            for account, n in summary["alerts"].items():
                if account != "suppressed_by" and n:
                    self.metrics.alert_flags.labels(account).inc(n)

        self.org_job("rules", run)
        self.wake_delivery()

    def digest_job(self, *, weekly: bool) -> None:
        """Queue the reps' daily digests, or the managers' weekly digest; wake delivery."""
        self.org_job(
            "manager-digest" if weekly else "digest",
            lambda: scheduled_digests(self.app, weekly=weekly),
        )
        self.wake_delivery()

    def wake_delivery(self) -> None:
        """Deliver what is due now: on the delivery thread when the scheduler runs."""
        job = self.scheduler.get_job("alerts") if self.scheduler is not None else None
        if job is None:
            self.alerts_job()  # no scheduler (a direct call): deliver here
            return
        job.modify(next_run_time=datetime.now(UTC))

    def alerts_job(self) -> None:
        """Send alerts and digests that are due (ones Slack refused earlier included)."""

        def deliver() -> None:
            self._delivered(deliver_due(self.app, should_stop=self.drain.is_set))
            delivery = self.app.slack_delivery
            paused = delivery is not None and delivery.paused is not None
            self.metrics.alert_delivery_paused.set(1 if paused else 0)

        self.org_job("alerts", deliver)

    def history_job(self) -> None:
        """Prune run history older than :data:`RUN_HISTORY`."""

        def prune() -> None:
            deleted = self.app.store.runs.prune(self.app.clock() - RUN_HISTORY)
            log.info("run history pruned", extra={"deleted": deleted})

        self.org_job("history", prune)

    def capture_job(self, name: str) -> WorkReport:
        """One round over connector ``name``'s mailboxes, unit by leased unit."""
        report = WorkReport()
        if self.drain.is_set():
            return report
        if self.outages.active(SALESFORCE) and not self.outages.due(SALESFORCE):
            log.debug("capture paused: salesforce is stopped", extra={"connector": name})
            return report
        if not self.readiness.directory_ok and not self.load_directory():
            level = logging.DEBUG if self.outages.active(SALESFORCE) else logging.WARNING
            log.log(level, "capture skipped: no directory yet", extra={"connector": name})
            return report
        connector = self.connectors[name]
        started = self.app.clock()
        try:
            mailboxes = self.app.mailboxes(connector)
        except Exception as exc:
            log.exception("listing mailboxes failed", extra={"connector": name})
            self.metrics.error(exc)
            return report
        if self.outages.active(name) and not self.outages.due(name):
            log.debug(
                "capture paused: the connector's credentials are refused", extra={"connector": name}
            )
            return report
        # A mailbox refused on its own waits for its own retry; the others go on.
        mailboxes = [m for m in mailboxes if self.outages.due(f"{name}/{m}")]
        try:
            tried: list[str] = []

            def work(connector: str, mailbox: str, should_stop: Callable[[], bool]) -> None:
                tried.append(mailbox)
                self._pass(connector, mailbox, should_stop)

            def stop() -> bool:
                # While Salesforce or this connector is stopped a round tries one unit (to see
                # it recover), not all.
                stopped = self.outages.active(SALESFORCE) or self.outages.active(name)
                return self.drain.is_set() or (bool(tried) and stopped)

            report = self.worker.work(
                [(name, m) for m in mailboxes],
                work,
                should_stop=stop,
                round_started=started,
                quiet=stops,
            )
        except SQLAlchemyError as exc:  # the store is unreachable: the next firing retries
            log.warning(
                "capture round failed: %s",
                type(exc).__name__,
                extra={"connector": name, "error_class": type(exc).__name__},
            )
            self.metrics.error(exc)
            return report
        self.reports.append(report)
        log.info(
            "capture round",
            extra={
                "connector": name,
                "done": len(report.done),
                "failed": len(report.failed),
                "lost": len(report.lost),
                "fresh": len(report.fresh),
            },
        )
        return report

    def _pass(self, connector: str, mailbox: str, should_stop: Callable[[], bool]) -> None:
        runner = self.app.runner
        runner.should_stop = should_stop
        try:
            result = runner.run(self.connectors[connector], mailbox)
        except Exception as exc:
            self.metrics.error(exc)
            self.metrics.passes.labels(connector, "error").inc()
            if stops(exc):
                self.outages.failed(scope_of(exc, f"{connector}/{mailbox}"), exc)
            if isinstance(exc, StoreUnusable):
                self._store_lost(exc)
            raise
        finally:
            runner.should_stop = None
            self._observe_client()
        self.metrics.passes.labels(connector, "ok" if result.complete else "incomplete").inc()
        self.outages.recovered(SALESFORCE)
        self.outages.recovered(connector)
        self.outages.recovered(f"{connector}/{mailbox}")

    def _observe_client(self) -> None:
        client = vars(self.app).get("salesforce")
        if client is not None:
            self.metrics.observe_client(client)

    # -- lifecycle -------------------------------------------------------------------------

    def build_scheduler(self, *, first_run: datetime | None = None) -> BackgroundScheduler:
        """The scheduler with every job; capture jobs first run at ``first_run`` (default now)."""
        scheduler = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(max_workers=1),
                # Slack's pace (about a message a second per channel, Retry-After) is never
                # the capture thread's: 500 alerts delay no capture pass.
                "delivery": ThreadPoolExecutor(max_workers=1),
            },
            timezone=UTC,
        )
        first = first_run or datetime.now(UTC)
        for settings in self.app.config.connectors:
            if not settings.enabled:
                continue
            seconds = max(settings.interval.total_seconds(), 1.0)
            scheduler.add_job(
                self.capture_job,
                IntervalTrigger(seconds=seconds, jitter=jitter_for(settings.interval)),
                args=[settings.name],
                id=f"capture:{settings.name}",
                name=f"capture {settings.name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,  # late behind another round: run, never drop
                next_run_time=first,
            )
        scheduler.add_job(
            self.directory_job,
            IntervalTrigger(seconds=self.directory_every.total_seconds()),
            id="directory",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        scheduler.add_job(
            self.history_job,
            IntervalTrigger(seconds=HISTORY_EVERY.total_seconds()),
            id="history",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        zone = self.app.config.service.timezone
        tz = ZoneInfo(zone) if zone else None  # None: APScheduler uses the host's zone
        self._cron(scheduler, "rules", self.rules_job, self.app.config.rules.schedule, tz)
        slack = self.app.config.alerts.slack
        if slack is not None:
            self._cron(scheduler, "digest", self.digest_job, slack.digest, tz, weekly=False)
            self._cron(
                scheduler, "manager-digest", self.digest_job, slack.manager_digest, tz, weekly=True
            )
            scheduler.add_job(
                self.alerts_job,
                IntervalTrigger(seconds=ALERTS_EVERY.total_seconds()),
                id="alerts",
                executor="delivery",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        return scheduler

    @staticmethod
    def _cron(
        scheduler: BackgroundScheduler,
        job_id: str,
        fn: Callable[..., object],
        crontab: str,
        tz: ZoneInfo | None,
        **kwargs: Any,
    ) -> None:
        scheduler.add_job(
            fn,
            cron_trigger(crontab, tz),
            kwargs=kwargs,
            id=job_id,
            max_instances=1,
            coalesce=True,
            # All jobs share one executor thread: a firing that comes while a capture round
            # holds it runs when the round ends (up to an hour late) instead of being dropped.
            misfire_grace_time=3600,
        )

    def _serve(self) -> None:
        """Start the endpoints on ``listen`` and the webhooks on ``webhook_listen``."""
        if self.listen:
            self.web = WebServer(self.web_app, self.listen).start()
        if self.webhook_listen and self.webhook_app is not None:
            self.webhook_web = WebServer(self.webhook_app, self.webhook_listen).start()

    def _unserve(self) -> None:
        for server in (self.web, self.webhook_web):
            if server is not None:
                server.stop()

    def start(self) -> None:
        """Serve the endpoints, load the directory, start the scheduler.

        A config the org refuses (``email_as = "EmailMessage"`` without Enhanced Email) is
        raised here, before any job runs: ``syncd run`` exits 2 with the key and the fix, as
        ``syncd sync`` does, rather than staying not ready and retrying what cannot succeed.
        """
        self._serve()
        try:
            self.load_directory()
        except ConfigError:
            self._unserve()
            raise
        self._heartbeat = Heartbeat(self.worker, self.worker.ttl.total_seconds() / 3).start()
        self.scheduler = self.build_scheduler()
        self.scheduler.start()
        log.info(
            "syncd running",
            extra={"worker": self.worker.id, "connectors": len(self.connectors)},
        )

    def stop(self) -> float:
        """Drain: wait for the job in flight, release leases, stop serving; seconds it took."""
        began = time.monotonic()
        if not self.drain.is_set():  # a signal usually asked already
            self.drain.request("stop")
        self.readiness.draining = True
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
        if self._heartbeat is not None:
            self._heartbeat.stop()
        try:
            released = self.worker.release_all()
        except SQLAlchemyError as exc:  # the store is down: the leases expire on their own
            log.warning(
                "leases not released (%s); they expire by themselves",
                type(exc).__name__,
                extra={"ttl_seconds": self.worker.ttl.total_seconds()},
            )
            released = 0
        self._unserve()
        if self.slack_actions is not None:
            self.slack_actions.stop()  # clicks already acknowledged are done before exit
        took = time.monotonic() - began
        log.info("drained", extra={"seconds": round(took, 3), "leases_released": released})
        return took

    def run(self, *, install_signals: bool = True) -> int:
        """Run until SIGTERM/SIGINT, then drain; the exit code."""
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        if install_signals:
            self.drain.install()
        self.start()
        while not self.drain.wait(1.0):
            pass
        self.stop()
        return 0 if self.fatal is None else 1

    def run_once(self) -> list[WorkReport]:
        """One round of every capture job and the directory job, no scheduler (``--once``).

        The heartbeat runs here too: a batch outlasting the lease TTL must not lose its unit
        to a daemon sharing the store.
        """
        self._serve()
        heartbeat = Heartbeat(self.worker, self.worker.ttl.total_seconds() / 3).start()
        try:
            self.load_directory()
            self.worker.org_job("rematch", self.app.rematch)
            return [self.capture_job(name) for name in self.connectors]
        finally:
            heartbeat.stop()
            self.worker.release_all()
            self._unserve()
