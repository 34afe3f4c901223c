"""The collaborators the capture runner, the rules and the bulk reads are handed, as Protocols.

The runner, the rules, the alerts and the Bulk API code take these instead of ``Any``, so a
reader sees what each collaborator must do, and a test double (a writer that fails, a
directory of three contacts) only has to do that much:

- :class:`Writer` — upserts and creates Salesforce records (``syncd.salesforce.writer``);
- :class:`DirectoryView` — the org's people, accounts and deals in memory, as matching reads
  them (``syncd.salesforce.directory.Directory``);
- :class:`StateStore` — the state store's tables as the rules, alerts, explain and the service
  use them (``syncd.state.Store``);
- :class:`SalesforceApi` — the REST calls the bulk and pipeline reads make
  (``syncd.salesforce.client.SalesforceClient``).

Each concrete class satisfies its Protocol structurally (``tests/core/test_ports.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from syncd.salesforce.records import (
        Account,
        Contact,
        ContactRole,
        Lead,
        Opportunity,
        User,
    )
    from syncd.salesforce.writer import WriteResult
    from syncd.state.alerts import Alerts
    from syncd.state.cursors import Cursors
    from syncd.state.dead_letters import DeadLetters
    from syncd.state.flags import Flags
    from syncd.state.leases import Leases
    from syncd.state.ledger import Ledger
    from syncd.state.runs import Runs
    from syncd.state.status import StatusReport
    from syncd.state.store import Transaction
    from syncd.state.unmatched import Unmatched

T = TypeVar("T")


@runtime_checkable
class Writer(Protocol):
    """Writes activity records to Salesforce in chunks; per-record failures in the result."""

    def upsert(self, sobject: str, rows: Sequence[dict[str, Any]]) -> WriteResult:
        """Upsert Task or Event rows by their key field."""
        ...

    def create(self, sobject: str, rows: Sequence[dict[str, Any]]) -> WriteResult:
        """Create rows that have no external id (EventRelation)."""
        ...

    def create_messages(
        self, rows: Sequence[dict[str, Any]], senders: Sequence[str | None]
    ) -> WriteResult:
        """Create EmailMessages by their key field, each with its sender's relation."""
        ...


@runtime_checkable
class DirectoryView(Protocol):
    """The org in memory, looked up by the keys matching uses."""

    users: Mapping[str, User]

    def user_by_email(self, address: str) -> User | None:
        """The active user with this address."""
        ...

    def contacts_by_email(self, address: str) -> list[Contact]:
        """Contacts with this address."""
        ...

    def leads_by_email(self, address: str) -> list[Lead]:
        """Unconverted leads with this address."""
        ...

    def contacts_by_phone(self, phone: str) -> list[Contact]:
        """Contacts with this phone number."""
        ...

    def leads_by_phone(self, phone: str) -> list[Lead]:
        """Unconverted leads with this phone number."""
        ...

    def accounts_by_domain(self, domain: str) -> list[Account]:
        """Accounts whose website is on this domain."""
        ...

    def open_opportunities_for_account(self, account_id: str) -> list[Opportunity]:
        """The account's open opportunities."""
        ...

    def contact_roles_for_contact(self, contact_id: str) -> list[ContactRole]:
        """The contact's roles on opportunities."""
        ...


@runtime_checkable
class StateStore(Protocol):
    """The state store: one store object per table, transactions and advisory locks."""

    cursors: Cursors
    ledger: Ledger
    unmatched: Unmatched
    dead_letters: DeadLetters
    flags: Flags
    alerts: Alerts
    runs: Runs
    leases: Leases

    def transaction(self) -> AbstractContextManager[Transaction]:
        """One transaction over every table (committed on a clean exit)."""
        ...

    def try_advisory_lock(self, name: str) -> AbstractContextManager[bool]:
        """Hold the named lock if free (True), else go on without it (False)."""
        ...

    def status(self) -> StatusReport:
        """Per unit: cursors, last run, last success and counts."""
        ...


@runtime_checkable
class SalesforceApi(Protocol):
    """The Salesforce REST calls reads make, counted and retried by the client."""

    #: REST API calls made so far (logins excluded).
    calls_made: int
    instance_url: str | None
    sleep: Callable[[float], None]

    def call(self, fn: Callable[[Salesforce], T], *, write: bool = False) -> T:
        """``fn(sf)`` with retries of transient failures."""
        ...

    def restful(
        self,
        path: str,
        *,
        method: str = "GET",
        params: dict[str, Any] | None = None,
        json: Any = None,
        retry_transient: bool = True,
        write: bool | None = None,
    ) -> Any:
        """One REST call relative to ``/services/data/vXX.X/``."""
        ...

    def query_page(self, soql: str, *, include_deleted: bool = False) -> dict[str, Any]:
        """The first page of a SOQL query."""
        ...

    def query_more(self, next_url: str) -> dict[str, Any]:
        """The page at a ``nextRecordsUrl``."""
        ...

    def query_pages(self, soql: str, *, include_deleted: bool = False) -> Iterator[list[dict]]:
        """Every page of a query, lazily."""
        ...

    def query_many(self, queries: dict[str, tuple[str, bool]]) -> dict[str, list[dict]]:
        """Several queries, five to a composite call, all pages."""
        ...


__all__ = ["DirectoryView", "SalesforceApi", "StateStore", "Writer"]
