"""Memory of a large mbox import: peak RSS while a 1,000,000-message file is pulled to the end.

A header-only mbox of ``--messages`` messages (unique Message-IDs, dates spread over the year
before a fixed "now", a mix of external, internal-only and role-sender mail) is written to a
temporary directory, streaming. The real :class:`~connectors.mbox.MboxConnector` then pulls it
batch after batch, cursor to cursor as the runner does, and each batch goes through the
privacy screen; only counts are kept. The process's RSS high-water mark (VmHWM) is reset with
``/proc/self/clear_refs`` after generation, so the peak reported is the import's; RSS is also
sampled at ten points along the import to show it stays flat. Prints one JSON line and appends
a row to docs/benchmarks.md under "## mbox import memory" (created when missing).

``--write`` measures the whole write path instead: the Salesforce sandbox runs in its own
process (``python -m sandbox serve --seed DIR``, so its records are not in syncd's RSS), seeded
with the mailbox owner as a User and the generator's customers as Accounts (Website domain) and
Contacts; a syncd.toml names the mbox connector, a SQLite state store in the temporary
directory and the org (client_credentials, the secret through an environment variable, the
sandbox CA). ``syncd setup salesforce`` runs, then the real ``syncd sync`` as a subprocess,
whose /proc/<pid>/status (VmRSS; VmHWM as the peak) is read every second until it exits, with
the org's Task count every few seconds for the progress points. Afterwards every Task's
``Syncd_Key__c`` is read back and compared with the keys of the messages the generator made to
be written (the external ones). Salesforce calls are the sandbox's API-usage counter (logins
excluded) across the sync, less this script's own progress queries.

    .venv/bin/python benchmarks/mbox_import.py [--messages 1000000] [--no-screen] [--no-append]
    .venv/bin/python benchmarks/mbox_import.py --write [--messages 1000000] [--no-append]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.process import SandboxProcess

from _report import ROOT, append_row, stamp

from connectors.base import ConnectorContext
from connectors.mbox import MboxConnector, MboxSettings
from syncd.capture.privacy import PrivacyRules, screen
from syncd.config import CaptureConfig

SECTION = "## mbox import memory"
NOTE = (
    "\nA header-only mbox (unique Message-IDs, dates over one year; 90% external mail, 5%"
    " internal-only, 5% from a role sender) pulled to the end through MboxConnector, cursor to"
    " cursor, with the privacy screen on each batch; only counts kept. Peak RSS is this"
    " process's VmHWM during the import (reset with /proc/self/clear_refs after generating the"
    " file); the RSS samples are taken at ten evenly spaced points along the import."
    " Activities are what the screen kept; skips are the connector's and the screen's.\n\n"
)
HEADER = (
    "| date | commit | messages | file MB | batches | activities | skips | peak RSS MB (import) |"
    " RSS MB samples min | RSS MB samples max | RSS MB before generation |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|\n"
)
#: Since the ``--write`` mode: one table for both modes, the mode in its own column.
NOTE_BOTH = (
    "\nFrom here one table holds both modes. *in-process*: as above (connector + privacy screen"
    " in this process, nothing written; peak RSS is this process's during the import; seconds"
    " are the import's). *write* (`--write`): the whole write path, the real"
    " `syncd sync -c syncd.toml` as a subprocess (mbox connector → screen → match → plan →"
    " Salesforce writer → SQLite ledger) against the Salesforce sandbox in its own process,"
    " seeded with the owner as a User, 500 Accounts (Website = the customers' domains) and the"
    " 5,000 customer addresses as Contacts. Activities and skips are syncd's own outcome counts."
    " Peak RSS is the syncd process's VmHWM; the RSS samples are its VmRSS when the org's Task"
    " count first reached 5 %, 15 %, … 95 % of the expected Tasks. Tasks written are the org's:"
    " every `Syncd_Key__c` is read back and compared with the expected keys (the external"
    " messages'); 'yes' means no key twice and none missing or extra. SF calls are the"
    " sandbox's API usage across the sync (logins not counted, this script's progress queries"
    " taken off). The sandbox's RSS is informational (its own process, holding every record)."
    " The machine's 2 cores are shared with other work: seconds and activities/s are"
    " indicative only.\n\n"
)
HEADER_BOTH = (
    "| date | commit | mode | messages | file MB | activities | skips | Tasks written (unique)"
    " | SF calls | seconds | activities/s | peak RSS MB | RSS MB samples min | RSS MB samples max"
    " | sandbox RSS MB (own process) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)
INTERNAL = "ourco.com"
CUSTOMERS = 5000  # distinct customer addresses, contact{n}@customer{n % 500}.com
CUSTOMER_DOMAINS = 500
SECRET_ENV = "SYNCD_BENCH_SF_SECRET"  # noqa: S105 (a variable name)
TASK_POLL_SECONDS = 1.0
NA = "n/a"  # a cell the mode does not measure
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
REP = "rep@ourco.com"
CHUNK = 10_000  # messages written per write() call: bounded memory while generating


def _status_kb(field: str, pid: int | str = "self") -> int:
    """One ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status (Linux only)")


