"""The daemon's scheduler in-process: no overlapping runs, coalescing, and the org-wide jobs.

- A capture job on a 1-second interval whose first pass is held up (the Salesforce sandbox's
  ``slow`` fault on the collections endpoint) is never run twice at once: the firings that come
  while it runs are refused by APScheduler (max instances) instead of piling up behind it, and
  after it the job goes back to one run per interval.
- The rules and digest jobs are on their crons in ``service.timezone``; run on the advisory-lock
  holder they raise flags and send the owner's Slack DM (and the digest once a day); while
  another worker holds the lock they do nothing.
"""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.events import (
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
)
from service_helpers import (
    PARTICIPANTS,
    SECRET_ENV,
    MovableClock,
    add_mail,
    message,
    start_org,
)
from sqlalchemy import select

from sandbox.slack import SlackSandbox
from syncd.app import App, load_config
from syncd.service.scheduler import REPORTS_KEPT, Service
from syncd.service.workers import Worker
from syncd.state import Store
from syncd.state.schema import AlertRow, RunRow

SLOW_SECONDS = 3.0
SLACK_ENV = "SYNCD_TEST_SCHEDULER_SLACK_TOKEN"


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set the sandbox's client secret where the config looks for it."""

    def set_secret(sb: Any, **extra: str) -> None:
        monkeypatch.setenv(SECRET_ENV, sb.client_secret)
        for name, value in extra.items():
            monkeypatch.setenv(name, value)

    return set_secret


