"""Exactly once under SIGKILL: a 5,000-message pass killed 20 times, then resumed to the end.

``syncd sync`` runs as a subprocess against a sandbox org in ANOTHER process, so a kill loses
only syncd's own state, as a crash in production would. Kill delays come from a seeded RNG:
a little under the measured start-up time (sign-in, directory load) up to start-up plus a
slice of the remaining work, so the kills spread across reading, upserting and committing for
the whole pass instead of all landing in the first batches.

After every kill the sandbox's Task count is compared with the ledger: more Tasks than ledger
keys means the kill landed after an upsert and before the commit of its ledger rows and cursor
— the window the design's write-then-commit order exists for. At the end the org must hold
exactly the expected Tasks (each key once, the key set computed independently from the
generated Message-IDs), the ledger the same number, the unmatched queue each stranger once,
and no open dead letters.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crash_world import (
    SandboxProcess,
    World,
    syncd_command,
    syncd_env,
    write_config,
    write_mail,
    write_seed,
)

from syncd.state import Store

log = logging.getLogger(__name__)

SEED = 20261123
KILLS = 20
TOTAL_MESSAGES = 5_000
SHARED = 300  # messages in two reps' mailboxes: one Task each
BULK = 100  # List-Unsubscribe: skipped as bulk mail
STRANGERS = 100  # personal-domain senders nobody knows: unmatched


@dataclass
class Org:
    """The running sandbox, the generated world and a config pointing at both."""

    sandbox: SandboxProcess
    world: World
    config: Path
    state: Path
    env: dict[str, str]


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    rng = random.Random(SEED)
    contacts = write_seed(tmp_path / "seed", rng, reps=3, accounts=60)
    (tmp_path / "mail").mkdir()
    world = write_mail(
        tmp_path / "mail",
        rng,
        contacts,
        reps=3,
        total=TOTAL_MESSAGES,
        shared=SHARED,
        bulk=BULK,
        strangers=STRANGERS,
        now=datetime.now(UTC),
    )
    sandbox = SandboxProcess(tmp_path / "seed")
    try:
        state = tmp_path / "state.db"
        config = tmp_path / "syncd.toml"
        write_config(config, f"sqlite:///{state}", sandbox.info, world)
        yield Org(sandbox, world, config, state, syncd_env(sandbox.info["client_secret"]))
    finally:
        sandbox.stop()


def ledger_keys(state: Path) -> set[str]:
    """Ledger keys as the file holds them, read without migrating it (it may be half-made)."""
    if not state.exists():
        return set()
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT key FROM ledger")}
    except sqlite3.OperationalError:  # the kill came before the schema existed
        return set()
    finally:
        db.close()


def ledger_rows(state: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The ledger as key → Salesforce id, and its sightings as (key, connector)."""
    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        ledger = dict(db.execute("SELECT key, salesforce_id FROM ledger").fetchall())
        sightings = db.execute("SELECT key, connector FROM ledger_sightings").fetchall()
        return ledger, [(k, c) for k, c in sightings]
    finally:
        db.close()


