"""Scale-out: one ``syncd run`` worker against three sharing one PostgreSQL state store.

The world: a Salesforce sandbox org with one User per rep and a Contact for every sender (so
every message becomes a Task), and a Google sandbox where each of N reps' Gmail mailboxes holds
M messages from those contacts. Both emulators run in this process (threaded werkzeug servers:
every request is served on its own thread) with ``--latency`` seconds (default 0.05) of wait
before EVERY request (:mod:`sandbox.latency`), so a request costs what a real service's round
trip costs and the emulators, not being the bottleneck, leave the workers waiting on the
network as they would in production.

A run: a fresh PostgreSQL schema (migrated before the workers start, dropped afterwards), a
fresh org and Google sandbox seeded with the same world, one ``syncd.toml`` per worker (same
state URL, own /metrics port), then K ``syncd run`` processes started together. The Gmail
connector's interval is longer than the run, so each worker does exactly its first round: it
leases the (connector, mailbox) units one at a time (``FOR UPDATE SKIP LOCKED``) until none is
left. The run ends when the org holds one Task per message; the workers are then drained
with SIGTERM. The 1-worker run and the K-worker run are identical but for K.

Throughput = activities written ÷ capture seconds. Capture seconds run from the moment the
FIRST worker answered ``/readyz`` 200 (its directory is loaded; its scheduler starts capturing
at once) to the moment the last Task exists in the org (polled every 20 ms). Start-up
(interpreter, imports, sign-in, directory load: the same for 1 or K workers, and paid once per
process lifetime, not per round) is left out and reported apart; the skew between the first
and the last worker's readiness stays IN the K-worker figure, which makes it conservative.

Also per run: Salesforce calls and Google requests (counted by the emulators; logins and
tokens shown apart), each worker's units and activities (its ``pass finished`` log lines: a
pass that wrote is a unit it captured), each worker's CPU seconds, and this process's CPU
seconds (the emulators). Checks, failing the script: Task count == activities expected ==
unique ``Syncd_Key__c`` count == ledger rows, and no unit captured by two workers.

The machine is shared, so the load drifts: ``--repeat`` runs that many pairs (1 worker, then
K, alternating) and reports each side's median run and every pair's ratio; the 1-minute load
average at each run's start is in the JSON. ``--keep DIR`` keeps the workers' logs and the
passes (mailbox, start, end) for a closer look at where the workers' time went.

Prints one JSON line and appends a row under "## Scale-out" in docs/benchmarks.md.

    SYNCD_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
    .venv/bin/python benchmarks/scale_out.py [--mailboxes 60] [--messages 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from _report import ROOT, append_row, stamp
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from sandbox.google import GoogleSandbox
from sandbox.salesforce import SalesforceSandbox
from syncd.salesforce.client import ClientOptions, SalesforceClient, SalesforceCredentials
from syncd.salesforce.setup import run_setup
from syncd.state import Store
from syncd.state.schema import RunRow

SECTION = "## Scale-out"
HEADER = (
    "| date | commit | mailboxes x messages | latency s | pairs | 1 worker act/s | "
    "3 workers act/s | ratio | pair ratios | capture s (1 / 3) | SF calls (1 / 3) | "
    "Google requests (1 / 3) | units per worker (3) | mean pass s (1 / 3) | busy share (3) | "
    "worker CPU s in capture (1 / 3) | load avg at starts |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)
NOTE = (
    "\n`syncd run` processes sharing one PostgreSQL state store (a fresh schema per run), "
    "capturing Gmail mailboxes from the Google sandbox into the Salesforce sandbox, both "
    "emulators in the benchmark's process waiting the stated latency before every request. "
    "Capture seconds run from the first worker's `/readyz` 200 to the last Task in the org "
    "(start-up apart; the workers' readiness skew counts against the 3-worker run). With "
    "several pairs of runs (alternating 1 and 3 workers) each side's median run is shown, "
    "and every pair's ratio. Calls and requests are counted by the emulators (SF logins and "
    "Google token requests included). Units per worker: the mailboxes each worker captured "
    "(its `pass finished` logs). Busy share: the time the 3 workers spent inside passes "
    "(runs table) over 3 times the capture seconds. Every run checks Tasks == activities == unique "
    "`Syncd_Key__c` == ledger rows. The machine has 2 cores shared with other work: the load "
    "average is the 1-minute figure when each run started.\n\n"
)
PG_ENV = "SYNCD_TEST_POSTGRES_URL"
SECRET_ENV = "SYNCD_SCALE_SF_SECRET"  # noqa: S105 - the name of a variable, not a secret
DOMAIN = "ourco.com"
POLL = 0.02  # seconds between polls of the org and of the workers' /readyz
log = logging.getLogger("benchmarks.scale_out")


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(port: int) -> bool:
    """Whether the worker on ``port`` answers /readyz with 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the world ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldSize:
    """How big the world is."""

    mailboxes: int
    messages: int  # per mailbox
    contacts: int
    accounts: int

    @property
    def activities(self) -> int:
        """Messages in all, each one Task."""
        return self.mailboxes * self.messages

    def reps(self) -> list[str]:
        """The reps' addresses: Salesforce users and Gmail mailboxes."""
        return [f"rep{i:03d}@{DOMAIN}" for i in range(self.mailboxes)]


