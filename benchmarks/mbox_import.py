"""Memory of a large mbox import: peak RSS while a 1,000,000-message file is pulled to the end.

A header-only mbox of ``--messages`` messages (unique Message-IDs, dates spread over the year
before a fixed "now", a mix of external, internal-only and role-sender mail) is written to a
temporary directory, streaming. The real :class:`~connectors.mbox.MboxConnector` then pulls it
batch after batch, cursor to cursor as the runner does, and each batch goes through the
privacy screen; only counts are kept. The process's RSS high-water mark (VmHWM) is reset with
``/proc/self/clear_refs`` after generation, so the peak reported is the import's; RSS is also
sampled at ten points along the import to show it stays flat. Prints one JSON line and appends
a row to docs/benchmarks.md under "## mbox import memory" (created when missing).

    .venv/bin/python benchmarks/mbox_import.py [--messages 1000000] [--no-screen] [--no-append]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace

from _report import append_row, stamp

from connectors.base import ConnectorContext
from connectors.mbox import MboxConnector, MboxSettings
from syncd.capture.privacy import PrivacyRules, screen

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
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
REP = "rep@ourco.com"
CHUNK = 10_000  # messages written per write() call: bounded memory while generating


def _status_kb(field: str) -> int:
    """One ``kB`` field of /proc/self/status (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


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
    capture = SimpleNamespace(
        internal_domains=("ourco.com",), capture_body=False, default_region=None
    )
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


def _append(figures: dict[str, object]) -> None:
    row = (
        f"{stamp()} {figures['messages']} | {figures['file_mb']} | {figures['batches']} |"
        f" {figures['activities']} | {figures['skips']} | {figures['peak_rss_mb_import']} |"
        f" {figures['rss_mb_samples_min']} | {figures['rss_mb_samples_max']} |"
        f" {figures['peak_rss_mb_before_generation']} |\n"
    )
    append_row(SECTION, HEADER, row, note=NOTE)


def main() -> None:
    """Generate, import, measure; print one JSON line and append a row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--no-screen", action="store_true", help="skip the privacy screen")
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
    before_kb = _status_kb("VmHWM")
    with tempfile.TemporaryDirectory(prefix="syncd-mbox-") as tmp:
        path = Path(tmp) / "export.mbox"
        size = generate(path, args.messages)
        after_generation_kb = _status_kb("VmHWM")
        _reset_peak()
        result = run_import(path, args.messages, with_screen=not args.no_screen)
        peak_kb = _status_kb("VmHWM")
    samples = result["rss_samples_mb"]
    assert isinstance(samples, list)
    figures = {
        "benchmark": "mbox_import",
        "messages": args.messages,
        "file_mb": round(size / 1_048_576),
        "screen": not args.no_screen,
        **result,
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
