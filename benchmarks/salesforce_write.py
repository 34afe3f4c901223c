"""Salesforce API calls per 1,000 activities written (and rewritten), and per directory load.

Runs against the sandbox org over real HTTPS with the real simple-salesforce, counting calls
on the sandbox's side. Prints one JSON line and appends a row to docs/benchmarks.md under
"## Salesforce writes" (the section is created when missing; other sections are untouched).

    .venv/bin/python benchmarks/salesforce_write.py [--contacts 50000] [--no-append]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from _org import api_calls, sandbox_client
from _report import append_row, stamp

from sandbox.salesforce import SalesforceSandbox
from syncd.salesforce.directory import Directory
from syncd.salesforce.setup import run_setup
from syncd.salesforce.writer import ActivityWriter

SECTION = "## Salesforce writes"
HEADER = (
    "| date | commit | activities | write calls | rewrite calls | collection calls | "
    "contacts | directory load calls | refresh calls (10 changed) |\n"
    "|---|---|---|---|---|---|---|---|---|\n"
)


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "Syncd_Key__c": f"em:bench:{i:06d}",
            "Subject": f"Email: benchmark {i}",
            "Status": "Completed",
            "TaskSubtype": "Email",
            "ActivityDate": "2026-01-05",
        }
        for i in range(n)
    ]


def measure(activities: int, contacts: int) -> dict[str, Any]:
    """Run the measurements on a fresh sandbox and return the figures."""
    sb = SalesforceSandbox().start()
    try:
        run_setup(sandbox_client(sb))
        accounts = sb.insert(
            "Account",
            [{"Name": f"Acct {i}", "Website": f"https://www.acct{i}.example"} for i in range(200)],
        )
        sb.insert(
            "Contact",
            [
                {
                    "LastName": f"Contact {i}",
                    "Email": f"c{i}@acct{i % 200}.example",
                    "AccountId": accounts[i % 200],
                }
                for i in range(contacts)
            ],
        )
        rows = _rows(activities)
        sb.reset_counters()
        writer = ActivityWriter(sandbox_client(sb))
        first = writer.upsert("Task", rows)
        write_calls = api_calls(sb)
        collections = sb.calls.get("composite/sobjects:PATCH", 0)
        sb.reset_counters()
        second = writer.upsert("Task", rows)
        rewrite_calls = api_calls(sb)
        assert second.created == 0 and len(second.written) == len(first.written)

        sb.reset_counters()
        reader = sandbox_client(sb)
        directory = Directory.load(reader)
        load_calls = api_calls(sb)
        ids = list(directory.contacts)[:10]
        for i, cid in enumerate(ids):
            reader.restful(
                f"sobjects/Contact/{cid}",
                method="PATCH",
                json={"Email": f"changed{i}@bench.example"},
            )
        sb.reset_counters()
        directory.refresh(reader)
        refresh_calls = api_calls(sb)
    finally:
        sb.stop()
    return {
        "benchmark": "salesforce_write",
        "activities": activities,
        "write_calls": write_calls,
        "rewrite_calls": rewrite_calls,
        "collection_calls": collections,
        "contacts": contacts,
        "directory_load_calls": load_calls,
        "refresh_calls_10_changed": refresh_calls,
    }


def append(figures: dict[str, Any]) -> None:
    """Append one row under the Salesforce section of docs/benchmarks.md."""
    row = (
        f"{stamp()} {figures['activities']} | "
        f"{figures['write_calls']} | {figures['rewrite_calls']} | {figures['collection_calls']} | "
        f"{figures['contacts']} | {figures['directory_load_calls']} | "
        f"{figures['refresh_calls_10_changed']} |\n"
    )
    note = (
        "\nCalls counted by the sandbox org (logins excluded). Write calls include one "
        "`/limits` read the client makes before its first write to know the budget. "
        "Rewrite calls are two per chunk: Task.TaskSubtype is create-only, so records "
        "that already exist are sent again without it.\n\n"
    )
    append_row(SECTION, HEADER, row, note=note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    figures = measure(args.activities, args.contacts)
    sys.stdout.write(json.dumps(figures) + "\n")
    if not args.no_append:
        append(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