def sf_client(sb: SalesforceSandbox) -> SalesforceClient:
    """syncd's Salesforce client for set-up (the key field)."""
    creds = SalesforceCredentials(
        auth="client_credentials", client_id=sb.client_id, client_secret=sb.client_secret
    )
    options = ClientOptions(login_url=sb.url, ca_bundle=str(sb.ca_bundle), timeout=30.0)
    return SalesforceClient(creds, options, sleep=lambda _s: None)


def seed(sb: SalesforceSandbox, gs: GoogleSandbox, size: WorldSize, now: datetime) -> None:
    """The same world every run: users, accounts, contacts; mailboxes of contacts' mail."""
    client = sf_client(sb)
    try:
        run_setup(client)
    finally:
        client.close()
    reps = size.reps()
    sb.insert(
        "User",
        [{"Username": r, "Email": r, "LastName": r.split("@")[0].title(), "IsActive": True}
         for r in reps],
    )  # fmt: skip
    account_ids = sb.insert(
        "Account",
        [{"Name": f"Acct {i}", "Website": f"https://www.acct{i}.example"}
         for i in range(size.accounts)],
    )  # fmt: skip
    contacts = [f"c{i}@acct{i % size.accounts}.example" for i in range(size.contacts)]
    sb.insert(
        "Contact",
        [{"LastName": f"Contact {i}", "Email": a, "AccountId": account_ids[i % size.accounts]}
         for i, a in enumerate(contacts)],
    )  # fmt: skip
    n = 0
    for b, rep in enumerate(reps):
        gs.add_user(rep)
        for j in range(size.messages):
            when = now - timedelta(minutes=size.activities - n)
            gs.gmail.deliver(
                rep,
                [
                    ("From", f"Contact <{contacts[(b * 7 + j) % len(contacts)]}>"),
                    ("To", rep),
                    ("Subject", f"Proposal round {n}"),
                    ("Date", format_datetime(when)),
                    ("Message-ID", f"<scale-{b}-{j}@bench.example>"),
                ],
                when=when,
            )
            n += 1


# -- PostgreSQL --------------------------------------------------------------------------------


class Schema:
    """A fresh PostgreSQL schema for one run: created, migrated, dropped."""

    def __init__(self, raw_url: str) -> None:
        self.name = f"syncd_scale_{secrets.token_hex(4)}"
        base = make_url(raw_url).set(drivername="postgresql+psycopg")
        self._admin = create_engine(base)
        self.url = base.update_query_dict({"options": f"-csearch_path={self.name}"})

    def __enter__(self) -> Schema:
        with self._admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        with Store.open(self.url_string):  # migrate now: start-up is not what is measured
            pass
        return self

    @property
    def url_string(self) -> str:
        """The state URL with the schema on the search path."""
        return self.url.render_as_string(hide_password=False)

    def __exit__(self, *exc: object) -> None:
        with self._admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self._admin.dispose()


# -- workers -----------------------------------------------------------------------------------


