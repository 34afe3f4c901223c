"""Chaos: ``syncd run`` under load, SIGKILLed again and again and restarted; each activity once.

The daemon runs as a subprocess (``syncd run -c …``, every connector on a 1-second interval)
against a Salesforce sandbox served by threads of this process, so the test can slow the
collections endpoint and read the org directly. Five capture jobs run: four mbox mailboxes
(some messages in two of them, some bulk mail, some from strangers) and a ``call_files`` folder
of call logs (some to numbers nobody has). While the daemon runs, mail is appended to the
mboxes and call files are dropped in the folder, in waves, so interval passes keep finding new
items.

Each kill, at a seeded moment, is one of:

- ``ready``: just after ``/readyz`` turns 200 (start-up, first pulls);
- ``mid-batch``: a wave is delivered, the collections endpoint answers slowly (the sandbox's
  ``slow`` fault), and the kill comes a seeded fraction of a second after the org's Task count
  starts to grow: most land between an upsert and its commit.

After each kill (the process reaped) the org's Tasks are compared with the ledger: Tasks no
ledger row names are upserts whose commit the kill cut off. The leases the dead process held
must not stall its successor: a restarted worker on this host takes them at once instead of
waiting out the 2-minute expiry (:func:`syncd.service.workers.holder_is_dead`); the test
measures how long that takes. At the end the daemon runs to quiescence with the last mail
appended, SIGTERM drains it (exit 0), and the org must hold exactly the expected Tasks (the key
set computed from the generated Message-IDs and call ids), each key once, the ledger naming the
very same records, the unmatched queue each stranger once, the outcome counters exact, every
call file moved aside.

The seed is ``SYNCD_CHAOS_SEED`` (default :data:`SEED`); a failure names it and the kill plan.
The full scenario runs on SQLite; a smaller one on PostgreSQL when SYNCD_TEST_POSTGRES_URL is
set (skipped visibly without). Two quick tests pin the takeover rule itself: which holders count
as dead, and that a worker works a dead holder's unit at once but never a live holder's.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from crash_world import (
    CallLog,
    World,
    append_mbox,
    call_connector_toml,
    ledger_keys,
    ledger_rows,
    mbox_messages,
    phone_contacts,
    postgres_schema,
    syncd_command,
    syncd_env,
    syncd_status,
    write_call_file,
    write_config,
    write_mail,
    write_seed,
)
from service_helpers import free_port
from sf_helpers import make_client, start_sandbox

from syncd.salesforce.setup import run_setup
from syncd.service.workers import DEFAULT_TTL, Worker, holder_is_dead, new_worker_id
from syncd.state import Store

log = logging.getLogger(__name__)

SEED = 20261201
SEED_ENV = "SYNCD_CHAOS_SEED"
REPS = 4
ACCOUNTS = 50
MID_WRITE = "between an upsert and its commit"
#: A collection call's delay while kills are aimed at batches (three calls per 500 messages).
SLOW_SECONDS = 0.3
#: Extra mid-batch kills allowed when none of the planned ones cut a batch off.
EXTRA_KILLS = 3
READY_LIMIT = 30.0  # start-up to /readyz 200 (about a second when the machine is idle)
TAKEOVER_LIMIT = 20.0  # a dead worker's lease taken over: far below the 2-minute expiry
QUIESCE_LIMIT = 60.0
DRAIN_LIMIT = 30.0


@dataclass(frozen=True)
class Scenario:
    """How much work, of which sorts, and how many kills of which kind."""

    mail: int  # messages in the mboxes before the daemon starts
    late_mail: int  # appended while it runs, in waves
    shared: int  # of each: in two reps' mailboxes, one Task
    bulk: int  # of each: List-Unsubscribe, skipped
    strangers: int  # of each: personal-domain senders nobody knows, unmatched
    call_files: int  # call logs in the folder before the start
    late_call_files: int  # dropped while it runs
    calls_per_file: int
    call_strangers: int  # per file: numbers nobody has, unmatched
    waves_per_box: int  # each rep's late mail comes in this many appends
    ready_kills: int
    mid_kills: int

    @property
    def kills(self) -> int:
        return self.ready_kills + self.mid_kills


#: 12 kills over 4,800 messages and 1,600 calls on the embedded SQLite store: 8 of the 12
#: mail waves and 4 of the 5 late call files come before mid-batch kills, the rest after the
#: last restart.
FULL = Scenario(
    mail=2_400, late_mail=2_400, shared=160, bulk=60, strangers=60,
    call_files=3, late_call_files=5, calls_per_file=200, call_strangers=10, waves_per_box=3,
    ready_kills=4, mid_kills=8,
)  # fmt: skip
#: The same on PostgreSQL, smaller and with fewer kills, so the two stay bounded on 2 cores.
SMALL = Scenario(
    mail=1_000, late_mail=800, shared=60, bulk=20, strangers=20,
    call_files=1, late_call_files=3, calls_per_file=150, call_strangers=8, waves_per_box=2,
    ready_kills=2, mid_kills=4,
)  # fmt: skip


@dataclass
class Waves:
    """Mail and call files still to deliver, in order."""

    mail: list[dict[Path, list[bytes]]]
    calls: int


@dataclass
class Org:
    """The sandbox, the generated world, the config and what was delivered so far."""

    sb: Any
    rng: random.Random
    world: World
    late: World
    calls: CallLog
    phones: list[str]
    waves: Waves
    config: Path
    state_url: str
    db: Engine
    env: dict[str, str]
    port: int
    logs: Path
    delivered: list[str] = field(default_factory=list)


def seed() -> int:
    """The run's seed: ``SYNCD_CHAOS_SEED`` or :data:`SEED`."""
    return int(os.environ.get(SEED_ENV, SEED))


