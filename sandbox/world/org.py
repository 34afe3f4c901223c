"""The demo org's Salesforce records: users, accounts, contacts, leads, opportunities.

Everything is inserted through the sandbox's Python API, validated like the REST API would
validate it. Opportunities are created at the org's first open stage with back-dated audit
fields and then moved along with :meth:`SalesforceSandbox.update`, the API-equivalent path, so
OpportunityHistory and OpportunityFieldHistory rows exist as they would in a real org. Stage
names are read from the org's OpportunityStage rows, never assumed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.world import names

#: Contact roles the world hands out (the org's OpportunityContactRole picklist values).
ROLES = ("Decision Maker", "Economic Buyer", "Evaluator", "Influencer", "Technical Buyer")


@dataclass(frozen=True)
class Person:
    """Someone with a name and an address (a user, contact or lead)."""

    first: str
    last: str
    email: str
    id: str = ""

    @property
    def name(self) -> str:
        """``First Last``."""
        return f"{self.first} {self.last}"


@dataclass
class Account:
    """An account, its contacts and who owns it."""

    id: str
    name: str
    domain: str
    owner: Person
    contacts: list[Person] = field(default_factory=list)


@dataclass
class Org:
    """What was inserted, for the mail and meeting generators and for the counts."""

    reps: list[Person]
    managers: list[Person]
    accounts: list[Account]
    leads: list[Person]
    counts: dict[str, int]


def _stamp(moment: datetime) -> str:
    """A Salesforce datetime literal (UTC, milliseconds, ``+0000``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _unique_people(rng: random.Random, n: int, taken: set[str]) -> list[tuple[str, str]]:
    people: list[tuple[str, str]] = []
    while len(people) < n:
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        if (key := names.local_part(first, last)) not in taken:
            taken.add(key)
            people.append((first, last))
    return people


def _users(
    sb: Any, rng: random.Random, domain: str, reps: int
) -> tuple[list[Person], list[Person]]:
    pairs = _unique_people(rng, reps + 2, set())
    people = [Person(f, last, f"{names.local_part(f, last)}@{domain}") for f, last in pairs]
    managers, rep_people = people[:2], people[2:]

    def record(p: Person, title: str, manager: str | None = None) -> dict[str, Any]:
        return {
            "Username": p.email,
            "Email": p.email,
            "FirstName": p.first,
            "LastName": p.last,
            "Alias": (p.first[:1] + p.last)[:8].lower(),
            "Title": title,
            "Department": "Sales",
            "ManagerId": manager,
        }

    manager_ids = sb.insert("User", [record(m, "Sales Manager") for m in managers])
    managers = [
        Person(m.first, m.last, m.email, i) for m, i in zip(managers, manager_ids, strict=True)
    ]
    rows = [
        record(p, "Account Executive", manager_ids[i % len(manager_ids)])
        for i, p in enumerate(rep_people)
    ]
    ids = sb.insert("User", rows)
    return [
        Person(p.first, p.last, p.email, i) for p, i in zip(rep_people, ids, strict=True)
    ], managers


def _accounts(sb: Any, rng: random.Random, reps: list[Person], n: int) -> list[Account]:
    combos = [f"{p} {s}" for p in names.COMPANY_PREFIXES for s in names.COMPANY_SUFFIXES]
    chosen = rng.sample(combos, n)
    owners = [reps[i % len(reps)] for i in range(n)]
    rng.shuffle(owners)
    rows = []
    for name, owner in zip(chosen, owners, strict=True):
        rows.append(
            {
                "Name": name,
                "Website": f"www.{names.slug(name)}.example",
                "Industry": names.COMPANY_SUFFIXES[name.rsplit(" ", 1)[1]],
                "Type": rng.choice(("Prospect", "Customer - Direct", "Customer - Channel")),
                "NumberOfEmployees": rng.choice((40, 120, 450, 1200, 5000)),
                "BillingCountry": rng.choice(names.COUNTRIES),
                "OwnerId": owner.id,
            }
        )
    ids = sb.insert("Account", rows)
    return [
        Account(i, name, f"{names.slug(name)}.example", owner)
        for i, name, owner in zip(ids, chosen, owners, strict=True)
    ]


def _contacts(sb: Any, rng: random.Random, accounts: list[Account], per_account: int) -> int:
    rows: list[dict[str, Any]] = []
    people: list[tuple[Account, Person]] = []
    for account in accounts:
        for first, last in _unique_people(rng, per_account, set()):
            person = Person(first, last, f"{names.local_part(first, last)}@{account.domain}")
            row: dict[str, Any] = {
                "FirstName": first,
                "LastName": last,
                "Email": person.email,
                "AccountId": account.id,
                "Title": rng.choice(names.TITLES),
                "OwnerId": account.owner.id,
            }
            if rng.random() < 0.4:  # some contacts have a phone (for call matching later)
                row["Phone"] = f"+1 415 555 {rng.randrange(10_000):04d}"
            rows.append(row)
            people.append((account, person))
    ids = sb.insert("Contact", rows)
    for (account, p), cid in zip(people, ids, strict=True):
        account.contacts.append(Person(p.first, p.last, p.email, cid))
    return len(ids)


def _leads(sb: Any, rng: random.Random, reps: list[Person], n: int) -> list[Person]:
    rows, people = [], []
    for i, (first, last) in enumerate(_unique_people(rng, n, set())):
        company = names.LEAD_COMPANIES[i % len(names.LEAD_COMPANIES)]
        person = Person(
            first, last, f"{names.local_part(first, last)}@{names.slug(company)}.example"
        )
        rows.append(
            {
                "FirstName": first,
                "LastName": last,
                "Company": company,
                "Email": person.email,
                "Status": rng.choice(("Open - Not Contacted", "Working - Contacted")),
                "LeadSource": rng.choice(("Web", "Partner Referral", "Other")),
                "OwnerId": reps[i % len(reps)].id,
            }
        )
        people.append(person)
    ids = sb.insert("Lead", rows)
    return [Person(p.first, p.last, p.email, i) for p, i in zip(people, ids, strict=True)]


def _stages(sb: Any) -> tuple[list[str], list[str], list[str]]:
    """(open stages in order, won stages, lost stages) from the org's OpportunityStage rows."""
    rows = sorted(
        (r for r in sb.records("OpportunityStage") if r.get("IsActive", True)),
        key=lambda r: r.get("SortOrder") or 0,
    )
    label = [r.get("ApiName") or r["MasterLabel"] for r in rows]
    opened = [s for s, r in zip(label, rows, strict=True) if not r["IsClosed"]]
    won = [s for s, r in zip(label, rows, strict=True) if r["IsClosed"] and r["IsWon"]]
    lost = [s for s, r in zip(label, rows, strict=True) if r["IsClosed"] and not r["IsWon"]]
    return opened, won, lost


def _opportunities(
    sb: Any, rng: random.Random, accounts: list[Account], now: datetime, n_open: int, n_closed: int
) -> dict[str, int]:
    opened, won, lost = _stages(sb)
    plans = [(accounts[i % len(accounts)], False) for i in range(n_open)]
    plans += [(rng.choice(accounts), True) for _ in range(n_closed)]
    rows, starts = [], []
    for account, closed in plans:
        created = now - timedelta(days=rng.randrange(60 if not closed else 120, 400))
        starts.append(created)
        rows.append(
            {
                "Name": f"{account.name} - {rng.choice(names.PRODUCTS)}",
                "AccountId": account.id,
                "OwnerId": account.owner.id,
                "StageName": opened[0],
                "Amount": float(rng.randrange(5, 250) * 1000),
                "CloseDate": (created + timedelta(days=rng.randrange(60, 150))).date().isoformat(),
                "Type": rng.choice(("New Business", "Existing Business")),
                "CreatedDate": _stamp(created),
                "LastModifiedDate": _stamp(created),
            }
        )
    ids = sb.insert("Opportunity", rows)
    roles: list[dict[str, Any]] = []
    updates = 0
    latest = now - timedelta(days=1)  # history never lies in the future
    for (account, closed), oid, created, row in zip(plans, ids, starts, rows, strict=True):
        # Walk the deal forward through the org's stages, a few weeks apart, so history holds
        # a stage path; some close dates slip, as they do.
        moment, close = created, row["CloseDate"]
        target = rng.randrange(1, len(opened)) if not closed else rng.randrange(len(opened))
        for stage in opened[1 : target + 1]:
            moment = min(moment + timedelta(days=rng.randrange(5, 25)), latest)
            values: dict[str, Any] = {"StageName": stage, "LastModifiedDate": _stamp(moment)}
            if rng.random() < 0.15:
                close = (datetime.fromisoformat(close) + timedelta(days=30)).date().isoformat()
                values["CloseDate"] = close
            sb.update("Opportunity", oid, values)
            updates += 1
        if closed:
            moment = min(moment + timedelta(days=rng.randrange(5, 25)), latest)
            final = rng.choice(won) if rng.random() < 0.45 else rng.choice(lost)
            sb.update(
                "Opportunity",
                oid,
                {"StageName": final, "CloseDate": moment.date().isoformat(),
                 "LastModifiedDate": _stamp(moment)},
            )  # fmt: skip
            updates += 1
        for k, contact in enumerate(rng.sample(account.contacts, rng.randrange(1, 3))):
            roles.append(
                {
                    "OpportunityId": oid,
                    "ContactId": contact.id,
                    "Role": rng.choice(ROLES),
                    "IsPrimary": k == 0,
                }
            )
    sb.insert("OpportunityContactRole", roles)
    return {
        "opportunities_open": n_open,
        "opportunities_closed": n_closed,
        "opportunity_updates": updates,
        "contact_roles": len(roles),
    }


def build_org(
    sb: Any,
    rng: random.Random,
    now: datetime,
    *,
    domain: str,
    reps: int = 20,
    accounts: int = 200,
    contacts_per_account: int = 3,
    leads: int = 30,
    open_opportunities: int = 300,
    closed_opportunities: int = 300,
) -> Org:
    """Insert the org into ``sb`` and describe what was inserted."""
    rep_people, managers = _users(sb, rng, domain, reps)
    account_list = _accounts(sb, rng, rep_people, accounts)
    n_contacts = _contacts(sb, rng, account_list, contacts_per_account)
    lead_people = _leads(sb, rng, rep_people, leads)
    counts = {
        "users": len(rep_people) + len(managers),
        "accounts": len(account_list),
        "contacts": n_contacts,
        "leads": len(lead_people),
    }
    counts.update(
        _opportunities(sb, rng, account_list, now, open_opportunities, closed_opportunities)
    )
    return Org(rep_people, managers, account_list, lead_people, counts)
