"""The directory's records: frozen, plain data that the pure matching code reads.

One dataclass per Salesforce object the directory indexes, holding only the fields matching
and the rules need. They are built by :mod:`.directory` from query rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    """An active Salesforce user (the owner of what syncd writes)."""

    id: str
    name: str | None
    email: str | None
    #: The user's own zone (User.TimeZoneSidKey): the day of the Tasks they own is counted in it.
    time_zone: str | None = None


@dataclass(frozen=True)
class Contact:
    """A contact with its addresses, phones and account."""

    id: str
    name: str | None
    email: str | None
    phones: tuple[str, ...]
    account_id: str | None


@dataclass(frozen=True)
class Lead:
    """An unconverted lead."""

    id: str
    name: str | None
    email: str | None
    phones: tuple[str, ...]
    company: str | None


@dataclass(frozen=True)
class Account:
    """An account and the normalised domain of its website."""

    id: str
    name: str | None
    website: str | None
    domain: str | None


@dataclass(frozen=True)
class Opportunity:
    """An open opportunity."""

    id: str
    name: str | None
    account_id: str | None
    stage: str | None
    owner_id: str | None
    close_date: str | None
    amount: float | None


@dataclass(frozen=True)
class ContactRole:
    """A contact's role on an opportunity (OpportunityContactRole)."""

    id: str
    opportunity_id: str
    contact_id: str
    role: str | None
    is_primary: bool


@dataclass(frozen=True)
class Stage:
    """One of the org's opportunity stages, as the org defines it."""

    id: str
    label: str
    is_closed: bool
    is_won: bool
    sort_order: int | None
    default_probability: float | None