def build_org(tmp_path: Path, scenario: Scenario, state_url: str) -> Org:
    """Seed the org (CSV users, accounts, contacts; phone contacts), write mail and calls."""
    rng = random.Random(seed())
    now = datetime.now(UTC)
    contacts = write_seed(tmp_path / "seed", rng, reps=REPS, accounts=ACCOUNTS)
    for folder in ("mail", "late", "calls", "logs"):
        (tmp_path / folder).mkdir()

    def mail(folder: str, total: int) -> World:
        return write_mail(
            tmp_path / folder, rng, contacts, reps=REPS, total=total, shared=scenario.shared,
            bulk=scenario.bulk, strangers=scenario.strangers, now=now,
        )  # fmt: skip

    world = mail("mail", scenario.mail)
    # Mail for later: generated now (keys known up front), appended to the live mboxes in
    # waves, each a slice of one rep's late mail.
    late = mail("late", scenario.late_mail)
    mail_waves: list[dict[Path, list[bytes]]] = []
    parts = scenario.waves_per_box
    for live, box in zip(world.mailboxes, late.mailboxes, strict=True):
        messages = mbox_messages(box.path.read_bytes())
        mail_waves += [{live.path: messages[n::parts]} for n in range(parts)]
    rng.shuffle(mail_waves)

    sb = start_sandbox()
    sb.seed_csv(tmp_path / "seed")
    phones = phone_contacts(ACCOUNTS)
    sb.insert("Contact", phones)
    client = make_client(sb)
    run_setup(client)
    client.close()
    calls = CallLog(tmp_path / "calls")
    numbers = [c["Phone"] for c in phones]
    for _ in range(scenario.call_files):
        write_call_file(
            calls, rng, numbers, world.reps, calls=scenario.calls_per_file,
            strangers=scenario.call_strangers, now=now,
        )  # fmt: skip

    port = free_port()
    config = tmp_path / "syncd.toml"
    info = sb.describe_credentials() | {"ca_bundle": str(sb.ca_bundle)}
    write_config(config, state_url, info, world, interval="1s")
    config.write_text(
        config.read_text()
        + "\n"
        + call_connector_toml(calls, interval="1s")
        + f'\n[service]\nlisten = "127.0.0.1:{port}"\n'
    )
    env = syncd_env(sb.client_secret)
    return Org(
        sb, rng, world, late, calls, numbers, Waves(mail_waves, scenario.late_call_files),
        config, state_url, create_engine(state_url), env, port, tmp_path / "logs",
    )  # fmt: skip


