"""The deal rules over a large org: Salesforce calls and peak memory for one evaluation.

A child process (this script with ``--serve-org N``) seeds the sandbox org with N
opportunities (default 100,000) and 3 OpportunityHistory rows each (300,000) and serves it,
answering ``reset``/``calls`` on stdin, so this process's peak RSS is the rules' alone. This
process then loads the pipeline through the real client twice, the default way (Bulk API 2.0
jobs for the large queries) and REST only, each time running every built-in rule and the
pipeline metrics. Prints one JSON line and appends a row under "## Rules at scale" in
docs/benchmarks.md.

    .venv/bin/python benchmarks/rules_scale.py [--opportunities 100000] [--no-append]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import random
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from _report import ROOT, append_row, stamp

from sandbox.salesforce import SalesforceSandbox
from syncd.pipeline_metrics import report
from syncd.rules import inputs
from syncd.rules.engine import evaluate, settings_from_config
from syncd.salesforce.client import ClientOptions, SalesforceClient, SalesforceCredentials

SECTION = "## Rules at scale"
NOTE = (
    "\nFrom here on the org runs in its own process (the table above measured it inside the "
    "rules process) and each run measures two rules evaluations over the same org: the "
    "default path, where a streamed query whose first REST page reports more than 10,000 rows "
    "is read as a Bulk API 2.0 query job, and the REST-only path (2,000 rows a page). Calls are "
    "counted by the sandbox (login excluded; every jobs/query request counts). Peak RSS is the "
    "rules process's high-water mark during each pass; the sandbox's own peak is reported "
    "apart. Findings are equal on both paths (the script fails otherwise).\n\n"
)
HEADER = (
    "| date | commit | opportunities | history rows | Salesforce calls | of which jobs/query "
    "| calls, REST only | ratio | rows read | findings | peak RSS MB (rules) "
    "| peak RSS MB (rules, REST only) | RSS MB before | peak RSS MB (sandbox process) "
    "| seconds (load + rules + report) | CPU seconds (rules process) | seconds, REST only |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)
NOTE_TIMING = (
    "\nThe same two-path measurement with the time of each pass added: wall seconds (the sandbox "
    "answers from its own process, so they include its work) and the rules process's CPU "
    "seconds, steadier on a shared machine.\n\n"
)
TODAY = date(2026, 3, 16)


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def seed(sb: SalesforceSandbox, n: int, rng: random.Random) -> int:
    """N open and closed deals with three history rows each (stage moves, a close-date push)."""
    stages = sorted(
        (r for r in sb.records("OpportunityStage") if r.get("IsActive")),
        key=lambda r: r["SortOrder"],
    )
    names = [s["ApiName"] for s in stages]
    owners = sb.insert(
        "User",
        [
            {"Username": f"rep{i}@ourco.com", "Email": f"rep{i}@ourco.com", "LastName": f"Rep{i}"}
            for i in range(50)
        ],
    )
    opps: list[dict[str, Any]] = []
    for i in range(n):
        created = TODAY - timedelta(days=rng.randint(5, 400))
        opps.append(
            {
                "Name": f"Deal {i}",
                "StageName": rng.choice(names),
                "Amount": float(rng.randint(1, 200) * 500),
                "CloseDate": (created + timedelta(days=rng.randint(20, 200))).isoformat(),
                "OwnerId": owners[i % len(owners)],
                "CreatedDate": f"{created.isoformat()}T00:00:00.000+0000",
                "NextStep": "call" if i % 3 else None,
            }
        )
    store = sb.store
    rows: list[dict[str, Any]] = []
    with store.lock:
        store.derive_history = False
        try:
            ids: list[str] = []
            for start in range(0, n, 10_000):
                ids += sb.insert("Opportunity", opps[start : start + 10_000])
            for opp_id, opp in zip(ids, opps, strict=True):
                created = datetime.fromisoformat(opp["CreatedDate"].replace("+0000", "+00:00"))
                close = date.fromisoformat(opp["CloseDate"])
                first = names[0]
                for k, (stage, prev, new) in enumerate(
                    (
                        (first, None, close - timedelta(days=30)),
                        (first, close - timedelta(days=30), close),
                        (opp["StageName"], close, close),
                    )
                ):
                    at = created + timedelta(days=3 * k)
                    rows.append(
                        {
                            "OpportunityId": opp_id,
                            "StageName": stage,
                            "CloseDate": new.isoformat(),
                            "PrevCloseDate": prev.isoformat() if prev else None,
                            "CreatedDate": at.isoformat().replace("+00:00", ".000+0000"),
                        }
                    )
            for start in range(0, len(rows), 20_000):
                sb.insert("OpportunityHistory", rows[start : start + 20_000])
        finally:
            store.derive_history = True
    return len(rows)


def serve_org(n: int) -> int:
    """Child mode: seed and serve the org; answer ``reset`` / ``calls`` / ``stop`` on stdin."""
    logging.disable(logging.CRITICAL)  # stdout carries the protocol; nothing else may print
    with SalesforceSandbox() as sb:
        history = seed(sb, n, random.Random(8))
        hello = {
            "url": sb.url,
            "ca_bundle": str(sb.ca_bundle),
            "client_id": sb.client_id,
            "client_secret": sb.client_secret,
            "history_rows": history,
        }
        sys.stdout.write(json.dumps(hello) + "\n")
        sys.stdout.flush()
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                sb.reset_counters()
                answer: dict[str, Any] = {"ok": True}
            elif command == "calls":
                answer = {"api_calls": sb.api_calls_used, "by_label": dict(sb.calls)}
                answer["rss_mb"] = round(_rss_mb("VmHWM"))
            else:
                break
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    return 0


class _Org:
    """The org served by a child process (so this process's memory is the rules' alone)."""

    def __init__(self, n: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-org", str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.hello = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the org process exited before answering")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _pass(client: SalesforceClient, org: _Org, bulk_threshold: int | None) -> dict[str, Any]:
    """One rules evaluation; its calls (by the org), findings and this process's peak RSS."""
    gc.collect()
    org.ask("reset")
    # Reset the high-water mark so the peak is this pass's, not the seeding's or the last one's.
    Path("/proc/self/clear_refs").write_text("5")
    wall, cpu = time.perf_counter(), time.process_time()
    pipeline = inputs.load(client, TODAY, bulk_threshold=bulk_threshold)
    evaluation = evaluate(pipeline, settings_from_config(), boundary=None)
    report(pipeline, TODAY - timedelta(days=90), TODAY, target=1_000_000.0)
    # Wall time includes the sandbox answering in its own process; CPU time is this process's
    # alone, steadier on a shared machine.
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _rss_mb("VmHWM")
    calls = org.ask("calls")
    figures = {
        "calls": calls["api_calls"],
        "bulk_calls": calls["by_label"].get("jobs/query", 0),
        "rows_read": len(pipeline.deals) + sum(len(d.history) for d in pipeline.deals),
        "findings": len(evaluation.findings),
        "peak_rss_mb": round(peak),
        "sandbox_rss_mb": calls["rss_mb"],
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
    }
    del pipeline, evaluation
    return figures