def test_capture_job_never_overlaps_and_missed_runs_collapse(
    tmp_path: Path, secret_env: Any
) -> None:
    org = start_org(tmp_path, interval="1s")
    secret_env(org.sb)
    events: list[tuple[str, datetime]] = []

    def on_event(event: JobExecutionEvent) -> None:
        if event.job_id == "capture:archive":
            kind = {
                EVENT_JOB_SUBMITTED: "start",
                EVENT_JOB_EXECUTED: "end",
                EVENT_JOB_MAX_INSTANCES: "refused",
            }[event.code]
            events.append((kind, datetime.now(UTC)))

    def ends() -> int:
        return sum(1 for kind, _ in events if kind == "end")

    org.sb.faults.inject("slow", path="composite/sobjects", times=1, seconds=SLOW_SECONDS)
    with App(load_config(org.config)) as app:
        service = Service(app, listen="")
        scheduler = service.build_scheduler()
        scheduler.add_listener(
            on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_MAX_INSTANCES
        )
        service.scheduler = scheduler
        try:
            service.load_directory()
            scheduler.start()
            deadline = time.monotonic() + 30
            # the slow first pass, then a few ordinary interval runs
            while ends() < 4:
                assert time.monotonic() < deadline, "the capture job stopped running"
                time.sleep(0.05)  # polling the daemon's own progress, not simulating a delay
        finally:
            took = service.stop()

    assert org.sb.count("Task") == 1
    # never two runs of the job at once: each start is followed by its end before the next start
    runs = [(kind, at) for kind, at in events if kind != "refused"]
    kinds = [kind for kind, _ in runs]
    assert kinds[: len(kinds) // 2 * 2] == ["start", "end"] * (len(kinds) // 2), kinds
    spans = [(runs[i][1], runs[i + 1][1]) for i in range(0, len(runs) - 1, 2)]
    # the slow run: the firings during it were refused, not queued behind it
    first_start, first_end = spans[0]
    assert (first_end - first_start).total_seconds() >= SLOW_SECONDS
    refused = [at for kind, at in events if kind == "refused" and first_start < at < first_end]
    assert len(refused) >= 2, events
    # and no backlog afterwards: later runs start about one interval apart, not back to back
    gaps = [(b[0] - a[1]).total_seconds() for a, b in itertools.pairwise(spans[1:])]
    assert gaps and min(gaps) > 0.5, gaps
    assert took < 5


def write_rules_config(org: Any, slack: SlackSandbox, zone: str) -> Path:
    """The service test's config plus [service] timezone, [rules] and [alerts.slack]."""
    text = org.config.read_text().replace("[service]\n", f'[service]\ntimezone = "{zone}"\n', 1) + (
        "\n[rules]\n"
        'schedule = "0 7 * * 1-5"\n'
        "\n[alerts.slack]\n"
        f'token_env = "{SLACK_ENV}"\n'
        f'api_url = "{slack.api_url}"\n'
        'fallback_channel = "#deals"\n'
        'digest = "30 9 * * 1-5"\n'
        'manager_digest = "0 8 * * 1"\n'
        'managers = ["boss@ourco.com"]\n'
    )
    path = org.config.with_name("rules.toml")
    path.write_text(text)
    return path


def test_rules_and_digests_run_on_their_crons_on_the_lock_holder(
    tmp_path: Path, secret_env: Any
) -> None:
    org = start_org(tmp_path)
    slack = SlackSandbox().start()
    try:
        dm = "D" + slack.add_user("ana@ourco.com").removeprefix("U")  # the DM channel
        secret_env(org.sb, **{SLACK_ENV: slack.token})
        (owner,) = [u["Id"] for u in org.sb.records("User") if u["Email"] == "ana@ourco.com"]
        (account,) = [a["Id"] for a in org.sb.records("Account")]
        past = (datetime.now(UTC).date() - timedelta(days=20)).isoformat()
        org.sb.insert(
            "Opportunity",
            [
                {
                    "Name": "Globex renewal",
                    "StageName": "Prospecting",
                    "CloseDate": past,
                    "AccountId": account,
                    "OwnerId": owner,
                    "Amount": 50000,
                }
            ],
        )
        config = load_config(write_rules_config(org, slack, "America/New_York"))
        with App(config) as app:
            service = Service(app, listen="")
            scheduler = service.build_scheduler()
            jobs = {job.id: job for job in scheduler.get_jobs()}
            assert {"capture:archive", "directory", "rules", "digest", "manager-digest"} <= set(
                jobs
            )
            assert "alerts" in jobs
            assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())
            # crons are read in the configured zone: 07:00 New York on a weekday
            friday_noon = datetime(2026, 11, 27, 17, tzinfo=UTC)  # Fri 12:00 in New York
            fire = jobs["rules"].trigger.get_next_fire_time(None, friday_noon)
            assert fire.astimezone(UTC) == datetime(2026, 11, 30, 12, tzinfo=UTC)  # Mon 07:00
            fire = jobs["manager-digest"].trigger.get_next_fire_time(None, friday_noon)
            assert fire.astimezone(UTC) == datetime(2026, 11, 30, 13, tzinfo=UTC)  # Mon 08:00

            # another worker holds the rules lock: nothing happens here
            held = threading.Event()
            release = threading.Event()

            def hold() -> None:
                with app.store.try_advisory_lock("rules") as got:
                    assert got
                    held.set()
                    release.wait(10)

            holder = threading.Thread(target=hold)
            holder.start()
            held.wait(5)
            service.rules_job()
            release.set()
            holder.join()
            assert app.store.flags.list_open() == []
            assert slack.messages == []

            # this worker holds it: flags raised; the first run is one digest DM to the owner
            service.rules_job()
            flags = app.store.flags.list_open()
            assert "past_close_date" in {f.rule for f in flags}
            sent = list(slack.messages)
            assert len(sent) == 1 and sent[0].channel == dm, sent
            assert "Globex renewal" in str(sent[0].blocks)
            assert sent[0].text.startswith("Your deals needing attention")

            # the daily digest: that first-run digest is today's, not sent again the same day
            service.digest_job(weekly=False)
            service.digest_job(weekly=False)
            assert len(slack.messages) == len(sent)
            metrics = service.metrics.exposition().decode()
            assert 'syncd_alert_deliveries_total{channel="slack",outcome="sent"}' in metrics
            assert slack.token not in metrics
    finally:
        slack.stop()
        org.sb.stop()


