"""Salesforce calls per 1,000 emails: EmailMessage beside Task, first pass and a lost-ledger replay.

The capture Runner end to end (memory connector with 400-message batches, as the mbox import
uses) against the sandbox org over real HTTPS with the real simple-salesforce, once with
``email_as = "Task"`` and once with ``"EmailMessage"``, on the same generated mail and the same
seeded org (200 accounts, 2,000 contacts, an open opportunity per account). Calls are counted
by the org, logins excluded, directory load included. The replay runs the EmailMessage pass
again on an empty ledger (a crash after every write, before every commit) and counts records
the org changed (must be 0: a sent EmailMessage takes no standard-field update).

    .venv/bin/python benchmarks/email_message_calls.py [--messages 5000] [--no-append]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from _org import api_calls, sandbox_client, seed_org
from _report import append_row, stamp

from connectors.base import ConnectorContext
from connectors.memory import MemoryConnector, MemorySettings
from sandbox.salesforce import SalesforceSandbox
from syncd.capture.org_rules import OrgRules
from syncd.capture.privacy import PrivacyRules
from syncd.capture.runner import Runner
from syncd.config import CaptureConfig
from syncd.salesforce.directory import Directory
from syncd.salesforce.writer import ActivityWriter
from syncd.state import Store

SECTION = "## Email as EmailMessage"
HEADER = (
    "| date | commit | messages | written (Task) | SF calls per 1,000 (Task) | written "
    "(EmailMessage) | SF calls per 1,000 (EmailMessage) | relations per message | replay calls "
    "per 1,000 (EmailMessage, empty ledger) | records changed by the replay |\n"
    "|---|---|---|---|---|---|---|---|---|---|\n"
)
REPS = [f"rep{i}@ourco.example" for i in range(5)]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ACCOUNTS = 200
CONTACTS = 2000


def _mail(n: int, addresses: list[str]) -> list[tuple[str, bytes]]:
    rng = random.Random(20)
    out = []
    for i in range(n):
        rep = REPS[i % len(REPS)]
        msg = EmailMessage()
        to, cc = rng.choice(addresses), rng.choice(addresses)
        if i % 2:
            msg["From"], msg["To"], msg["Cc"] = to, rep, cc
        else:
            msg["From"], msg["To"], msg["Cc"] = rep, to, cc
        msg["Subject"] = f"Proposal {i}"
        msg["Date"] = format_datetime(NOW - timedelta(minutes=i))
        msg["Message-ID"] = f"<bench{i}@ourco.example>"
        msg.set_content("body")
        out.append((rep, msg.as_bytes()))
    return out


def _pass(sb: Any, mail: list[tuple[str, bytes]], email_as: str, db: Path) -> tuple[int, int]:
    """One Runner pass over every mailbox; (records written, calls spent)."""
    client = sandbox_client(sb)
    store = Store.open(f"sqlite:///{db}")
    try:
        sb.reset_counters()
        directory = Directory.load(client)
        users = [u.email for u in directory.users.values() if u.email]
        rules = PrivacyRules.from_capture(CaptureConfig(internal_domains=["ourco.example"]), users)
        runner = Runner(
            store, ActivityWriter(client), directory, rules, org=OrgRules(email_as=email_as)
        )
        connector = MemoryConnector(
            MemorySettings(type="memory", name="mem"), ConnectorContext(clock=lambda: NOW)
        )
        connector.page_size = 400  # as the mbox import's batches: two full collection calls
        for rep, raw in mail:
            connector.add(rep, "email", raw)
        written = 0
        for mailbox in connector.mailboxes():
            written += runner.run(connector, mailbox).outcomes["written"]
        return written, api_calls(sb)
    finally:
        store.close()
        client.close()


def _org(addresses_out: list[str]) -> SalesforceSandbox:
    sb = SalesforceSandbox().start()
    addresses_out.extend(seed_org(sb, REPS, CONTACTS, ACCOUNTS))
    accounts = [a["Id"] for a in sb.records("Account")]
    deal = {"StageName": "Prospecting", "CloseDate": "2026-12-31"}
    sb.insert("Opportunity", [deal | {"Name": f"Deal {i}", "AccountId": a}
                              for i, a in enumerate(accounts)])  # fmt: skip
    return sb


def measure(messages: int) -> dict[str, Any]:
    """Both passes and the replay; the figures."""
    figures: dict[str, Any] = {"benchmark": "email_message_calls", "messages": messages}
    with tempfile.TemporaryDirectory() as tmp:
        for email_as in ("Task", "EmailMessage"):
            addresses: list[str] = []
            sb = _org(addresses)
            try:
                mail = _mail(messages, addresses)
                written, calls = _pass(sb, mail, email_as, Path(tmp) / f"{email_as}.db")
                figures[f"written_{email_as}"] = written
                figures[f"calls_per_1000_{email_as}"] = round(calls * 1000 / max(written, 1), 2)
                if email_as == "EmailMessage":
                    before = {m["Id"]: m for m in sb.records("EmailMessage")}
                    relations = len(sb.records("EmailMessageRelation"))
                    figures["relations_per_message"] = round(relations / max(written, 1), 2)
                    _, replay = _pass(sb, mail, email_as, Path(tmp) / "replay.db")
                    after = {m["Id"]: m for m in sb.records("EmailMessage")}
                    figures["replay_calls_per_1000"] = round(replay * 1000 / max(written, 1), 2)
                    figures["changed_by_replay"] = sum(
                        1 for k, v in after.items() if before.get(k) != v
                    )
            finally:
                sb.stop()
    return figures


def append(f: dict[str, Any]) -> None:
    """Append one row under this benchmark's section of docs/benchmarks.md."""
    row = (
        f"{stamp()} {f['messages']} | {f['written_Task']} | {f['calls_per_1000_Task']} | "
        f"{f['written_EmailMessage']} | {f['calls_per_1000_EmailMessage']} | "
        f"{f['relations_per_message']} | {f['replay_calls_per_1000']} | "
        f"{f['changed_by_replay']} |\n"
    )
    note = (
        "\nThe capture Runner on the same generated mail (half sent by a rep to a contact, half "
        "received, each with a contact in Cc) against the sandbox org, 400-message batches, "
        "once per `email_as`. Calls counted by the org, logins excluded, directory load "
        "included. An EmailMessage and its sender's relation are one composite call per 200 "
        "messages; the replay runs the pass again on an empty ledger: each chunk's creates "
        "answer DUPLICATE_VALUE and one query finds the records, which are sent nothing.\n\n"
    )
    append_row(SECTION, HEADER, row, note=note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    figures = measure(args.messages)
    sys.stdout.write(json.dumps(figures) + "\n")
    if not args.no_append:
        append(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