def run_syncd(org: Org, *args: str, kill_after: float | None = None) -> int | None:
    """Run ``syncd ARGS``, SIGKILLed after ``kill_after`` s; its exit code, None if killed."""
    proc = subprocess.Popen(
        syncd_command(*args, "-c", str(org.config)),
        env=org.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        proc.kill()  # SIGKILL: no handler, no flush, no rollback
        proc.wait(10)
        return None


def measure_startup(org: Org) -> float:
    """Seconds a ``syncd sync`` over one empty mbox takes, on a state store of its own."""
    scratch = org.config.parent / "startup"
    scratch.mkdir()
    empty = scratch / "empty.mbox"
    empty.write_bytes(b"")
    lines = org.config.read_text().split("[[connectors]]")[0]
    state = scratch / "state.db"
    lines = lines.replace(f"sqlite:///{org.state}", f"sqlite:///{state}")
    config = scratch / "syncd.toml"
    config.write_text(
        lines + f'[[connectors]]\ntype = "mbox"\nname = "empty"\npath = "{empty}"\n'
        f'mailbox = "{org.world.reps[0]}"\n'
    )
    began = time.monotonic()
    subprocess.run(
        syncd_command("sync", "-c", str(config)),
        env=org.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.monotonic() - began


@pytest.mark.slow
def test_twenty_sigkills_leave_every_record_exactly_once(org: Org) -> None:
    world = org.world
    expected = world.expected_keys
    assert len(expected) == TOTAL_MESSAGES - SHARED - BULK - STRANGERS
    assert len(world.shared_keys) == SHARED
    assert world.total_messages == TOTAL_MESSAGES

    started = time.monotonic()
    assert run_syncd(org, "setup", "salesforce") == 0
    # What a sync costs before its first write (imports, migrations, sign-in, directory
    # load, one pull), measured on an empty mailbox with a throwaway state store.
    startup = measure_startup(org)

    rng = random.Random(SEED + 1)
    landed: Counter[str] = Counter()
    worked = 0.0
    upserted = 0
    for kill in range(KILLS):
        before = org.sandbox.task_count()
        remaining = len(expected) - before
        # A slice of the remaining work per kill, from the throughput seen so far, smoothed by
        # a prior guess (the whole pass in ten start-ups) that weighs one start-up's time.
        prior = len(expected) / (10 * startup)
        rate = (upserted + prior * startup) / (worked + startup)
        span = 2 * remaining / rate / (KILLS - kill + 1)
        delay = rng.uniform(0.8 * startup, startup + span)
        # No run writes within its first second (start-up alone is longer), so rounding the
        # start up to a whole second keeps the previous run's writes out of this one's.
        run_start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        code = run_syncd(org, "sync", kill_after=delay)
        touched = org.sandbox.touched_since(run_start)
        ledger = ledger_keys(org.state)
        upserted += len(touched)
        worked += max(0.1, delay - startup)
        if code is not None:
            landed["finished before the kill"] += 1
        elif touched - ledger:
            landed["after an upsert, before its commit"] += 1
        elif touched:
            landed["after a commit"] += 1
        else:
            landed["before the first upsert"] += 1
        log.info(
            "kill %d at %.2fs: %d tasks before, %d upserted, %d of them not in the ledger",
            kill, delay, before, len(touched), len(touched - ledger),
        )  # fmt: skip

    assert run_syncd(org, "sync") == 0  # the resumed pass runs to the end
    elapsed = time.monotonic() - started

    count = org.sandbox.task_count()
    tasks = org.sandbox.tasks()
    keys = [key for key, _ in tasks]
    duplicates = [k for k, n in Counter(keys).items() if n > 1]
    assert duplicates == []
    assert count == len(keys) == len(expected)
    assert set(keys) == expected
    store = Store.open(f"sqlite:///{org.state}")
    try:
        assert store.ledger.count() == len(expected)
    finally:
        store.close()
    ledger, sightings = ledger_rows(org.state)
    assert ledger == dict(tasks)  # every ledger row names the very record the org holds
    # one sighting per (key, mailbox): the shared messages were seen by both their mailboxes
    assert len(sightings) == len(expected) + len(world.shared_keys)
    by_key = Counter(key for key, _ in sightings)
    assert {k for k, n in by_key.items() if n == 2} == world.shared_keys

    status = subprocess.run(
        syncd_command("status", "-c", str(org.config), "--json"),
        env=org.env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(status.stdout)
    assert report["dead_letters_open"] == 0
    assert report["unmatched_total"] == len(world.unmatched_keys)
    # Outcome counts commit with the cursor, so replays after a kill never count twice.
    counts: Counter[str] = Counter()
    for unit in report["units"]:
        counts.update(unit["counts"])
    assert counts == {
        "written": len(expected),
        "already_written": len(world.shared_keys),
        "skipped:bulk_mail": BULK,
        "unmatched": STRANGERS,
    }

    # The kills must have exercised the dangerous window, not only start-up.
    sys.stderr.write(
        f"\ncrash test: {dict(landed)}; {count} tasks; start-up {startup:.1f}s; "
        f"total {elapsed:.1f}s\n"
    )
    assert landed["after an upsert, before its commit"] >= 1
    assert landed["finished before the kill"] < KILLS // 2