def test_a_connector_waiting_behind_a_long_round_runs_when_the_thread_frees(
    tmp_path: Path, secret_env: Any
) -> None:
    """One executor thread: a job that comes due during another job's round is run after it.

    Connector "a" (1 s interval) has a first round held up for longer than connector "b"'s
    whole 5 s interval. "b"'s firing waits behind it; when the thread frees, "b" must run at
    once, not be dropped as missed (then refused while its stale firing sat in the queue) and
    left for its next interval: with rounds always longer than "b"'s interval, "b" would never
    run at all.
    """
    org = start_org(tmp_path, interval="1s")
    second = tmp_path / "bob.mbox"
    add_mail(second, [message(PARTICIPANTS[0], "bob@ourco.com", "<b1@globex.com>", "Hi Bob")])
    bob = {"Username": "bob@ourco.com", "Email": "bob@ourco.com", "LastName": "B"}
    org.sb.insert("User", [bob])
    text = org.config.read_text().replace('name = "archive"', 'name = "a"') + (
        "\n[[connectors]]\n"
        'type = "mbox"\n'
        'name = "b"\n'
        'interval = "5s"\n'
        f'path = "{second}"\n'
        'mailbox = "bob@ourco.com"\n'
    )
    config = tmp_path / "two.toml"
    config.write_text(text)
    secret_env(org.sb)
    held = 12.0  # longer than b's interval and misfire grace (5 s), by two firings of b
    org.sb.faults.inject("slow", path="composite/sobjects", times=1, seconds=held)
    try:
        with App(load_config(config)) as app:
            service = Service(app, listen="")
            try:
                service.start()
                deadline = time.monotonic() + 40
                while {"a", "b"} - {c for c, _, _ in connector_spans(app)}:
                    assert time.monotonic() < deadline, connector_spans(app)
                    time.sleep(0.05)  # polling the daemon's own progress
            finally:
                service.stop()
            spans = connector_spans(app)
    finally:
        org.sb.stop()
    a_start, a_end = next((s, e) for c, s, e in spans if c == "a")
    b_start = next(s for c, s, _ in spans if c == "b")
    assert (a_end - a_start).total_seconds() >= held
    # b came due while a's round held the thread: it ran as soon as a's round ended
    waited = (b_start - a_end).total_seconds()
    assert 0 <= waited < 1.5, (waited, spans)


def connector_spans(app: App) -> list[tuple[str, datetime, datetime]]:
    """(connector, started, finished) of every finished pass, oldest first."""
    with app.store.engine.connect() as conn:
        rows = conn.execute(
            select(RunRow.connector, RunRow.started_at, RunRow.finished_at).order_by(
                RunRow.started_at
            )
        ).all()
    return [(r.connector, r.started_at, r.finished_at) for r in rows if r.finished_at]


def test_two_workers_never_send_the_same_alert_twice(tmp_path: Path, secret_env: Any) -> None:
    """Org-wide jobs under different locks (rules, alerts) on two workers at once: one sender.

    Worker 1's rules run queues one alert for each of four owners and sends them (Slack
    answering each request in 0.3 s); worker 2's five-minute alerts job comes due meanwhile.
    Each alert reaches Slack once: worker 2 must not send what worker 1 is still sending.
    """
    org = start_org(tmp_path)
    slack = SlackSandbox().start()
    try:
        owners = ["ana@ourco.com", "bob@ourco.com", "cy@ourco.com", "dee@ourco.com"]
        org.sb.insert("User", [{"Username": o, "Email": o, "LastName": o[:3]} for o in owners[1:]])
        dms = {"D" + slack.add_user(o).removeprefix("U") for o in owners}
        secret_env(org.sb, **{SLACK_ENV: slack.token})
        ids = {u["Email"]: u["Id"] for u in org.sb.records("User")}
        (account,) = [a["Id"] for a in org.sb.records("Account")]
        past = (datetime.now(UTC).date() - timedelta(days=20)).isoformat()
        deals = [
            {
                "Name": f"Globex deal {i}",
                "StageName": "Prospecting",
                "CloseDate": past,
                "AccountId": account,
                "OwnerId": ids[owner],
                "Amount": 50000,
            }
            for i, owner in enumerate(owners)
        ]
        org.sb.insert("Opportunity", deals)
        config = load_config(write_rules_config(org, slack, "UTC"))
        slack.latency.seconds = 0.3
        with App(config) as app1, App(config) as app2:
            first, second = Service(app1, listen=""), Service(app2, listen="")
            rules = threading.Thread(target=first.rules_job)
            rules.start()
            deadline = time.monotonic() + 30
            while not slack.messages:  # worker 1 is delivering
                assert time.monotonic() < deadline and rules.is_alive(), "no alert was sent"
                time.sleep(0.02)  # polling the sandbox, not simulating a delay
            second.alerts_job()
            rules.join(60)
            first.alerts_job()  # whatever is still due goes out now, once
            with app1.store.engine.connect() as conn:
                statuses = [s for (s,) in conn.execute(select(AlertRow.status))]
        assert len(statuses) == len(owners) and set(statuses) == {"sent"}, statuses
        channels = [m.channel for m in slack.messages]
        assert sorted(channels) == sorted(dms), channels  # one alert per owner, each once
    finally:
        slack.stop()
        org.sb.stop()


