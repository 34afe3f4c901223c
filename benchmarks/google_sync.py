"""Gmail full and incremental sync cost: HTTP requests and quota units, counted by the sandbox.

A 10,000-message mailbox is synced in full by the real Gmail connector (google-api-python-client
over HTTPS against the Google sandbox, Gmail's 15,000 units per user per minute enforced on a
simulated clock that moves only when the connector waits for Retry-After), then 100 new
messages are synced from history; then 2,000 meetings are synced from Calendar in full and
10 changes incrementally (in the JSON line only). Prints one JSON line and appends a row to
docs/benchmarks.md under "## Google sync" (created when missing; other sections untouched).

    .venv/bin/python benchmarks/google_sync.py [--messages 10000] [--new 100] [--no-append]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from _report import append_row, stamp

from connectors.base import ConnectorContext
from connectors.gmail import GmailConnector, GmailSettings
from connectors.google_calendar import GoogleCalendarConnector, GoogleCalendarSettings
from sandbox.google import GoogleSandbox
from syncd.config import CaptureConfig, SecretRef

SECTION = "## Google sync"
HEADER = (
    "| date | commit | messages | full-sync requests | units per message | seconds waited "
    "(simulated) | new messages | incremental requests |\n|---|---|---|---|---|---|---|---|\n"
)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MAILBOX = "rep@ourco.com"


class SimClock:
    """Simulated time: moves only when the connector sleeps."""

    def __init__(self) -> None:
        self.now = NOW
        self.waited = 0.0

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waited += seconds
        self.now += timedelta(seconds=seconds)


def _deliver(sb: GoogleSandbox, start: int, n: int, base: datetime) -> None:
    for i in range(start, start + n):
        when = base - timedelta(seconds=start + n - i)
        sb.gmail.deliver(
            MAILBOX,
            [("From", f"buyer{i % 50}@globex.com"), ("To", MAILBOX),
             ("Subject", f"Proposal {i}"), ("Date", format_datetime(when)),
             ("Message-ID", f"<bench-{i}@globex.com>")],
            when=when,
        )  # fmt: skip


def run(messages: int, new: int) -> dict[str, Any]:
    """Sync ``messages`` in full then ``new`` incrementally; the figures."""
    clock = SimClock()
    with GoogleSandbox(clock=clock) as sb, tempfile.TemporaryDirectory() as tmp:
        sb.add_user(MAILBOX)
        key = Path(tmp) / "sa.json"
        key.write_text(json.dumps(sb.service_account()))
        key.chmod(0o600)
        settings = GmailSettings(
            type="gmail", name="gmail", mailboxes=(MAILBOX,),
            service_account_key=SecretRef(file=key), api_endpoint=f"{sb.url}/",
            ca_bundle=sb.ca_bundle,
        )  # fmt: skip
        context = ConnectorContext(
            clock=clock, capture=CaptureConfig(internal_domains=["ourco.com"])
        )
        connector = GmailConnector(settings, context, sleep=clock.sleep)
        _deliver(sb, 0, messages, NOW - timedelta(hours=2))
        cursor, captured = None, 0
        while True:
            batch = connector.pull(MAILBOX, cursor)
            captured += len(batch.activities)
            cursor = batch.next_cursor
            if not batch.more:
                break
        full_requests = sum(sb.requests.values())
        units = sb.quota.used[MAILBOX]
        connector_units = connector.quota_used(MAILBOX)  # its own count, to compare
        _deliver(sb, messages, new, NOW)
        sb.reset_counters()
        fresh = 0
        while True:
            batch = connector.pull(MAILBOX, cursor)
            fresh += len(batch.activities)
            cursor = batch.next_cursor
            if not batch.more:
                break
        incremental = sum(sb.requests.values())
        calendar = _calendar(sb, clock, key=key)
        return {
            "benchmark": "google_sync",
            **calendar,
            "messages": messages,
            "captured": captured,
            "full_sync_requests": full_requests,
            "quota_units": units,
            "units_per_message": round(units / messages, 3),
            "connector_quota_units": connector_units,
            "seconds_waited_simulated": clock.waited,
            "new_messages": new,
            "new_captured": fresh,
            "incremental_requests": incremental,
        }


def _calendar(sb: GoogleSandbox, clock: SimClock, *, key: Path) -> dict[str, int]:
    """Calendar: 2,000 meetings in full, then 10 changes, in requests counted by the sandbox."""
    for i in range(2000):
        start = NOW - timedelta(hours=i + 1)
        sb.calendar.add_event(MAILBOX, {
            "id": f"bench{i:06d}", "summary": f"Call {i}",
            "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(minutes=30)).isoformat(), "timeZone": "UTC"},
            "organizer": {"email": MAILBOX},
            "attendees": [{"email": MAILBOX, "responseStatus": "accepted"},
                          {"email": f"buyer{i % 50}@globex.com", "responseStatus": "accepted"}],
        })  # fmt: skip
    settings = GoogleCalendarSettings(
        type="google_calendar", name="gcal", mailboxes=(MAILBOX,),
        service_account_key=SecretRef(file=key), api_endpoint=f"{sb.url}/calendar/v3/",
        ca_bundle=sb.ca_bundle, lookahead_days=0,
    )  # fmt: skip
    context = ConnectorContext(clock=clock, capture=CaptureConfig(internal_domains=["ourco.com"]))
    connector = GoogleCalendarConnector(settings, context, sleep=clock.sleep)
    sb.reset_counters()
    cursor, captured = None, 0
    while True:
        batch = connector.pull(MAILBOX, cursor)
        captured += len(batch.activities)
        cursor = batch.next_cursor
        if not batch.more:
            break
    full = sum(sb.requests.values())
    for i in range(10):
        sb.calendar.update_event(MAILBOX, f"bench{i:06d}", summary=f"Moved {i}")
    sb.reset_counters()
    changed = len(connector.pull(MAILBOX, cursor).activities)
    return {"calendar_events": 2000, "calendar_captured": captured,
            "calendar_full_requests": full, "calendar_changed": changed,
            "calendar_incremental_requests": sum(sb.requests.values())}  # fmt: skip


def append(f: dict[str, Any]) -> None:
    """Append one row under this benchmark's section of docs/benchmarks.md."""
    row = (
        f"{stamp()} {f['messages']} | "
        f"{f['full_sync_requests']} | {f['units_per_message']} | "
        f"{f['seconds_waited_simulated']:.0f} | {f['new_messages']} | "
        f"{f['incremental_requests']} |\n"
    )
    note = (
        "\nRequests counted by the Google sandbox (token, API and batch requests; a batch of"
        " ≤50 `messages.get` is one request). Quota units as Gmail charges them, batched"
        " calls each counted. Targets: ≤250 requests and ≤5.1 units per message for 10,000"
        " messages; ≤5 requests for 100 new ones.\n\n"
    )
    append_row(SECTION, HEADER, row, note=note)


def main() -> int:
    """Run, print the JSON line, append the row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    figures = run(args.messages, args.new)
    sys.stdout.write(json.dumps(figures) + "\n")
    if not args.no_append:
        append(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
