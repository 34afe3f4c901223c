"""Capture throughput end to end, and a naive baseline over the same messages, side by side.

(a) syncd: a Salesforce sandbox org seeded with contacts on accounts and the reps as users, and
Gmail mailboxes in the Google sandbox holding N messages from those contacts. The real Gmail
connector (google-api-python-client over HTTPS) feeds syncd's capture Runner, which writes
through the real Salesforce client (simple-salesforce over HTTPS). Measured: activities
written, activities per second (wall), CPU milliseconds per activity (the capture thread alone,
and the whole process, which also hosts both emulators), Salesforce calls per 1,000 activities
(counted by the sandbox: everything after login, the directory load included), Gmail quota
units per message (the Google sandbox's meter) and peak RSS (VmHWM of this process, emulators
included).

(b) the naive baseline: for a sample of the same messages, one SOQL query per participant
address (simple-salesforce ``sf.query``) and one ``sf.Task.create`` per activity, counted by
the same sandbox, reported per 1,000 activities and as a ratio to syncd.

Prints one JSON line and appends a row to docs/benchmarks.md under "## Capture throughput".

    .venv/bin/python benchmarks/capture_throughput.py [--messages 5000] [--baseline 500]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, getaddresses
from pathlib import Path
from typing import Any

from _org import api_calls, sandbox_client, seed_org
from _report import append_row, stamp
from simple_salesforce import format_soql

from connectors.base import ConnectorContext
from connectors.gmail import GmailConnector, GmailSettings
from sandbox.google import GoogleSandbox
from sandbox.salesforce import SalesforceSandbox
from syncd.capture.privacy import PrivacyRules
from syncd.capture.runner import Runner
from syncd.config import CaptureConfig, SecretRef
from syncd.salesforce.directory import Directory
from syncd.salesforce.writer import ActivityWriter
from syncd.state import Store

SECTION = "## Capture throughput"
HEADER = (
    "| date | commit | messages | activities written | activities/s | CPU ms/activity "
    "(capture thread / process) | SF calls per 1,000 (syncd) | SF calls per 1,000 (naive, "
    "sample) | naive ÷ syncd | Gmail units/message | peak RSS MB |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|\n"
)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DOMAIN = "ourco.com"
log = logging.getLogger("benchmarks.capture_throughput")


class SimClock:
    """Simulated time shared by the connector and the Google sandbox's quota windows."""

    def __init__(self) -> None:
        self.now = NOW
        self.waited = 0.0

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waited += seconds
        self.now += timedelta(seconds=seconds)


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def message_headers(i: int, mailbox: str, contact: str, when: datetime) -> list[tuple[str, str]]:
    """The i-th message: from one contact to the rep's mailbox."""
    return [
        ("From", f"Contact <{contact}>"),
        ("To", mailbox),
        ("Subject", f"Proposal round {i}"),
        ("Date", format_datetime(when)),
        ("Message-ID", f"<cap-{i}@bench.example>"),
    ]


def deliver(
    gs: GoogleSandbox, reps: list[str], contacts: list[str], n: int
) -> list[list[tuple[str, str]]]:
    """Deliver ``n`` messages round-robin over the reps' mailboxes; their headers."""
    sent = []
    for i in range(n):
        mailbox = reps[i % len(reps)]
        when = NOW - timedelta(minutes=n - i)
        headers = message_headers(i, mailbox, contacts[(i * 7) % len(contacts)], when)
        gs.gmail.deliver(mailbox, headers, when=when)
        sent.append(headers)
    return sent