def test_the_daemon_keeps_a_bounded_history_of_rounds(tmp_path: Path, secret_env: Any) -> None:
    """Round reports are kept for the latest rounds only, not every round since the start.

    A daemon over 1,000 mailboxes every 30 s runs 2,880 rounds a day; keeping every round's
    unit keys grew its memory by about 230 MB a day.
    """
    org = start_org(tmp_path)
    secret_env(org.sb)
    try:
        with App(load_config(org.config)) as app:
            service = Service(app, listen="")
            assert service.load_directory()
            rounds = [service.capture_job("archive") for _ in range(REPORTS_KEPT + 30)]
            assert all(r.done == ["archive/ana@ourco.com"] for r in rounds)
            assert len(service.reports) == REPORTS_KEPT
            assert service.reports[-1] is rounds[-1]
    finally:
        org.sb.stop()


def test_once_keeps_its_lease_through_a_batch_longer_than_the_ttl(
    tmp_path: Path, secret_env: Any
) -> None:
    """``syncd run --once`` renews the unit it works while a batch outlasts the lease TTL.

    Without a heartbeat the lease of a unit whose one batch takes longer than the TTL (a slow
    Salesforce, a long Retry-After) expires mid-batch, and a daemon sharing the store takes
    the unit over and writes the same batch at the same time. Lease time runs on a clock the
    test moves; the batch is held by the sandbox.
    """
    org = start_org(tmp_path)
    secret_env(org.sb)
    clock = MovableClock()
    ttl = timedelta(seconds=3)
    org.sb.faults.inject("slow", path="composite/sobjects", times=1, seconds=6)
    try:
        with (
            App(load_config(org.config)) as app,
            Store.open(f"sqlite:///{org.state}", clock=clock) as leases,
        ):
            worker = Worker(leases, ttl=ttl, clock=clock)
            service = Service(app, worker=worker, listen="")
            once = threading.Thread(target=service.run_once)
            once.start()
            deadline = time.monotonic() + 20
            while org.sb.faults.pending:  # the batch's write is being held
                assert time.monotonic() < deadline and once.is_alive(), "no write"
                time.sleep(0.02)  # polling the sandbox, not simulating a delay
            (held,) = [x for x in leases.leases.all() if x.holder == worker.id]
            clock.advance(ttl * 0.8)  # most of the TTL gone, the batch still writing
            while held.renewed_at is None or held.renewed_at < clock():
                assert time.monotonic() < deadline, "the lease was never renewed mid-batch"
                time.sleep(0.02)  # polling the worker's heartbeat thread
                (held,) = [x for x in leases.leases.all() if x.unit_key == held.unit_key]
            clock.advance(ttl * 0.5)  # past the first expiry: still this worker's
            other = Worker(leases, worker_id="daemon:1:-:000000", ttl=ttl, clock=clock)
            assert other.store.leases.acquire(other.id, [held.unit_key], limit=1, ttl=ttl) == []
            once.join(30)
        assert org.sb.count("Task") == 1
    finally:
        org.sb.stop()