def _mb(kb: int) -> int:
    return round(kb / 1024)


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def _message(i: int, total: int) -> bytes:
    """Message ``i``: headers only, as a mail client's export of a sales rep's mailbox holds."""
    when = NOW - timedelta(seconds=(i * 31_536_000) // total + 60)
    customer = f"contact{i % 5000}@customer{i % 500}.com"
    kind = i % 20
    if kind == 0:  # internal-only mail: the screen skips it
        sender, to = REP, f"colleague{i % 40}@ourco.com"
    elif kind == 1:  # a role sender (bulk or automated mail): the screen skips it
        sender, to = f"noreply@vendor{i % 50}.com", REP
    elif kind % 2:
        sender, to = customer, REP
    else:
        sender, to = REP, customer
    asctime = when.strftime("%a %b %d %H:%M:%S %Y")
    text = (
        f"From {sender} {asctime}\n"
        f"From: {sender}\n"
        f"To: {to}\n"
        f"Subject: Re: proposal {i % 997} follow-up\n"
        f"Date: {format_datetime(when)}\n"
        f"Message-ID: <m{i}.{i % 7919}@mail.example.com>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "Thanks, see you Tuesday.\n"
        "\n"
    )
    return text.encode()


def generate(path: Path, total: int) -> int:
    """Write ``total`` messages to ``path`` in chunks; returns the file size in bytes."""
    with path.open("wb") as fh:
        for start in range(0, total, CHUNK):
            fh.write(b"".join(_message(i, total) for i in range(start, min(total, start + CHUNK))))
    return path.stat().st_size


def run_import(path: Path, total: int, *, with_screen: bool) -> dict[str, object]:
    """Pull ``path`` to the end through the connector; counts and RSS samples only."""
    capture = CaptureConfig(internal_domains=("ourco.com",))
    context = ConnectorContext(clock=lambda: NOW, capture=capture, since=NOW - timedelta(days=400))
    settings = MboxSettings(type="mbox", name="mbox-import", path=str(path), mailbox=REP)
    connector = MboxConnector(settings, context)
    rules = PrivacyRules.from_capture(capture)
    step = max(1, total // 10)
    next_sample = step
    samples: list[int] = []
    seen = activities = batches = 0
    skips: Counter[str] = Counter()
    cursor: str | None = None
    while True:
        batch = connector.pull(REP, cursor)
        batches += 1
        seen += len(batch.activities) + len(batch.skips)
        skips.update(str(skip.reason) for skip in batch.skips)
        if with_screen:
            screened = screen(batch.activities, rules)
            activities += len(screened.kept)
            skips.update(screened.counts)
        else:
            activities += len(batch.activities)
        while seen >= next_sample and len(samples) < 10:
            samples.append(_status_kb("VmRSS"))
            next_sample += step
        cursor = batch.next_cursor
        if not batch.more:
            break
    if seen != total or activities + sum(skips.values()) != total:
        raise SystemExit(
            f"count mismatch: {total} written, {seen} pulled,"
            f" {activities} activities + {sum(skips.values())} skips"
        )
    return {
        "pulled": seen,
        "batches": batches,
        "activities": activities,
        "skips": sum(skips.values()),
        "skips_by_reason": dict(sorted(skips.items())),
        "rss_samples_mb": [_mb(kb) for kb in samples],
    }


# -- --write: the real ``syncd sync`` against the sandbox org in its own process -------------


def expected_keys(total: int) -> set[str]:
    """``Syncd_Key__c`` of every message the generator meant to be written: the external mail."""
    from syncd.capture.keys import message_key  # --write only: the in-process figure stays lean

    keys = set()
    for i in range(total):
        if i % 20 >= 2:  # kinds 0 (internal-only) and 1 (role sender) are screened out
            key = message_key(f"<m{i}.{i % 7919}@mail.example.com>")
            assert key is not None
            keys.add(key)
    return keys


def write_seed(folder: Path) -> None:
    """Data Loader CSVs: the mailbox owner, the customers' Accounts (Website) and Contacts."""
    from sandbox.salesforce.values import make_id

    folder.mkdir(parents=True, exist_ok=True)
    # Seeded ids far above the counter the sandbox uses for the records it makes itself.
    accounts = [
        {"Id": make_id("001", 5_000_000 + j), "Name": f"Customer {j}",
         "Website": f"customer{j}.com"}
        for j in range(CUSTOMER_DOMAINS)
    ]  # fmt: skip
    contacts = [
        {"LastName": f"Contact {n}", "Email": f"contact{n}@customer{n % CUSTOMER_DOMAINS}.com",
         "AccountId": accounts[n % CUSTOMER_DOMAINS]["Id"]}
        for n in range(CUSTOMERS)
    ]  # fmt: skip
    users = [{"Username": REP, "Email": REP, "LastName": "Rep", "IsActive": "true"}]
    for name, rows in (("User", users), ("Account", accounts), ("Contact", contacts)):
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def write_config(path: Path, mbox: Path, state: Path, info: dict[str, Any]) -> None:
    """syncd.toml: SQLite state, the sandbox org (secret by env var), one mbox connector."""
    path.write_text(
        f"""[state]
url = "sqlite:///{state}"

[salesforce]
login_url = "{info["url"]}"
auth = "client_credentials"
client_id = "{info["client_id"]}"
client_secret_env = "{SECRET_ENV}"
ca_bundle = "{info["ca_bundle"]}"
email_as = "Task"

[capture]
internal_domains = ["{INTERNAL}"]

[[connectors]]
type = "mbox"
name = "mbox-import"
path = "{mbox}"
mailbox = "{REP}"
since = {(NOW - timedelta(days=400)).date().isoformat()}
"""
    )


def _syncd(*args: str) -> list[str]:
    return [sys.executable, "-m", "syncd.cli", *args]


def run_write(tmp: Path, total: int) -> dict[str, Any]:
    """Seed, configure, ``syncd setup salesforce``, then time and sample ``syncd sync``."""
    path = tmp / "export.mbox"
    size = generate(path, total)
    write_seed(tmp / "seed")
    from sandbox.process import SandboxProcess  # --write only, as the other imports of it

    org = SandboxProcess(tmp / "seed", timeout=300, cwd=ROOT)
    try:
        config = tmp / "syncd.toml"
        write_config(config, path, tmp / "state.db", org.info)
        env = os.environ | {SECRET_ENV: org.info["client_secret"]}
        setup = subprocess.run(
            _syncd("setup", "salesforce", "-c", str(config)),
            env=env, cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if setup.returncode != 0:
            # syncd keeps secrets out of its output, so its own words can be shown.
            tail = (setup.stdout + setup.stderr).strip()[-2000:]
            raise SystemExit(f"syncd setup salesforce failed ({setup.returncode}): {tail}")
        used_before = org.api_used()
        own_before = org.own_calls
        log_path = tmp / "syncd.log"
        out_path = tmp / "syncd.out"
        with log_path.open("w") as err, out_path.open("w") as out:
            began = time.monotonic()
            proc = subprocess.Popen(
                _syncd("sync", "--json", "-c", str(config)),
                env=env, cwd=ROOT, stdout=out, stderr=err,
            )  # fmt: skip
            sampled = sample(proc, org, expected=total - 2 * ((total + 19) // 20))
            seconds = time.monotonic() - began
        used_after = org.api_used()
        # Every request of this script between the two /limits reads (the second included)
        # was counted too; what is left is syncd's.
        own_during = org.own_calls - own_before
        calls = used_after - used_before - own_during
        if proc.returncode != 0:
            raise SystemExit(f"syncd sync exited {proc.returncode}; log: {log_path}")
        passes = json.loads(out_path.read_text().strip().splitlines()[-1])["passes"]
        keys = [key for key, _ in org.tasks()]
        sandbox_peak_kb = _status_kb("VmHWM", org.proc.pid)
    finally:
        org.stop()
    wanted = expected_keys(total)
    unique = set(keys)
    outcomes: Counter[str] = Counter()
    for row in passes:
        outcomes.update(row["outcomes"])
    samples = sampled["at_progress_kb"]
    return {
        "file_mb": round(size / 1_048_576),
        "outcomes": dict(sorted(outcomes.items())),
        "activities": outcomes.get("written", 0),
        "skips": total - outcomes.get("written", 0),
        "tasks_expected": len(wanted),
        "tasks_written": len(keys),
        "tasks_unique_keys": len(unique),
        "keys_unique_and_exact": len(keys) == len(unique) and unique == wanted,
        "salesforce_calls": calls,
        "salesforce_calls_syncd_reported": sum(int(r["salesforce_calls"]) for r in passes),
        "seconds": round(seconds, 1),
        "activities_per_s": round(len(keys) / seconds) if seconds else None,
        "peak_rss_mb_syncd": _mb(sampled["peak_kb"]),
        "rss_mb_samples": [_mb(kb) for kb in samples],
        "rss_mb_samples_min": _mb(min(samples)) if samples else None,
        "rss_mb_samples_max": _mb(max(samples)) if samples else None,
        "rss_mb_per_second_min_max_after_first_point": [
            _mb(sampled["min_kb"]),
            _mb(sampled["max_kb"]),
        ],
        "rss_samples_per_second": sampled["count"],
        "progress_queries": own_during - 1,
        "peak_rss_mb_sandbox": _mb(max(sandbox_peak_kb, sampled["sandbox_max_kb"])),
        "syncd_log_lines": sum(1 for _ in log_path.open()),
    }


def sample(proc: subprocess.Popen[str], org: SandboxProcess, *, expected: int) -> dict[str, Any]:
    """Read the syncd process's VmRSS/VmHWM every second until it exits.

    The org's Task count is read every second at first, then after 1/40 of the time elapsed so
    far (each read scans the sandbox's Tasks; ~135 reads in an 11-minute run); the RSS at the
    first read at or past 5 %, 15 %, … 95 % of ``expected`` is that progress point's sample.
    Per-second samples count from the first progress point on (start-up excluded).
    """
    peak = sandbox_max = 0
    at_progress: list[int] = []
    steady: list[int] = []
    began = next_poll = time.monotonic()
    while proc.poll() is None:
        try:
            now_rss = _status_kb("VmRSS", proc.pid)
            peak = max(peak, _status_kb("VmHWM", proc.pid))
            sandbox_max = max(sandbox_max, _status_kb("VmRSS", org.proc.pid))
        except (FileNotFoundError, ProcessLookupError, RuntimeError):
            break  # exited between poll() and the read
        if at_progress:
            steady.append(now_rss)
        now = time.monotonic()
        if now >= next_poll and len(at_progress) < 10:
            tasks = org.task_count()
            while len(at_progress) < 10 and tasks * 20 >= expected * (2 * len(at_progress) + 1):
                at_progress.append(now_rss)
            next_poll = time.monotonic() + max(TASK_POLL_SECONDS, (now - began) / 40)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(1.0)
    if peak == 0:
        raise SystemExit("syncd sync exited before its RSS could be read")
    return {
        "peak_kb": peak,
        "min_kb": min(steady, default=0),
        "max_kb": max(steady, default=0),
        "count": len(steady),
        "at_progress_kb": at_progress,
        "sandbox_max_kb": sandbox_max,
    }


def _append(figures: dict[str, Any]) -> None:
    """Append the row of either mode to the two-mode table (started under the first one)."""
    if figures.get("mode", "in-process") == "write":
        tasks = (
            f"{figures['tasks_written']} ({'yes' if figures['keys_unique_and_exact'] else 'NO'})"
        )
        cells = [
            "write", figures["messages"], figures["file_mb"], figures["activities"],
            figures["skips"], tasks, figures["salesforce_calls"], figures["seconds"],
            figures["activities_per_s"], figures["peak_rss_mb_syncd"],
            figures["rss_mb_samples_min"], figures["rss_mb_samples_max"],
            figures["peak_rss_mb_sandbox"],
        ]  # fmt: skip
    else:
        cells = [
            "in-process", figures["messages"], figures["file_mb"], figures["activities"],
            figures["skips"], NA, NA, figures.get("seconds", NA),
            figures.get("activities_per_s", NA), figures["peak_rss_mb_import"],
            figures["rss_mb_samples_min"], figures["rss_mb_samples_max"], NA,
        ]  # fmt: skip
    row = f"{stamp()} " + " | ".join(str(c) for c in cells) + " |\n"
    append_row(SECTION, HEADER_BOTH, row, note=NOTE, note_for_new_header=NOTE_BOTH)


def main() -> None:
    """Generate, import, measure; print one JSON line and append a row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--no-screen", action="store_true", help="skip the privacy screen")
    parser.add_argument(
        "--write",
        action="store_true",
        help="the whole write path: syncd sync (subprocess) into the sandbox org (own process)",
    )
    parser.add_argument("--no-append", action="store_true", help="do not touch benchmarks.md")
    parser.add_argument(
        "--append-from",
        type=Path,
        help="append the row of a JSON line saved from an earlier --no-append run, and stop",
    )
    args = parser.parse_args()
    if args.append_from is not None:
        # A long run measured elsewhere (in the background) is recorded without re-running it.
        _append(json.loads(args.append_from.read_text().strip().splitlines()[-1]))
        return
    logging.basicConfig(level=logging.WARNING)
    if args.write:
        with tempfile.TemporaryDirectory(prefix="syncd-mbox-write-") as tmp:
            written = run_write(Path(tmp), args.messages)
        figures: dict[str, Any] = {
            "benchmark": "mbox_import",
            "mode": "write",
            "messages": args.messages,
            **written,
        }
        figures["under_300_mb"] = figures["peak_rss_mb_syncd"] < 300
        sys.stdout.write(json.dumps(figures) + "\n")
        sys.stdout.flush()
        if not args.no_append:
            _append(figures)
        return
    before_kb = _status_kb("VmHWM")
    with tempfile.TemporaryDirectory(prefix="syncd-mbox-") as tmp:
        path = Path(tmp) / "export.mbox"
        size = generate(path, args.messages)
        after_generation_kb = _status_kb("VmHWM")
        _reset_peak()
        began = time.monotonic()
        result = run_import(path, args.messages, with_screen=not args.no_screen)
        seconds = time.monotonic() - began
        peak_kb = _status_kb("VmHWM")
    samples = result["rss_samples_mb"]
    assert isinstance(samples, list)
    figures = {
        "benchmark": "mbox_import",
        "mode": "in-process",
        "messages": args.messages,
        "file_mb": round(size / 1_048_576),
        "screen": not args.no_screen,
        **result,
        "seconds": round(seconds, 1),
        "activities_per_s": round(int(str(result["activities"])) / seconds) if seconds else None,
        "peak_rss_mb_import": _mb(peak_kb),
        "rss_mb_samples_min": min(samples),
        "rss_mb_samples_max": max(samples),
        "peak_rss_mb_before_generation": _mb(before_kb),
        "peak_rss_mb_after_generation": _mb(after_generation_kb),
        "under_300_mb": _mb(peak_kb) < 300,
    }
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()
    if not args.no_append:
        _append(figures)


if __name__ == "__main__":
    main()