def write_config(
    folder: Path,
    state_url: str,
    port: int,
    sb: SalesforceSandbox,
    gs: GoogleSandbox,
    reps: list[str],
    key: Path,
) -> Path:
    """One worker's syncd.toml: shared state and sandboxes, its own /metrics port.

    The Gmail interval (1 h) is longer than any run: every worker does its first round only.
    """
    q = json.dumps  # JSON strings are valid TOML basic strings for these values
    path = folder / f"syncd-{port}.toml"
    path.write_text(
        f"""
[state]
url = {q(state_url)}

[service]
listen = "127.0.0.1:{port}"
log_format = "json"
log_level = "INFO"

[salesforce]
login_url = {q(sb.url)}
auth = "client_credentials"
client_id = {q(sb.client_id)}
client_secret_env = {q(SECRET_ENV)}
ca_bundle = {q(str(sb.ca_bundle))}
email_as = "Task"

[capture]
internal_domains = [{q(DOMAIN)}]

[[connectors]]
type = "gmail"
name = "gmail"
interval = "1h"
api_endpoint = {q(gs.url + "/")}
ca_bundle = {q(str(gs.ca_bundle))}
service_account_key_file = {q(str(key))}
mailboxes = [{", ".join(q(r) for r in reps)}]
"""
    )
    return path


@dataclass
class Worker:
    """One ``syncd run`` process."""

    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    ready_at: float | None = None
    cpu_at_ready: float = 0.0  # CPU seconds of start-up
    cpu: float = 0.0  # CPU seconds when the last Task existed
    units: int = 0  # mailboxes whose pass wrote activities here
    written: int = 0
    passes: int = 0
    fresh: int = 0  # units found already done this round (by another worker)
    worker_id: str = ""
    rc: int | None = None
    errors: list[str] = field(default_factory=list)


def read_logs(worker: Worker) -> None:
    """Units, activities and passes from the worker's JSON log lines (counts only)."""
    for line in worker.log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("msg")
        if message == "pass finished":
            worker.passes += 1
            written = int(entry.get("outcomes", {}).get("written", 0))
            worker.written += written
            worker.units += 1 if written else 0
        elif message == "capture round":
            worker.fresh += int(entry.get("fresh", 0))
        elif message == "syncd running":
            worker.worker_id = str(entry.get("worker", ""))
        elif entry.get("level") in ("ERROR", "CRITICAL"):
            worker.errors.append(str(message))


def watch(workers: list[Worker], sb: SalesforceSandbox, tasks: int, deadline: float) -> float:
    """Poll until the org holds ``tasks`` Tasks, noting when each worker turns ready; when."""
    while True:
        for w in workers:
            if w.proc.poll() is not None:
                raise RuntimeError(f"worker on {w.port} exited early ({w.proc.returncode})")
            if w.ready_at is None and ready(w.port):
                w.ready_at = time.monotonic()
                w.cpu_at_ready = cpu_seconds(w.proc.pid)
        if sb.count("Task") >= tasks:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: {sb.count('Task')} of {tasks} Tasks")
        time.sleep(POLL)  # polling external processes, with a deadline


