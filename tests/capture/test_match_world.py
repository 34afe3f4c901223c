"""Builders shared by the match, plan and records tests: a small org and activities.

The directory is built the way production builds it, through :meth:`Directory.load` with
rows as Salesforce returns them (only the client's ``query_many`` is a stub of plain data), and
with the E.164 phone key the app configures. The module also checks the builders themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from syncd.capture.addresses import InternalParties
from syncd.capture.normalize_call import to_e164
from syncd.model import Call, Direction, Email, Meeting, Participant, Role
from syncd.salesforce.directory import Directory

WHEN = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
MAILBOX = "rep@ourco.com"
INTERNAL = InternalParties.build(domains=["ourco.com", "ourco.eu"])

Rows = dict[str, list[dict[str, Any]]]


class RowsClient:
    """Answers ``query_many`` from per-object row lists (what the org would return)."""

    def __init__(self, rows: Mapping[str, Sequence[dict[str, Any]]]) -> None:
        self.rows = rows

    def query_many(self, queries: dict[str, tuple[str, bool]]) -> dict[str, list[dict]]:
        return {name: list(self.rows.get(name, ())) for name in queries}


def directory(rows: Mapping[str, Sequence[dict[str, Any]]], region: str = "US") -> Directory:
    """A directory loaded from ``rows`` with the app's E.164 phone key."""
    return Directory.load(RowsClient(rows), phone_key=partial(to_e164, region=region))


def org(
    *,
    users: Iterable[tuple[str, str]] = (("005R", MAILBOX),),
    contacts: Iterable[dict[str, Any]] = (),
    leads: Iterable[dict[str, Any]] = (),
    accounts: Iterable[tuple[str, str | None]] = (),
    opportunities: Iterable[tuple[str, str]] = (),
    roles: Iterable[tuple[str, str, str, bool]] = (),
) -> Rows:
    """Rows for a directory: contacts/leads as field dicts, the rest as tuples.

    ``opportunities`` are (Id, AccountId), all open; ``roles`` are (Id, OpportunityId,
    ContactId, IsPrimary).
    """
    return {
        "User": [{"Id": i, "Name": i, "Email": e, "IsActive": True} for i, e in users],
        "Contact": [dict(c) for c in contacts],
        "Lead": [{"IsConverted": False, **lead} for lead in leads],
        "Account": [{"Id": i, "Name": i, "Website": w} for i, w in accounts],
        "Opportunity": [
            {"Id": i, "Name": i, "AccountId": a, "StageName": "Proposal", "IsClosed": False}
            for i, a in opportunities
        ],
        "OpportunityContactRole": [
            {"Id": i, "OpportunityId": o, "ContactId": c, "Role": "Buyer", "IsPrimary": p}
            for i, o, c, p in roles
        ],
    }


def person(role: Role, address: str | None = None, phone: str | None = None) -> Participant:
    """A participant by role and address or phone."""
    return Participant(address=address, phone=phone, role=role)


def email(
    *people: Participant,
    direction: Direction = Direction.OUTBOUND,
    key: str = "em:1",
    subject: str = "Pricing",
    mailbox: str = MAILBOX,
    body: str | None = None,
    when: datetime = WHEN,
) -> Email:
    """An email from ``mailbox`` (outbound) or to it (inbound) with ``people``."""
    us = Role.FROM if direction is Direction.OUTBOUND else Role.TO
    return Email(
        source="gmail",
        source_id=key,
        key=key,
        occurred_at=when,
        subject=subject,
        direction=direction,
        participants=(person(us, mailbox), *people),
        mailbox=mailbox,
        body=body,
    )


def meeting(
    *people: Participant,
    key: str = "mt:1",
    subject: str = "Demo",
    cancelled: bool = False,
    all_day: bool = False,
    start: datetime = WHEN,
    end: datetime | None = None,
    location: str | None = None,
    direction: Direction = Direction.OUTBOUND,
) -> Meeting:
    """A meeting organised by the mailbox with ``people`` as attendees."""
    return Meeting(
        source="google_calendar",
        source_id=key,
        key=key,
        occurred_at=start,
        subject=subject,
        direction=direction,
        participants=(person(Role.ORGANIZER, MAILBOX), *people),
        mailbox=MAILBOX,
        start=start,
        end=end or start + timedelta(minutes=30),
        all_day=all_day,
        location=location,
        ical_uid=f"{key}@cal",
        cancelled=cancelled,
    )


def call(
    number: str,
    *,
    key: str = "cl:aircall:1",
    call_direction: str = "outbound",
    subject: str = "",
    duration: int = 125,
    disposition: str | None = None,
) -> Call:
    """A call between the mailbox and ``number``."""
    outbound = call_direction == "outbound"
    return Call(
        source="aircall",
        source_id=key,
        key=key,
        occurred_at=WHEN,
        subject=subject,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        participants=(
            person(Role.CALLER if outbound else Role.CALLEE, MAILBOX),
            person(Role.CALLEE if outbound else Role.CALLER, phone=number),
        ),
        mailbox=MAILBOX,
        provider="aircall",
        call_id=key.rpartition(":")[2],
        duration_seconds=duration,
        call_direction=call_direction,
        disposition=disposition,
    )


def test_builders_load_through_the_directory() -> None:
    d = directory(
        org(
            contacts=[{"Id": "003A", "Email": "a@acme.com", "Phone": "(415) 555-0100"}],
            accounts=[("001A", "https://www.acme.com")],
        )
    )
    assert [c.id for c in d.contacts_by_phone("+14155550100")] == ["003A"]
    assert [a.id for a in d.accounts_by_domain("acme.com")] == ["001A"]
    assert d.user_by_email(MAILBOX) is not None
    assert email(person(Role.TO, "a@acme.com")).participants[0].role is Role.FROM
