"""What meeting requests in Outlook mail cost: Graph requests with and without invitations.

Runs the real outlook_mail connector (msal + requests over HTTPS) against the Graph sandbox
twice on the same number of messages: once all ordinary mail, once with every 10th message a
meeting request (an ``eventMessageRequest`` whose ``event`` is in the rep's calendar). Counts
are the sandbox's: every request it received (token included), ``$batch`` requests and their
members, concurrency breaches. The figure that matters is members per meeting message (the
documented cost: one) and the HTTP requests they add per 1,000 messages. Prints one JSON line
and appends a row under "## Outlook mail invitations" in docs/benchmarks.md.

    .venv/bin/python benchmarks/graph_invitations.py [--messages 1000] [--no-append]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any

from _report import append_row, stamp
from graph_sync import NOW, REP, FakeClock, _settings

from connectors.base import ConnectorContext
from connectors.outlook_mail import OutlookMailConnector, OutlookMailSettings
from sandbox.graph import GraphSandbox
from sandbox.graph.seed import add_meeting, add_meeting_message, add_message
from syncd.config import CaptureConfig
from syncd.model import Meeting

SECTION = "## Outlook mail invitations"
HEADER = (
    "| date | commit | messages | meeting requests | requests, plain mail | requests, with "
    "invitations | $batch requests | $batch members | members per meeting message | "
    "meetings captured | concurrency breaches |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
)
EVERY = 10


def _fill(sb: GraphSandbox, messages: int, invitations: bool) -> None:
    for i in range(messages):
        mail: dict[str, Any] = dict(
            message_id=f"bench-{i}@customer.example",
            sender=f"buyer{i % 97}@customer.example",
            to=[REP],
            subject=f"Order {i}",
            received=NOW - timedelta(days=20) + timedelta(seconds=i),
        )
        if not invitations or i % EVERY:
            add_message(sb, REP, **mail)
            continue
        start = NOW + timedelta(days=1, hours=i)
        event = add_meeting(
            sb,
            REP,
            ical_uid=f"bench-meeting-{i}@customer.example",
            organizer=str(mail["sender"]),
            attendees=[REP],
            subject=f"Call {i}",
            start=start,
            end=start + timedelta(minutes=30),
        )
        add_meeting_message(sb, REP, event_id=event, **mail)


def _run(messages: int, invitations: bool) -> tuple[dict[str, int], int, int]:
    clock = FakeClock()
    with GraphSandbox(clock=clock.now) as sb:
        _fill(sb, messages, invitations)
        context = ConnectorContext(
            clock=clock.now, capture=CaptureConfig(internal_domains=["ourco.example"])
        )
        mail = OutlookMailConnector(
            _settings(sb, OutlookMailSettings, "outlook_mail"), context, sleep=clock.sleep
        )
        sb.reset_counters()
        cursor, meetings = None, 0
        while True:
            batch = mail.pull(REP, cursor)
            meetings += sum(isinstance(a, Meeting) for a in batch.activities)
            cursor = batch.next_cursor
            if not batch.more:
                break
        return dict(sb.requests), meetings, sb.throttle.concurrency_breaches


def measure(messages: int) -> dict[str, Any]:
    """Both runs' figures."""
    plain, _, breaches = _run(messages, invitations=False)
    invited, meetings, more = _run(messages, invitations=True)
    requests = len(range(0, messages, EVERY))
    return {
        "messages": messages,
        "meeting_requests": requests,
        "requests_plain": plain["total"],
        "requests_with_invitations": invited["total"],
        "batches": invited["batch"],
        "batch_members": invited["batch_member"],
        "members_per_meeting_message": round(invited["batch_member"] / requests, 2),
        "meetings_captured": meetings,
        "concurrency_breaches": breaches + more,
    }


def append(f: dict[str, Any]) -> None:
    """Append one row under this benchmark's section of docs/benchmarks.md."""
    row = (
        f"{stamp()} {f['messages']} | {f['meeting_requests']} | {f['requests_plain']} | "
        f"{f['requests_with_invitations']} | {f['batches']} | {f['batch_members']} | "
        f"{f['members_per_meeting_message']} | {f['meetings_captured']} | "
        f"{f['concurrency_breaches']} |\n"
    )
    note = (
        "\nThe outlook_mail connector on the Graph sandbox, one mailbox, pages of 100: the same "
        "number of messages all ordinary, then with every 10th a meeting request whose event is "
        "in the calendar. Requests are every request the sandbox received (token included); "
        "each meeting message costs one `$batch` member, and a page's members share batches of "
        "20.\n\n"
    )
    append_row(SECTION, HEADER, row, note=note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    figures = measure(args.messages)
    sys.stdout.write(json.dumps(figures) + "\n")
    if not args.no_append:
        append(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
