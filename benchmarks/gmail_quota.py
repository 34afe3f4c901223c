"""Gmail first sync of many mailboxes under Google's quotas: failed requests and peak units.

1,000 mailboxes x 400 messages by default: each mailbox's first sync (getProfile, one
messages.list page, 8 batches of 50 messages.get) by the real Gmail connector
(google-api-python-client over HTTPS against the Google sandbox), ``--workers`` mailboxes at a
time on threads of one process, sharing its per-user and per-project token buckets. The sandbox
enforces Google's current figures for a new Cloud project
(https://developers.google.com/workspace/gmail/api/reference/quota, read for this benchmark:
1,200,000 units per project per minute and 6,000 per user per minute for projects created on or
after May 1, 2026; older projects may keep 15,000 per user), the connector is configured with
the same, and time is simulated (:class:`VirtualTime`): it moves only when every worker is
waiting, to the earliest moment one of them waits for, so the figures do not depend on the
machine's speed. Failed requests are
every refusal the sandbox answered (per user, per project, concurrent) plus any error the
connector raised. Peaks are the most units the sandbox charged in one clock minute, for the
whole project and for any one user. Prints one JSON line and appends a row to
docs/benchmarks.md under "## Gmail first sync under quota".

    .venv/bin/python benchmarks/gmail_quota.py [--mailboxes 1000] [--messages 400] [--no-append]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from _report import append_row, stamp
from google_sync import NOW

from connectors.base import ConnectorContext
from connectors.gmail import GmailConnector, GmailSettings
from sandbox.google import GoogleSandbox
from syncd.config import SecretRef
from syncd.errors import SyncdError

SECTION = "## Gmail first sync under quota"
NOTE = (
    "The real Gmail connector's first sync of every mailbox against the Google sandbox, which "
    "enforces the per-project and per-user minutes (and concurrent requests) with Google's "
    "reasons; simulated time. Quota figures: Google's current ones for a new Cloud project "
    "(1,200,000 units per project per minute, 6,000 per user per minute since May 2026; the "
    "connector's defaults). Peaks: the most units charged in one clock minute. Target: 0 failed "
    "requests.\n\n"
)
HEADER = (
    "| date | commit | mailboxes x messages | captured | requests | failed requests | units "
    "| simulated minutes | peak units/min, project (limit) | peak units/min, one user (limit) |\n"
    "|---|---|---|---|---|---|---|---|---|---|\n"
)
USER_LIMIT, PROJECT_LIMIT = 6_000, 1_200_000


class VirtualTime:
    """A clock for worker threads: time moves only when every live worker is waiting."""

    def __init__(self, start: datetime, workers: int) -> None:
        self.now = start
        self._running = workers
        self._wakeups: list[tuple[datetime, int]] = []
        self._ids = itertools.count()
        self._cond = threading.Condition()

    def __call__(self) -> datetime:
        return self.now

    def _advance(self) -> None:
        if self._running or not self._wakeups:
            return
        self.now = max(self.now, self._wakeups[0][0])
        while self._wakeups and self._wakeups[0][0] <= self.now:
            heapq.heappop(self._wakeups)
            self._running += 1  # counted here, so no one advances before it runs again
        self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of virtual time."""
        with self._cond:
            wake = self.now + timedelta(seconds=seconds)
            heapq.heappush(self._wakeups, (wake, next(self._ids)))
            self._running -= 1
            self._advance()
            while self.now < wake:
                self._cond.wait()

    def done(self) -> None:
        """A worker has finished."""
        with self._cond:
            self._running -= 1
            self._advance()


def run(mailboxes: int, messages: int, workers: int) -> dict[str, Any]:
    """The first sync of ``mailboxes`` x ``messages`` on ``workers`` threads; the figures."""
    clock = VirtualTime(NOW, workers)
    reps = [f"rep{i:04d}@ourco.com" for i in range(mailboxes)]
    with GoogleSandbox(clock=clock) as sb, tempfile.TemporaryDirectory() as tmp:
        sb.quota.limits |= {"gmail": USER_LIMIT, "gmail_project": PROJECT_LIMIT}
        for n, rep in enumerate(reps):
            sb.add_user(rep)
            for i in range(messages):
                when = NOW - timedelta(minutes=i + 1)
                sb.gmail.deliver(rep, [
                    ("From", f"buyer{i % 50}@globex.com"), ("To", rep),
                    ("Subject", f"Proposal {i}"), ("Date", format_datetime(when)),
                    ("Message-ID", f"<q-{n}-{i}@globex.com>")], when=when)  # fmt: skip
        key = Path(tmp) / "sa.json"
        key.write_text(json.dumps(sb.service_account()))
        key.chmod(0o600)
        settings = GmailSettings(
            type="gmail", name="gmail", mailboxes=tuple(reps),
            service_account_key=SecretRef(file=key), api_endpoint=f"{sb.url}/",
            ca_bundle=sb.ca_bundle, quota_user_per_minute=USER_LIMIT,
            quota_project_per_minute=PROJECT_LIMIT,
        )  # fmt: skip
        context = ConnectorContext(clock=clock, sleep=clock.sleep)
        connector = GmailConnector(settings, context, sleep=clock.sleep)
        sb.reset_counters()
        start, captured, errors = clock.now, [0], [0]
        queue: Iterator[str] = iter(reps)
        lock = threading.Lock()

        def worker() -> None:
            try:
                while True:
                    with lock:
                        rep = next(queue, None)
                    if rep is None:
                        return
                    cursor = None
                    while True:
                        try:
                            batch = connector.pull(rep, cursor)
                        except SyncdError:
                            errors[0] += 1
                            break
                        captured[0] += len(batch.activities)
                        cursor = batch.next_cursor
                        if not batch.more:
                            break
            finally:
                clock.done()

        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        minutes = (clock.now - start).total_seconds() / 60
        return {
            "benchmark": "gmail_quota",
            "mailboxes": mailboxes,
            "messages_per_mailbox": messages,
            "workers": workers,
            "captured": captured[0],
            "requests": sum(sb.requests.values()),
            "refused": dict(sb.quota.refused),
            "failed_requests": sum(sb.quota.refused.values()) + errors[0],
            "units": sum(sb.quota.used.values()),
            "simulated_minutes": round(minutes, 2),
            "peak_project_units_per_minute": sb.quota.peak_project,
            "project_limit": PROJECT_LIMIT,
            "peak_user_units_per_minute": sb.quota.peak_user,
            "user_limit": USER_LIMIT,
        }


def main() -> int:
    """Run, print the JSON line, append the row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    result = run(args.mailboxes, args.messages, args.workers)
    print(json.dumps(result))
    if not args.no_append:
        row = (
            f"{stamp()} {result['mailboxes']:,} x {result['messages_per_mailbox']} "
            f"({result['workers']} at a time) "
            f"| {result['captured']:,} | {result['requests']:,} | {result['failed_requests']} "
            f"| {result['units']:,} | {result['simulated_minutes']} "
            f"| {result['peak_project_units_per_minute']:,} ({PROJECT_LIMIT:,}) "
            f"| {result['peak_user_units_per_minute']:,} ({USER_LIMIT:,}) |\n"
        )
        append_row(SECTION, HEADER, row, note=NOTE)
    return 0 if result["failed_requests"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