def run(n: int) -> dict[str, Any]:
    """Seed an org in a child process, then measure the bulk path and the REST path."""
    org = _Org(n)
    try:
        hello = org.hello
        creds = SalesforceCredentials(
            auth="client_credentials",
            client_id=hello["client_id"],
            client_secret=hello["client_secret"],
        )
        client = SalesforceClient(
            creds,
            ClientOptions(login_url=hello["url"], ca_bundle=hello["ca_bundle"], timeout=120.0),
        )
        client.login()
        before = _rss_mb("VmRSS")
        by_bulk = _pass(client, org, inputs.BULK_THRESHOLD)
        by_rest = _pass(client, org, None)
        client.close()
    finally:
        org.close()
    if by_bulk["findings"] != by_rest["findings"]:
        raise RuntimeError(f"bulk and REST disagree: {by_bulk} vs {by_rest}")
    return {
        "opportunities": n,
        "history_rows": hello["history_rows"],
        "salesforce_calls": by_bulk["calls"],
        "bulk_requests": by_bulk["bulk_calls"],
        "rest_path_calls": by_rest["calls"],
        "call_ratio": round(by_bulk["calls"] / by_rest["calls"], 3),
        "rows_read": by_bulk["rows_read"],
        "findings": by_bulk["findings"],
        "peak_rss_mb": by_bulk["peak_rss_mb"],
        "rest_path_peak_rss_mb": by_rest["peak_rss_mb"],
        "rss_before_mb": round(before),
        "sandbox_peak_rss_mb": by_rest["sandbox_rss_mb"],
        "seconds": by_bulk["seconds"],
        "cpu_seconds": by_bulk["cpu_seconds"],
        "rest_path_seconds": by_rest["seconds"],
    }


def append(f: dict[str, Any]) -> None:
    """Append one row under our section of docs/benchmarks.md (and its header if missing)."""
    row = (
        f"{stamp()} {f['opportunities']} | "
        f"{f['history_rows']} | {f['salesforce_calls']} | {f['bulk_requests']} | "
        f"{f['rest_path_calls']} | {f['call_ratio']} | {f['rows_read']} | {f['findings']} | "
        f"{f['peak_rss_mb']} | {f['rest_path_peak_rss_mb']} | {f['rss_before_mb']} | "
        f"{f['sandbox_peak_rss_mb']} | {f['seconds']} | {f['cpu_seconds']} | "
        f"{f['rest_path_seconds']} |\n"
    )
    append_row(SECTION, HEADER, row, note=NOTE, note_for_new_header=NOTE_TIMING)


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--serve-org", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_org is not None:
        return serve_org(args.serve_org)
    figures = run(args.opportunities)
    sys.stdout.write(json.dumps(figures) + "\n")
    if not args.no_append:
        append(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