def deliver(org: Org, scenario: Scenario, *, every: bool = False) -> None:
    """Deliver the next mail wave and, every other wave, a call file (``every``: all left)."""
    while org.waves.mail or org.waves.calls:
        if org.waves.mail:
            for path, messages in org.waves.mail.pop().items():
                append_mbox(path, messages)
                org.delivered.append(f"{len(messages)} mail to {path.stem}")
        if org.waves.calls and (every or len(org.waves.mail) % 2 == 0):
            write_call_file(
                org.calls, org.rng, org.phones, org.world.reps, calls=scenario.calls_per_file,
                strangers=scenario.call_strangers, now=datetime.now(UTC),
            )  # fmt: skip
            org.waves.calls -= 1
            org.delivered.append(f"{scenario.calls_per_file} calls")
        if not every:
            return


@pytest.fixture
def sqlite_org(tmp_path: Path) -> Iterator[Org]:
    org = build_org(tmp_path, FULL, f"sqlite:///{tmp_path / 'state.db'}")
    try:
        yield org
    finally:
        org.db.dispose()
        org.sb.stop()


@pytest.fixture
def postgres_org(tmp_path: Path) -> Iterator[Org]:
    with postgres_schema("syncd_chaos") as state_url:
        org = build_org(tmp_path, SMALL, state_url)
        try:
            yield org
        finally:
            org.db.dispose()
            org.sb.stop()


# -- the daemon ----------------------------------------------------------------------------