def run_syncd(
    sf: SalesforceSandbox,
    gs: GoogleSandbox,
    reps: list[str],
    clock: SimClock,
    tmp: Path,
    gmail_page: int | None = None,
) -> dict[str, Any]:
    """syncd's capture over every mailbox: figures counted by both sandboxes."""
    key = tmp / "sa.json"
    key.write_text(json.dumps(gs.service_account()))
    key.chmod(0o600)
    settings = GmailSettings(
        type="gmail", name="gmail", mailboxes=tuple(reps),
        service_account_key=SecretRef(file=key), api_endpoint=f"{gs.url}/",
        ca_bundle=gs.ca_bundle,
    )  # fmt: skip
    capture = CaptureConfig(internal_domains=[DOMAIN], backfill_days=90)
    store = Store.open(f"sqlite:///{tmp / 'state.db'}")
    client = sandbox_client(sf)
    client.login()
    sf.reset_counters()
    gs.reset_counters()
    wall0, cpu0, thread0 = time.perf_counter(), time.process_time(), time.thread_time()
    try:
        directory = Directory.load(client)
        users = sorted({u.email for u in directory.users.values() if u.email})
        rules = PrivacyRules.from_capture(capture, users)
        runner = Runner(store, ActivityWriter(client), directory, rules)
        context = ConnectorContext(
            clock=clock, capture=capture, internal_addresses=frozenset(users)
        )
        # ``--gmail-page`` is a what-if only: the shipped connector's page size is the default.
        cls = GmailConnector
        if gmail_page is not None:
            cls = type("PagedGmail", (GmailConnector,), {"page_size": gmail_page})
        connector = cls(settings, context, sleep=clock.sleep)
        outcomes: dict[str, int] = {}
        for mailbox in reps:
            result = runner.run(connector, mailbox)
            for name, n in result.outcomes.items():
                outcomes[name] = outcomes.get(name, 0) + n
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        thread = time.thread_time() - thread0
        calls = api_calls(sf)
        units = sum(gs.quota.used[m] for m in reps)
    finally:
        store.close()
        client.close()
    written = outcomes.get("written", 0)
    return {
        "outcomes": outcomes,
        "written": written,
        "wall": wall,
        "cpu_ms_per_activity_thread": round(thread * 1000 / max(written, 1), 3),
        "cpu_ms_per_activity_process": round(cpu * 1000 / max(written, 1), 3),
        "sf_calls": calls,
        "sf_calls_by_endpoint": dict(sf.calls),
        "gmail_units": units,
        "gmail_seconds_waited_simulated": clock.waited,
    }


def run_naive(sf: SalesforceSandbox, sample: list[list[tuple[str, str]]]) -> dict[str, Any]:
    """One SOQL query per participant address and one Task create per activity."""
    client = sandbox_client(sf)
    client.login()
    sfc = client.sf  # the real simple-salesforce instance, signed in
    sf.reset_counters()
    created = 0
    try:
        for headers in sample:
            values = dict(headers)
            addresses = [a for _n, a in getaddresses([values["From"], values["To"]]) if a]
            who = None
            for address in addresses:
                soql = format_soql("SELECT Id, AccountId FROM Contact WHERE Email = {}", address)
                found = sfc.query(soql)
                if found["records"] and who is None:
                    who = found["records"][0]
            task = {
                "Subject": f"Email: {values['Subject']}",
                "Status": "Completed",
                "TaskSubtype": "Email",
                "ActivityDate": NOW.date().isoformat(),
            }
            if who is not None:
                task["WhoId"] = who["Id"]
            sfc.Task.create(task)
            created += 1
        calls = api_calls(sf)
    finally:
        client.close()
    return {"created": created, "sf_calls": calls}


