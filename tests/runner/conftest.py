"""A small real org in the Salesforce sandbox, and a capture runner wired to it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))

from sf_helpers import make_client, start_sandbox

from connectors.base import ConnectorContext
from connectors.memory import MemoryConnector, MemorySettings
from syncd.capture.privacy import PrivacyRules
from syncd.capture.runner import Runner
from syncd.salesforce.directory import Directory
from syncd.salesforce.setup import ensure_key_field
from syncd.salesforce.writer import ActivityWriter
from syncd.state import Store

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
REPS = ("ana@ourco.com", "ben@ourco.com", "cy@ourco.com", "di@ourco.com", "ed@ourco.com")


@dataclass
class Org:
    """Ids of the records seeded into the sandbox."""

    users: dict[str, str]
    account: str
    other_account: str
    contacts: dict[str, str]
    opportunity: str


@dataclass
class Capture:
    """Everything a capture test needs."""

    sandbox: Any
    org: Org
    store: Store
    runner: Runner
    connector: MemoryConnector
    client: Any


def seed(sb: Any) -> Org:
    users = dict(
        zip(
            REPS,
            sb.insert(
                "User",
                [
                    {"Username": r, "Email": r, "LastName": r.split("@")[0].title(),
                     "IsActive": True}
                    for r in REPS
                ],
            ),
            strict=True,
        )
    )  # fmt: skip
    account, other = sb.insert(
        "Account",
        [
            {"Name": "Globex", "Website": "https://www.globex.com"},
            {"Name": "Initech", "Website": "initech.io"},
        ],
    )
    people = {
        "alice@globex.com": account,
        "bob@globex.com": account,
        "carol@initech.io": other,
    }
    contact_ids = sb.insert(
        "Contact",
        [
            {"LastName": a.split("@")[0].title(), "Email": a, "AccountId": acc}
            for a, acc in people.items()
        ],
    )
    contacts = dict(zip(people, contact_ids, strict=True))
    (opp,) = sb.insert(
        "Opportunity",
        [
            {
                "Name": "Globex expansion",
                "StageName": "Qualification",
                "CloseDate": (date(2026, 12, 31)).isoformat(),
                "AccountId": account,
            }
        ],
    )
    sb.insert(
        "OpportunityContactRole",
        [{"OpportunityId": opp, "ContactId": contacts["alice@globex.com"], "Role": "Evaluator"}],
    )
    return Org(users, account, other, contacts, opp)


def email_bytes(
    sender: str,
    to: list[str],
    *,
    subject: str = "Pricing follow-up",
    message_id: str = "<m1@mail.ourco.com>",
    when: datetime = NOW - timedelta(days=1),
    cc: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content("Hello, this body must never be written unless configured.")
    return msg.as_bytes()


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A fresh org per test: every test counts records and calls from zero."""
    sb = start_sandbox()
    try:
        client = make_client(sb)
        ensure_key_field(client)
        client.close()
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def capture(sandbox: Any, tmp_path: Path) -> Iterator[Capture]:
    org = seed(sandbox)
    client = make_client(sandbox)
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    directory = Directory.load(client)
    rules = PrivacyRules.from_capture(
        type("Capture", (), {"internal_domains": ["ourco.com"]})(), directory_users(directory)
    )
    runner = Runner(store, ActivityWriter(client), directory, rules)
    context = ConnectorContext(clock=lambda: NOW)
    connector = MemoryConnector(MemorySettings(type="memory", name="mem"), context)
    sandbox.reset_counters()
    yield Capture(sandbox, org, store, runner, connector, client)
    store.close()
    client.close()


def directory_users(directory: Directory) -> list[str]:
    return [u.email for u in directory.users.values() if u.email]