def run_workers(
    n: int, size: WorldSize, latency: float, pg_url: str, limit: float, keep: Path | None = None
) -> dict[str, Any]:
    """One run with ``n`` workers on a fresh world; its figures (raises if a check fails)."""
    now = datetime.now(UTC)
    with (
        SalesforceSandbox(latency=latency) as sb,
        GoogleSandbox(latency=latency) as gs,
        tempfile.TemporaryDirectory(prefix="syncd-scale-") as tmp,
        Schema(pg_url) as schema,
    ):
        folder = Path(tmp)
        seed(sb, gs, size, now)
        key = folder / "sa.json"
        key.write_text(json.dumps(gs.service_account()))
        key.chmod(0o600)
        reps = size.reps()
        ports = [free_port() for _ in range(n)]
        configs = [write_config(folder, schema.url_string, p, sb, gs, reps, key) for p in ports]
        env = os.environ | {SECRET_ENV: sb.client_secret}
        sb.reset_counters()
        gs.reset_counters()
        emulator_cpu0 = time.process_time()
        workers: list[Worker] = []
        spawned = time.monotonic()
        try:
            for port, config in zip(ports, configs, strict=True):
                log_path = folder / f"worker-{port}.log"
                with log_path.open("wb") as err:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "syncd.cli", "run", "-c", str(config)],
                        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
                    )  # fmt: skip
                workers.append(Worker(port, proc, log_path))
            done_at = watch(workers, sb, size.activities, spawned + limit)
            emulator_cpu = time.process_time() - emulator_cpu0
            for w in workers:
                w.cpu = cpu_seconds(w.proc.pid)
        finally:
            for w in workers:
                if w.proc.poll() is None:
                    w.proc.send_signal(signal.SIGTERM)
            for w in workers:
                try:
                    w.rc = w.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    w.proc.kill()
                    w.rc = w.proc.wait()
        for w in workers:
            read_logs(w)
        tasks = [t for t in sb.records("Task") if not t["IsDeleted"]]
        keys = [t["Syncd_Key__c"] for t in tasks]
        with Store.open(schema.url_string) as store:
            ledger = store.ledger.count()
            held = [x.unit_key for x in store.leases.all() if x.holder is not None]
            with store.engine.connect() as conn:
                rows = conn.execute(
                    select(RunRow.mailbox, RunRow.started_at, RunRow.finished_at)
                ).all()
        spans = [(f - st).total_seconds() for _m, st, f in rows if f is not None]
        if keep is not None:  # the workers' logs and the passes, for a closer look
            keep.mkdir(parents=True, exist_ok=True)
            for w in workers:
                (keep / f"{n}-worker-{w.port}.log").write_bytes(w.log_path.read_bytes())
            passes = [{"mailbox": m, "started": str(st), "finished": str(f)} for m, st, f in rows]
            (keep / f"{n}-passes.json").write_text(json.dumps(passes, indent=1))
        sf_calls = dict(sb.calls)
        google = dict(gs.requests)
    ready_times = [w.ready_at for w in workers if w.ready_at is not None]
    first_ready = min(ready_times) if ready_times else spawned
    capture = done_at - first_ready
    problems = []
    if not (len(tasks) == size.activities == len(set(keys)) == ledger):
        problems.append(
            f"tasks {len(tasks)}, expected {size.activities}, unique keys {len(set(keys))}, "
            f"ledger {ledger}"
        )
    if sum(w.units for w in workers) != size.mailboxes:
        problems.append(f"units captured {[w.units for w in workers]} != {size.mailboxes}")
    if sum(w.written for w in workers) != size.activities:
        problems.append(f"written per worker {[w.written for w in workers]}")
    if held:
        problems.append(f"{len(held)} leases still held after the drain")
    if any(w.rc != 0 for w in workers):
        problems.append(f"exit codes {[w.rc for w in workers]}")
    if len(ready_times) != n:
        problems.append(f"only {len(ready_times)} of {n} workers reported ready")
    if problems:
        raise RuntimeError(f"{n}-worker run: " + "; ".join(problems))
    return {
        "workers": n,
        "activities": len(tasks),
        "capture_seconds": round(capture, 3),
        "activities_per_second": round(len(tasks) / capture, 1),
        "startup_seconds": [round(w.ready_at - spawned, 2) for w in workers if w.ready_at],
        "ready_skew_seconds": round(max(ready_times) - min(ready_times), 3),
        "wall_seconds_from_spawn": round(done_at - spawned, 3),
        "sf_calls": sum(sf_calls.values()),
        "sf_logins": sf_calls.get("oauth", 0),
        "sf_calls_by_endpoint": sf_calls,
        "google_requests": sum(google.values()),
        "google_requests_by_kind": google,
        "units_per_worker": [w.units for w in workers],
        "activities_per_worker": [w.written for w in workers],
        "passes_per_worker": [w.passes for w in workers],
        "fresh_per_worker": [w.fresh for w in workers],
        "worker_cpu_seconds": [round(w.cpu, 2) for w in workers],
        "worker_capture_cpu_seconds": [round(w.cpu - w.cpu_at_ready, 2) for w in workers],
        "emulator_cpu_seconds": round(emulator_cpu, 2),
        "worker_errors_logged": sum(len(w.errors) for w in workers),
        # passes (runs table): how long one took, and the share of the workers' capture
        # time spent inside a pass (the rest: leasing, waiting for the last unit, skew)
        "passes": len(spans),
        "pass_seconds_mean": round(sum(spans) / max(len(spans), 1), 3),
        "busy_share": round(sum(spans) / (n * capture), 3),
    }


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (the lower middle one of an even count)."""
    ordered = sorted(runs, key=lambda r: r["activities_per_second"])
    return ordered[(len(ordered) - 1) // 2]


def measure(
    size: WorldSize,
    latency: float,
    workers: int,
    pg_url: str,
    limit: float,
    *,
    repeat: int = 1,
    keep: Path | None = None,
) -> dict[str, Any]:
    """1-worker and K-worker runs on identical fresh worlds, alternating, ``repeat`` pairs.

    The machine is shared, so its load drifts: alternating the pairs spreads the drift over
    both sides, and the figures reported are each side's median run (every pair's ratio too).
    """
    ones: list[dict[str, Any]] = []
    manys: list[dict[str, Any]] = []
    loads: list[float] = []
    for i in range(repeat):
        pair_keep = keep / f"pair-{i}" if keep is not None and repeat > 1 else keep
        loads.append(os.getloadavg()[0])
        ones.append(run_workers(1, size, latency, pg_url, limit, pair_keep))
        loads.append(os.getloadavg()[0])
        manys.append(run_workers(workers, size, latency, pg_url, limit, pair_keep))
    one, many = _median_run(ones), _median_run(manys)
    return {
        "benchmark": "scale_out",
        "mailboxes": size.mailboxes,
        "messages_per_mailbox": size.messages,
        "activities": size.activities,
        "contacts": size.contacts,
        "latency_seconds": latency,
        "workers": workers,
        "pairs": repeat,
        "one": one,
        "many": many,
        "ratio": round(many["activities_per_second"] / one["activities_per_second"], 2),
        "pair_ratios": [
            round(m["activities_per_second"] / o["activities_per_second"], 2)
            for o, m in zip(ones, manys, strict=True)
        ],
        "one_activities_per_second_all": [r["activities_per_second"] for r in ones],
        "many_activities_per_second_all": [r["activities_per_second"] for r in manys],
        "cpu_count": os.cpu_count(),
        # other work on the machine competes for the same cores: the 1-minute load average
        # when each run started
        "load_average_1m_at_start": [round(x, 2) for x in loads],
    }


def append(f: dict[str, Any]) -> None:
    """Append one row under the scale-out section of docs/benchmarks.md."""
    one, many = f["one"], f["many"]
    row = (
        f"{stamp()} {f['mailboxes']} x {f['messages_per_mailbox']} | {f['latency_seconds']} | "
        f"{f['pairs']} | {one['activities_per_second']} | {many['activities_per_second']} | "
        f"{f['ratio']}x | {', '.join(str(r) for r in f['pair_ratios'])} | "
        f"{one['capture_seconds']:.1f} / {many['capture_seconds']:.1f} | "
        f"{one['sf_calls']} / {many['sf_calls']} | "
        f"{one['google_requests']} / {many['google_requests']} | "
        f"{' + '.join(str(u) for u in many['units_per_worker'])} | "
        f"{one['pass_seconds_mean']} / {many['pass_seconds_mean']} | {many['busy_share']} | "
        f"{sum(one['worker_capture_cpu_seconds']):.1f} / "
        f"{sum(many['worker_capture_cpu_seconds']):.1f} | "
        f"{', '.join(str(x) for x in f['load_average_1m_at_start'])} |\n"
    )
    append_row(SECTION, HEADER, row, note=NOTE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=60)
    parser.add_argument("--messages", type=int, default=40, help="per mailbox")
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3, help="pairs of runs (medians)")
    parser.add_argument("--limit", type=float, default=600.0, help="seconds a run may take")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep the workers' logs and the passes here"
    )
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    pg_url = os.environ.get(PG_ENV)
    if not pg_url:
        parser.error(f"set {PG_ENV} to a PostgreSQL URL (the workers share its state store)")
    size = WorldSize(args.mailboxes, args.messages, args.contacts, args.accounts)
    figures = measure(
        size,
        args.latency,
        args.workers,
        pg_url,
        args.limit,
        repeat=args.repeat,
        keep=args.keep,
    )
    sys.stdout.write(json.dumps(figures) + "\n")
    if not args.no_append and args.workers == 3:
        append(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