def measure(
    messages: int,
    baseline: int,
    contacts: int,
    accounts: int,
    mailboxes: int,
    gmail_page: int | None = None,
) -> dict[str, Any]:
    """Run both sides on fresh sandboxes; the figures."""
    clock = SimClock()
    reps = [f"rep{i}@{DOMAIN}" for i in range(mailboxes)]
    with (
        SalesforceSandbox() as sf,
        GoogleSandbox(clock=clock) as gs,
        tempfile.TemporaryDirectory() as tmp,
    ):
        addresses = seed_org(sf, reps, contacts, accounts)
        for rep in reps:
            gs.add_user(rep)
        sent = deliver(gs, reps, addresses, messages)
        syncd = run_syncd(sf, gs, reps, clock, Path(tmp), gmail_page)
        naive = run_naive(sf, sent[:baseline])
    written = syncd["written"]
    per_1000 = round(syncd["sf_calls"] * 1000 / max(written, 1), 2)
    naive_per_1000 = round(naive["sf_calls"] * 1000 / max(naive["created"], 1), 1)
    return {
        "benchmark": "capture_throughput",
        "messages": messages,
        "mailboxes": mailboxes,
        "gmail_page_size": gmail_page or GmailConnector.page_size,
        "contacts": contacts,
        "accounts": accounts,
        "activities_written": written,
        "outcomes": syncd["outcomes"],
        "activities_per_second": round(written / syncd["wall"], 1),
        "cpu_ms_per_activity_capture_thread": syncd["cpu_ms_per_activity_thread"],
        "cpu_ms_per_activity_process": syncd["cpu_ms_per_activity_process"],
        "sf_calls": syncd["sf_calls"],
        "sf_calls_by_endpoint": syncd["sf_calls_by_endpoint"],
        "sf_calls_per_1000": per_1000,
        "gmail_quota_units": syncd["gmail_units"],
        "gmail_units_per_message": round(syncd["gmail_units"] / max(messages, 1), 3),
        "gmail_seconds_waited_simulated": syncd["gmail_seconds_waited_simulated"],
        # The floor: every activity in a full 200-record collection call, nothing else.
        "sf_calls_floor_per_1000": round(-(-written // 200) * 1000 / max(written, 1), 2),
        "naive_sample": naive["created"],
        "naive_sf_calls": naive["sf_calls"],
        "naive_sf_calls_per_1000": naive_per_1000,
        "naive_over_syncd": round(naive_per_1000 / per_1000, 1) if per_1000 else None,
        "peak_rss_mb": _peak_rss_mb(),
    }


def append(f: dict[str, Any]) -> None:
    """Append one row under the capture-throughput section of docs/benchmarks.md."""
    row = (
        f"{stamp()} {f['messages']} | {f['activities_written']} | "
        f"{f['activities_per_second']} | {f['cpu_ms_per_activity_capture_thread']} / "
        f"{f['cpu_ms_per_activity_process']} | {f['sf_calls_per_1000']} | "
        f"{f['naive_sf_calls_per_1000']} | {f['naive_over_syncd']}x | "
        f"{f['gmail_units_per_message']} | {f['peak_rss_mb']} |\n"
    )
    note = (
        "\nEnd to end in one process: the real Gmail connector over HTTPS against the Google "
        "sandbox (quota enforced on a simulated clock), syncd's capture Runner, and the real "
        "Salesforce client against the sandbox org (2,000 contacts on 200 accounts by "
        "default; messages spread over 5 mailboxes). Salesforce calls are counted by the "
        "sandbox after login, the directory load included. The naive baseline (one SOQL query "
        "per participant address plus one `Task.create` per activity, simple-salesforce) runs "
        "on a sample of the same messages (500 by default) and is reported per 1,000. CPU is "
        "the capture thread's (`time.thread_time`) and the whole process's, which also runs "
        "both emulators; peak RSS (VmHWM) includes the emulators too.\n\n"
    )
    append_row(SECTION, HEADER, row, note=note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--baseline", type=int, default=500)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--mailboxes", type=int, default=5)
    parser.add_argument(
        "--gmail-page", type=int, default=None, help="what-if: Gmail page size (JSON only)"
    )
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    figures = measure(
        args.messages,
        args.baseline,
        args.contacts,
        args.accounts,
        args.mailboxes,
        args.gmail_page,
    )
    sys.stdout.write(json.dumps(figures) + "\n")
    # A what-if run is not the product's figure: it never goes into the table.
    if not args.no_append and args.gmail_page is None:
        append(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
