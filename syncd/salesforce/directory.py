"""The directory: an in-memory index of the org's people, companies and open deals.

Loaded once with a few paged queries (first pages five to a ``composite`` call, the rest with
``nextRecordsUrl``), then kept current by :meth:`Directory.refresh`, which asks each object only
for rows whose ``SystemModstamp`` is newer than the newest one already seen. Refresh reads with
``queryAll`` so deleted rows come back too (``IsDeleted = true``) and leave the index; Users are
never deleted in Salesforce, only deactivated, and that arrives as an ordinary change.

Look-ups are dictionary reads (O(1)) on normalised keys (:mod:`.normalize`). Those that can
match more than one record return a list, so the matcher sees ambiguity instead of a guess.
The records are frozen dataclasses: the pure matching code reads them, nothing writes them.

The watermark keeps SystemModstamp's millisecond precision in the SOQL literal, so a refresh
neither re-reads the rows of the watermark's second nor misses the rest of that second.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from syncd.email_address import matching_address
from syncd.salesforce import soql
from syncd.salesforce.normalize import digits_only, domain_key
from syncd.salesforce.records import (
    Account,
    Contact,
    ContactRole,
    Lead,
    Opportunity,
    Stage,
    User,
)

__all__ = [
    "Account",
    "Changes",
    "Contact",
    "ContactRole",
    "Directory",
    "Lead",
    "Opportunity",
    "Stage",
    "User",
]

log = logging.getLogger(__name__)

PhoneKey = Callable[[str], "str | None"]


class _Client(Protocol):
    def query_many(self, queries: dict[str, tuple[str, bool]]) -> dict[str, list[dict]]: ...


@dataclass(frozen=True)
class _Spec:
    sobject: str
    fields: tuple[str, ...]
    #: WHERE of the full load; refreshes read every change and drop what fails ``keep``.
    load_where: str | None = None
    keep: Callable[[dict], bool] = lambda row: True
    #: Users and stages are never deleted, so they need no queryAll.
    deletable: bool = True


_SPECS: tuple[_Spec, ...] = (
    _Spec(
        "User",
        ("Id", "Name", "Email", "IsActive", "TimeZoneSidKey"),
        soql.where_eq("IsActive", True),
        lambda r: bool(r.get("IsActive")),
        deletable=False,
    ),
    _Spec(
        "Contact",
        ("Id", "Name", "Email", "Phone", "MobilePhone", "HomePhone", "OtherPhone", "AccountId"),
    ),
    _Spec(
        "Lead",
        ("Id", "Name", "Email", "Phone", "MobilePhone", "Company", "IsConverted"),
        soql.where_eq("IsConverted", False),
        lambda r: not r.get("IsConverted"),
    ),
    _Spec("Account", ("Id", "Name", "Website")),
    _Spec(
        "Opportunity",
        ("Id", "Name", "AccountId", "StageName", "OwnerId", "CloseDate", "Amount", "IsClosed"),
        soql.where_eq("IsClosed", False),
        lambda r: not r.get("IsClosed"),
    ),
    _Spec("OpportunityContactRole", ("Id", "OpportunityId", "ContactId", "Role", "IsPrimary")),
    _Spec(
        "OpportunityStage",
        ("Id", "MasterLabel", "IsClosed", "IsWon", "SortOrder", "DefaultProbability"),
        deletable=False,
    ),
    # The org's default zone: the rep's day when a user's own zone is unknown.
    _Spec("Organization", ("Id", "TimeZoneSidKey"), deletable=False),
)


@dataclass
class Changes:
    """What one refresh changed, by sObject: ids added or updated, and ids removed."""

    changed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    removed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def ids(self, *sobjects: str) -> set[str]:
        """Every changed or removed id of the given sObjects (all when none given)."""
        names = sobjects or tuple(set(self.changed) | set(self.removed))
        out: set[str] = set()
        for name in names:
            out |= self.changed.get(name, set()) | self.removed.get(name, set())
        return out

    def __bool__(self) -> bool:
        return any(self.changed.values()) or any(self.removed.values())


class _Index:
    """key -> set of ids, maintained as records come and go."""

    def __init__(self) -> None:
        self._map: dict[str, set[str]] = defaultdict(set)

    def add(self, keys: Iterable[str | None], rid: str) -> None:
        for key in keys:
            if key:
                self._map[key].add(rid)

    def remove(self, keys: Iterable[str | None], rid: str) -> None:
        for key in keys:
            if key and key in self._map:
                self._map[key].discard(rid)
                if not self._map[key]:
                    del self._map[key]

    def get(self, key: str | None) -> list[str]:
        return sorted(self._map.get(key, ())) if key else []


def _parse_stamp(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"  # Salesforce writes +0000
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else None


class Directory:
    """The org's users, contacts, leads, accounts, open opportunities, roles and stages."""

    def __init__(self, phone_key: PhoneKey | None = None) -> None:
        self.phone_key: PhoneKey = phone_key or digits_only
        self.users: dict[str, User] = {}
        self.contacts: dict[str, Contact] = {}
        self.leads: dict[str, Lead] = {}
        self.accounts: dict[str, Account] = {}
        self.opportunities: dict[str, Opportunity] = {}
        self.contact_roles: dict[str, ContactRole] = {}
        self.stages: dict[str, Stage] = {}
        #: Organization.TimeZoneSidKey, the org's default zone.
        self.org_time_zone: str | None = None
        self._user_email = _Index()
        self._contact_email = _Index()
        self._contact_phone = _Index()
        self._lead_email = _Index()
        self._lead_phone = _Index()
        self._account_domain = _Index()
        self._opps_by_account = _Index()
        self._roles_by_contact = _Index()
        self._roles_by_opp = _Index()
        #: Newest SystemModstamp seen per sObject: where the next refresh starts.
        self.watermarks: dict[str, datetime] = {}

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, client: _Client, *, phone_key: PhoneKey | None = None) -> Directory:
        """Read the whole directory from the org."""
        directory = cls(phone_key)
        queries = {
            s.sobject: (soql.select((*s.fields, "SystemModstamp"), s.sobject, s.load_where), False)
            for s in _SPECS
        }
        rows = client.query_many(queries)
        for spec in _SPECS:
            for row in rows.get(spec.sobject, []):
                directory._apply(spec, row, Changes())
        log.info(
            "directory loaded",
            extra={"contacts": len(directory.contacts), "leads": len(directory.leads)},
        )
        return directory

    def refresh(self, client: _Client) -> Changes:
        """Read what changed since the last load or refresh; return the ids that changed."""
        queries: dict[str, tuple[str, bool]] = {}
        for spec in _SPECS:
            fields = (*spec.fields, "SystemModstamp") + (("IsDeleted",) if spec.deletable else ())
            mark = self.watermarks.get(spec.sobject)
            where = soql.modified_since(mark) if mark else None
            queries[spec.sobject] = (soql.select(fields, spec.sobject, where), spec.deletable)
        rows = client.query_many(queries)
        changes = Changes()
        for spec in _SPECS:
            for row in rows.get(spec.sobject, []):
                self._apply(spec, row, changes)
        log.info(
            "directory refreshed",
            extra={"changed": len(changes.ids())},
        )
        return changes

    def _apply(self, spec: _Spec, row: dict, changes: Changes) -> None:
        rid = str(row["Id"])
        stamp = _parse_stamp(row.get("SystemModstamp"))
        mark = self.watermarks.get(spec.sobject)
        if stamp and (mark is None or stamp > mark):
            self.watermarks[spec.sobject] = stamp
        known = rid in self._records(spec.sobject)
        self._remove(spec.sobject, rid)
        if row.get("IsDeleted") or not spec.keep(row):
            # Only what the directory held can be removed: a closed opportunity or converted
            # lead the directory never had is not a change anyone needs to re-match for.
            if known:
                changes.removed[spec.sobject].add(rid)
            return
        self._add(spec.sobject, row)
        changes.changed[spec.sobject].add(rid)

    def _records(self, sobject: str) -> dict[str, Any]:
        return {
            "User": self.users,
            "Contact": self.contacts,
            "Lead": self.leads,
            "Account": self.accounts,
            "Opportunity": self.opportunities,
            "OpportunityContactRole": self.contact_roles,
            "OpportunityStage": self.stages,
            "Organization": {},
        }[sobject]

    def _phones(self, values: Iterable[Any]) -> tuple[str, ...]:
        return tuple(str(v) for v in values if v)

    def _add(self, sobject: str, r: dict) -> None:
        rid = str(r["Id"])
        if sobject == "User":
            user = User(rid, r.get("Name"), r.get("Email"), r.get("TimeZoneSidKey") or None)
            self.users[rid] = user
            self._user_email.add([matching_address(user.email)], rid)
        elif sobject == "Contact":
            fields = ("Phone", "MobilePhone", "HomePhone", "OtherPhone")
            phones = self._phones(r.get(f) for f in fields)
            contact = Contact(rid, r.get("Name"), r.get("Email"), phones, r.get("AccountId"))
            self.contacts[rid] = contact
            self._contact_email.add([matching_address(contact.email)], rid)
            self._contact_phone.add([self.phone_key(p) for p in phones], rid)
        elif sobject == "Lead":
            phones = self._phones(r.get(f) for f in ("Phone", "MobilePhone"))
            lead = Lead(rid, r.get("Name"), r.get("Email"), phones, r.get("Company"))
            self.leads[rid] = lead
            self._lead_email.add([matching_address(lead.email)], rid)
            self._lead_phone.add([self.phone_key(p) for p in phones], rid)
        elif sobject == "Account":
            web = r.get("Website")
            account = Account(rid, r.get("Name"), web, domain_key(web))
            self.accounts[rid] = account
            self._account_domain.add([account.domain], rid)
        elif sobject == "Opportunity":
            amount = r.get("Amount")
            opp = Opportunity(
                rid,
                r.get("Name"),
                r.get("AccountId"),
                r.get("StageName"),
                r.get("OwnerId"),
                r.get("CloseDate"),
                float(amount) if amount is not None else None,
            )
            self.opportunities[rid] = opp
            self._opps_by_account.add([opp.account_id], rid)
        elif sobject == "OpportunityContactRole":
            role = ContactRole(
                rid,
                str(r.get("OpportunityId")),
                str(r.get("ContactId")),
                r.get("Role"),
                bool(r.get("IsPrimary")),
            )
            self.contact_roles[rid] = role
            self._roles_by_contact.add([role.contact_id], rid)
            self._roles_by_opp.add([role.opportunity_id], rid)
        elif sobject == "Organization":
            self.org_time_zone = r.get("TimeZoneSidKey") or self.org_time_zone
        elif sobject == "OpportunityStage":
            order, prob = r.get("SortOrder"), r.get("DefaultProbability")
            self.stages[rid] = Stage(
                rid,
                str(r.get("MasterLabel")),
                bool(r.get("IsClosed")),
                bool(r.get("IsWon")),
                int(order) if order is not None else None,
                float(prob) if prob is not None else None,
            )

    def _remove(self, sobject: str, rid: str) -> None:
        if sobject == "User" and (user := self.users.pop(rid, None)):
            self._user_email.remove([matching_address(user.email)], rid)
        elif sobject == "Contact" and (contact := self.contacts.pop(rid, None)):
            self._contact_email.remove([matching_address(contact.email)], rid)
            self._contact_phone.remove([self.phone_key(p) for p in contact.phones], rid)
        elif sobject == "Lead" and (lead := self.leads.pop(rid, None)):
            self._lead_email.remove([matching_address(lead.email)], rid)
            self._lead_phone.remove([self.phone_key(p) for p in lead.phones], rid)
        elif sobject == "Account" and (account := self.accounts.pop(rid, None)):
            self._account_domain.remove([account.domain], rid)
        elif sobject == "Opportunity" and (opp := self.opportunities.pop(rid, None)):
            self._opps_by_account.remove([opp.account_id], rid)
        elif sobject == "OpportunityContactRole" and (role := self.contact_roles.pop(rid, None)):
            self._roles_by_contact.remove([role.contact_id], rid)
            self._roles_by_opp.remove([role.opportunity_id], rid)
        elif sobject == "OpportunityStage":
            self.stages.pop(rid, None)

    # -- look-ups --------------------------------------------------------------------------

    def contacts_by_email(self, address: str) -> list[Contact]:
        """Contacts whose address matches (case, plus-tags and gmail dots ignored)."""
        return [self.contacts[i] for i in self._contact_email.get(matching_address(address))]

    def leads_by_email(self, address: str) -> list[Lead]:
        """Unconverted leads whose address matches."""
        return [self.leads[i] for i in self._lead_email.get(matching_address(address))]

    def user_by_email(self, address: str) -> User | None:
        """The active user with this address (the first by id if, oddly, there are several)."""
        ids = self._user_email.get(matching_address(address))
        return self.users[ids[0]] if ids else None

    def contacts_by_phone(self, phone: str) -> list[Contact]:
        """Contacts with this number in any of their phone fields."""
        return [self.contacts[i] for i in self._contact_phone.get(self.phone_key(phone))]

    def leads_by_phone(self, phone: str) -> list[Lead]:
        """Unconverted leads with this number."""
        return [self.leads[i] for i in self._lead_phone.get(self.phone_key(phone))]

    def accounts_by_domain(self, domain: str) -> list[Account]:
        """Accounts whose website is on this domain (``www.`` and case ignored)."""
        return [self.accounts[i] for i in self._account_domain.get(domain_key(domain))]

    def open_opportunities_for_account(self, account_id: str) -> list[Opportunity]:
        """Open opportunities of an account."""
        return [self.opportunities[i] for i in self._opps_by_account.get(account_id)]

    def contact_roles_for_contact(self, contact_id: str) -> list[ContactRole]:
        """The contact's roles on open opportunities."""
        roles = (self.contact_roles[i] for i in self._roles_by_contact.get(contact_id))
        return [r for r in roles if r.opportunity_id in self.opportunities]

    def contact_roles_for_opportunity(self, opportunity_id: str) -> list[ContactRole]:
        """The contact roles on one opportunity."""
        return [self.contact_roles[i] for i in self._roles_by_opp.get(opportunity_id)]

    def time_zone_of(self, user_id: str | None) -> str | None:
        """The user's TimeZoneSidKey, or None when the user or their zone is unknown."""
        user = self.users.get(user_id) if user_id else None
        return user.time_zone if user is not None else None

    def stages_in_order(self) -> list[Stage]:
        """The org's stages by SortOrder."""
        return sorted(self.stages.values(), key=lambda s: (s.sort_order is None, s.sort_order))
