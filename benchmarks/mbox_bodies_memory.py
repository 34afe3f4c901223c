"""Peak RSS of an mbox import with ``capture_body = true`` and 50 MB messages.

Eight messages of ``--size-mb`` (default 50) MB each, mostly a base64 attachment after a short
text part, are written to a temporary mbox; the real :class:`~connectors.mbox.MboxConnector`
pulls it to the end with ``capture_body = true``, cursor to cursor as the runner does, in this
process. The process's RSS high-water mark (VmHWM) is reset with ``/proc/self/clear_refs``
after the file is written, so the peak is the import's. Run once with the default budget
(``capture.batch_bytes`` 64 MB, ``capture.max_message_bytes`` 10 MB) and, with
``--unbounded``, with both budgets set past the file's size (what the importer did before it
had them: whole messages, as many as the page size). Prints one JSON line per run and appends
a row to docs/benchmarks.md under "## mbox memory with bodies".

    .venv/bin/python benchmarks/mbox_bodies_memory.py [--size-mb 50] [--unbounded] [--no-append]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from _report import append_row, stamp
from mbox_import import _reset_peak, _status_kb

from connectors.base import ConnectorContext
from connectors.mbox import MboxConnector, MboxSettings
from syncd.config import CaptureConfig

MAILBOX = "rep@acme.example"
MESSAGES = 8
SECTION = "## mbox memory with bodies"
HEADER = (
    "| date | commit | messages x MB | budget (batch / message MB) | batches | activities |"
    " skipped | peak RSS MB | peak / largest message |\n"
    "|---|---|---|---|---|---|---|---|---|\n"
)
NOTE = (
    "Eight messages of 50 MB each (a short text part, then a base64 attachment) in one mbox,"
    " pulled to the end by MboxConnector with capture_body = true in this process; peak RSS is"
    " the process's VmHWM during the import (reset after writing the file). 'unbounded' sets"
    " both budgets past the file size: the importer before it had them. Target: under 300 MB.\n\n"
)


def write_mbox(path: Path, size_mb: int) -> None:
    """Eight messages of ``size_mb`` MB, streamed to disk a line at a time."""
    line = b"QUJD" * 19 + b"\n"  # 77 bytes of base64
    lines = size_mb * 1024 * 1024 // len(line)
    when = format_datetime(datetime.now(UTC) - timedelta(days=1)).encode()
    with path.open("wb") as out:
        for i in range(MESSAGES):
            out.write(
                b"From buyer@globex.com Sun Mar  1 09:00:00 2026\n"
                b"From: Buyer <buyer@globex.com>\nTo: Rep <" + MAILBOX.encode() + b">\n"
                b"Subject: Signed contract " + str(i).encode() + b"\n"
                b"Date: " + when + b"\n"
                b"Message-ID: <big-" + str(i).encode() + b"@globex.com>\n"
                b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
                b"--b\nContent-Type: text/plain\n\nPlease find the contract attached.\n"
                b"--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
            )
            for _ in range(lines):
                out.write(line)
            out.write(b"--b--\n\n")


def run(path: Path, size_mb: int, unbounded: bool) -> dict[str, object]:
    """Pull the file to the end; the counts and the peak."""
    capture = CaptureConfig(capture_body=True)
    if unbounded:
        past = path.stat().st_size * 2
        capture = CaptureConfig(capture_body=True, batch_bytes=past, max_message_bytes=past)
    settings = MboxSettings(type="mbox", name="import", path=str(path), mailbox=MAILBOX)
    connector = MboxConnector(settings, ConnectorContext(capture=capture))
    _reset_peak()
    began = time.monotonic()
    cursor, batches, activities, skipped = None, 0, 0, 0
    while True:
        batch = connector.pull(MAILBOX, cursor)
        batches += 1
        activities += len(batch.activities)
        skipped += len(batch.skips)
        cursor = batch.next_cursor
        if not batch.more:
            break
    peak_mb = _status_kb("VmHWM") / 1024
    return {
        "messages": MESSAGES,
        "message_mb": size_mb,
        "budget": "unbounded" if unbounded else
                  f"{capture.batch_bytes >> 20} / {capture.max_message_bytes >> 20}",
        "batches": batches,
        "activities": activities,
        "skipped": skipped,
        "peak_rss_mb": round(peak_mb),
        "peak_per_message": round(peak_mb / size_mb, 2),
        "seconds": round(time.monotonic() - began, 1),
    }  # fmt: skip


def main() -> None:
    """Write the file, import it, print and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--unbounded", action="store_true")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bodies.mbox"
        write_mbox(path, args.size_mb)
        result = run(path, args.size_mb, args.unbounded)
    print(json.dumps(result))
    if not args.no_append:
        row = (
            f"{stamp()} {MESSAGES} x {args.size_mb} | {result['budget']} | {result['batches']} |"
            f" {result['activities']} | {result['skipped']} | {result['peak_rss_mb']} |"
            f" {result['peak_per_message']} |\n"
        )
        append_row(SECTION, HEADER, row, note=NOTE)


if __name__ == "__main__":
    main()