class Daemon:
    """One ``syncd run`` process, its stderr in ``logs/run-<n>.log``."""

    def __init__(self, org: Org, n: int) -> None:
        self.log_path = org.logs / f"run-{n:02d}.log"
        self._log = self.log_path.open("wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            syncd_command("run", "-c", str(org.config)),
            env=org.env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        self.base = f"http://127.0.0.1:{org.port}"

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as reply:  # noqa: S310
                return bool(reply.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def until(self, what: str, check: Callable[[], bool], limit: float) -> float:
        """Poll ``check`` while the process runs; seconds it took (fails past ``limit``)."""
        began = time.monotonic()
        while not check():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"syncd run exited ({self.proc.returncode}) waiting for {what}: {self.tail()}"
                )
            if time.monotonic() - began > limit:
                raise AssertionError(f"timed out after {limit:.0f}s waiting for {what}")
            time.sleep(0.05)  # polling an external process, with a deadline
        return time.monotonic() - began

    def kill(self, *, after: float) -> None:
        """Let it run ``after`` more seconds, then SIGKILL (no handler, no drain, no rollback)
        and reap, so the pid is gone."""
        try:
            code = self.proc.wait(timeout=after)
        except subprocess.TimeoutExpired:
            pass  # still running, as it should be
        else:
            raise AssertionError(f"syncd run exited on its own ({code}): {self.tail()}")
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def terminate(self) -> tuple[int, float]:
        """SIGTERM and wait for the drain: (exit code, seconds)."""
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(DRAIN_LIMIT + 5)
        self._log.close()
        return code, time.monotonic() - began

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()

    def tail(self) -> str:
        """The end of its log (the child writes the file itself: nothing to flush here)."""
        return self.log_path.read_text(errors="replace")[-3000:]


def task_keys(sb: Any) -> list[tuple[str, str]]:
    """Every live Task as (``Syncd_Key__c``, Id), duplicates kept."""
    return [(r["Syncd_Key__c"], r["Id"]) for r in sb.records("Task") if not r["IsDeleted"]]


def held_leases(db: Engine) -> dict[str, str]:
    """Unit → holder of every lease held right now (expired or not)."""
    try:
        with db.connect() as conn:
            rows = conn.execute(text("SELECT unit_key, holder FROM leases"))
            return {unit: holder for unit, holder in rows if holder is not None}
    except Exception:  # noqa: BLE001 - before the first migration there is no table
        return {}


# -- the test ------------------------------------------------------------------------------


@dataclass
class Kill:
    """One planned kill and what it found."""

    n: int
    kind: str
    delay: float
    landed: str = ""
    cut_off: int = 0  # Tasks upserted by this process and left out of the ledger
    leases_left: int = 0
    takeover: float | None = None
    ready_after: float = 0.0

    def __str__(self) -> str:
        return f"#{self.n} {self.kind}+{self.delay:.2f}s→{self.landed or '?'}"


@pytest.mark.slow
def test_run_killed_twelve_times_under_load_writes_every_activity_once(sqlite_org: Org) -> None:
    chaos(sqlite_org, FULL)


@pytest.mark.slow
@pytest.mark.postgres
def test_run_killed_under_load_on_postgresql_writes_every_activity_once(
    postgres_org: Org,
) -> None:
    chaos(postgres_org, SMALL)


def chaos(org: Org, scenario: Scenario) -> None:
    """Kill and restart ``syncd run`` per a seeded plan, let it finish, check the outcome."""
    rng = random.Random(seed() + 1)
    kinds = ["ready"] * scenario.ready_kills + ["mid-batch"] * scenario.mid_kills
    rng.shuffle(kinds)
    plan = [Kill(n, kind, rng.uniform(0.0, 0.4)) for n, kind in enumerate(kinds)]
    try:
        run_chaos(org, scenario, plan, rng)
    except AssertionError as exc:
        kills = ", ".join(str(k) for k in plan)
        raise AssertionError(
            f"{exc}\n{SEED_ENV}={seed()}; kills: {kills}; delivered: {org.delivered}"
        ) from exc


def run_chaos(org: Org, scenario: Scenario, plan: list[Kill], rng: random.Random) -> None:
    world, late, calls = org.world, org.late, org.calls
    began = time.monotonic()
    daemons: list[Daemon] = []
    orphans: set[str] = set()  # in the org, not in the ledger, after the latest kill

    def start() -> Daemon:
        daemon = Daemon(org, len(daemons))
        daemons.append(daemon)
        return daemon

    daemon = start()
    planned = len(plan)
    try:
        i = 0
        while i < len(plan):
            kill = plan[i]
            daemon.until("/readyz", daemon.ready, READY_LIMIT)
            kill.ready_after = time.monotonic() - daemon.started
            if kill.kind == "mid-batch":
                deliver(org, scenario)
                org.sb.faults.inject("slow", path="composite/sobjects", times=10_000,
                                     seconds=SLOW_SECONDS)  # fmt: skip
                daemon.until("a write", more_tasks_than(org.sb, org.sb.count("Task")), 20)
            dead = daemon.proc.pid
            daemon.kill(after=kill.delay)
            org.sb.faults.clear()

            keys = {k for k, _ in task_keys(org.sb)}
            ledger = ledger_keys(org.db)
            now_orphans = keys - ledger
            kill.cut_off = len(now_orphans - orphans)
            orphans = now_orphans
            left = {
                u: h for u, h in held_leases(org.db).items() if h.split(":")[1:2] == [str(dead)]
            }
            kill.leases_left = len(left)
            kill.landed = MID_WRITE if kill.cut_off else "no batch cut off"
            log.info("kill %s: %d cut off, %d leases left", kill, kill.cut_off, len(left))

            daemon = start()
            if left:
                # The successor takes the dead worker's units long before their expiry.
                assert all(holder_is_dead(h, new_worker_id()) for h in left.values())
                kill.takeover = daemon.until(
                    "the dead worker's leases taken over", released(org.db, left), TAKEOVER_LIMIT
                )
            i += 1
            # A run whose kills never cut a batch off would prove little: a few more, if so.
            cut = any(k.landed == MID_WRITE for k in plan)
            if i == len(plan) and not cut and len(plan) < planned + EXTRA_KILLS:
                plan.append(Kill(len(plan), "mid-batch", rng.uniform(0.0, 0.4)))

        # The rest of the mail and calls reach the last process, at full speed, until quiet.
        daemon.until("/readyz", daemon.ready, READY_LIMIT)
        before_last = len(org.delivered)
        deliver(org, scenario, every=True)
        last_deliveries = len(org.delivered) - before_last
        expected = world.expected_keys | late.expected_keys | calls.expected_keys
        unmatched = world.unmatched_keys | late.unmatched_keys | calls.unmatched_keys
        shared = world.shared_keys | late.shared_keys
        items = world.total_messages + late.total_messages + calls.calls

        def quiet() -> bool:
            # Every item has an outcome (they commit with the cursors), every file moved aside.
            return outcome_total(org.db) >= items and not any(
                p.suffix == ".csv" for p in calls.folder.iterdir()
            )

        daemon.until("quiescence", quiet, QUIESCE_LIMIT)
        code, drained = daemon.terminate()
        assert code == 0, daemon.tail()
        assert drained < DRAIN_LIMIT
    finally:
        for d in daemons:
            d.stop()
        org.sb.faults.clear()
    elapsed = time.monotonic() - began

    # Every activity exactly once, the very records the ledger names.
    tasks = task_keys(org.sb)
    counted = Counter(k for k, _ in tasks)
    assert [k for k, n in counted.items() if n > 1] == []
    assert len(tasks) == org.sb.count("Task") == len(expected)
    assert set(counted) == expected, (
        f"missing {len(expected - set(counted))}, unexpected {len(set(counted) - expected)}"
    )
    ledger, sightings = ledger_rows(org.db)
    assert ledger == dict(tasks)
    # One sighting per (key, mailbox): shared mail seen by both its mailboxes, calls once.
    assert len(sightings) == len(expected) + len(shared)
    by_key = Counter(k for k, _ in sightings)
    assert {k for k, n in by_key.items() if n == 2} == shared

    report = syncd_status(org.config, org.env)
    assert report["dead_letters_open"] == 0
    assert report["unmatched_total"] == len(unmatched)
    # Outcome counts commit with the cursor: replays after the kills never count twice.
    outcomes: Counter[str] = Counter()
    for unit in report["units"]:
        outcomes.update(unit["counts"])
    assert outcomes == {
        "written": len(expected),
        "already_written": len(shared),
        "skipped:bulk_mail": world.skipped + late.skipped,
        "unmatched": len(unmatched),
    }
    files = scenario.call_files + scenario.late_call_files
    assert sorted(p.name for p in (calls.folder / "processed").iterdir()) == [
        f"calls-{n:04d}.csv" for n in range(files)
    ]

    # Every process started and became ready; every kill found it running (Daemon.kill);
    # the last drained; nothing failed with a traceback.
    restarts = len(daemons) - 1
    assert restarts == len(plan)
    for d in daemons:
        text_ = d.log_path.read_text(errors="replace")
        assert "Traceback" not in text_, f"{d.log_path.name}: {text_[-3000:]}"
        assert org.sb.client_secret not in text_
    assert "drained" in daemons[-1].log_path.read_text()
    landed = Counter(k.landed for k in plan)
    by_kind = Counter(f"{k.kind}: {k.landed}" for k in plan)
    takeovers = [k.takeover for k in plan if k.takeover is not None]
    sys.stderr.write(
        f"\nrun chaos ({org.db.dialect.name}, seed {seed()}): {len(plan)} kills, {restarts} "
        f"restarts (ready in at most {max(k.ready_after for k in plan):.1f}s), "
        f"{dict(sorted(by_kind.items()))}; {sum(k.cut_off for k in plan)} Tasks cut off from "
        f"their commit; {len(org.delivered)} deliveries while running ({last_deliveries} after "
        f"the last restart); {len(takeovers)} kills left leases, taken over in at most "
        f"{max(takeovers, default=0):.1f}s (expiry {DEFAULT_TTL.total_seconds():.0f}s); "
        f"{len(tasks)} tasks; {elapsed:.1f}s\n"
    )
    assert landed[MID_WRITE] >= 1, "no kill cut a batch off between its upsert and its commit"
    assert last_deliveries >= 1, "nothing was appended for the last process"
    assert takeovers, "no kill left a lease behind: the takeover was never exercised"
    assert max(takeovers) < TAKEOVER_LIMIT


def outcome_total(db: Engine) -> int:
    """Items with a committed outcome (written, already written, skipped, unmatched…)."""
    with db.connect() as conn:
        total = conn.execute(text("SELECT SUM(count) FROM outcome_counts")).scalar_one()
    return int(total or 0)


def more_tasks_than(sb: Any, count: int) -> Callable[[], bool]:
    """True once the org holds more than ``count`` Tasks."""
    return lambda: sb.count("Task") > count


def released(db: Engine, leases: dict[str, str]) -> Callable[[], bool]:
    """True once no unit in ``leases`` is held by the holder it names any more."""
    return lambda: not set(leases.items()) & set(held_leases(db).items())


# -- the pid-space rule on its own -----------------------------------------------------------


def test_a_lease_holder_is_dead_only_when_its_pid_is_gone_from_this_pid_space() -> None:
    me = new_worker_id()
    host, _pid, space, _token = me.split(":")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert holder_is_dead(f"{host}:{gone.pid}:{space}:abc123", me)
        assert not holder_is_dead(f"{host}:{alive.pid}:{space}:abc123", me)
        # Another pid space (machine, container, boot): never judged, whatever its pid.
        assert not holder_is_dead(f"{host}:{gone.pid}:0000beef:abc123", me)
        assert not holder_is_dead(f"{host}:{gone.pid}:-:abc123", me)
        # This process's own pid (another worker in it, e.g. a thread) and foreign ids.
        assert not holder_is_dead(f"{host}:{os.getpid()}:{space}:abc123", me)
        assert not holder_is_dead(me, me)
        assert not holder_is_dead("worker-a", me)
    finally:
        alive.kill()
        alive.wait()
    # Reaped: gone now.
    assert holder_is_dead(f"{host}:{alive.pid}:{space}:abc123", me)


def test_a_worker_takes_over_a_dead_holders_unit_at_once_and_never_a_live_ones(
    tmp_path: Path,
) -> None:
    me = new_worker_id()
    host, _pid, space, _token = me.split(":")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead_holder = f"{host}:{gone.pid}:{space}:dead00"
    live_holder = f"{host}:{alive.pid}:{space}:live00"
    worked: list[str] = []
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        try:
            for holder, mailbox in (
                (dead_holder, "a@ourco.example"),
                (live_holder, "b@ourco.example"),
            ):
                assert store.leases.acquire(holder, [f"mail/{mailbox}"], limit=1, ttl=DEFAULT_TTL)
            report = Worker(store, worker_id=me).work(
                [("mail", "a@ourco.example"), ("mail", "b@ourco.example")],
                lambda _c, mailbox, _stop: worked.append(mailbox),
            )
            held = {lease.unit_key: lease.holder for lease in store.leases.all()}
        finally:
            alive.kill()
            alive.wait()
    # The dead holder's unit was worked in this round, long before its 2-minute expiry; the
    # live holder's unit stays with it.
    assert worked == ["a@ourco.example"]
    assert report.done == ["mail/a@ourco.example"]
    assert held == {"mail/a@ourco.example": None, "mail/b@ourco.example": live_holder}
