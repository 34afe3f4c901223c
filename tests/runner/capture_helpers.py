"""Helpers for the capture tests: a small real org in the sandbox, raw emails, the runner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from connectors.memory import MemoryConnector
from syncd.capture.runner import Runner
from syncd.salesforce.directory import Directory
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


def directory_users(directory: Directory) -> list[str]:
    return [u.email for u in directory.users.values() if u.email]
