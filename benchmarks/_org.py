"""The Salesforce sandbox side the benchmarks share: a client, its call count, a seeded org."""

from __future__ import annotations

from typing import Any

from syncd.salesforce.client import ClientOptions, SalesforceClient, SalesforceCredentials
from syncd.salesforce.setup import run_setup


def sandbox_client(sb: Any) -> SalesforceClient:
    """syncd's Salesforce client signed in to the sandbox ``sb`` (retries without waiting)."""
    creds = SalesforceCredentials(
        auth="client_credentials", client_id=sb.client_id, client_secret=sb.client_secret
    )
    options = ClientOptions(login_url=sb.url, ca_bundle=str(sb.ca_bundle), timeout=30.0)
    return SalesforceClient(creds, options, sleep=lambda _s: None)


def api_calls(sb: Any) -> int:
    """Calls counted by the org, logins (``oauth``) excluded."""
    return sum(n for label, n in sb.calls.items() if label != "oauth")


def seed_org(sb: Any, reps: list[str], contacts: int, accounts: int) -> list[str]:
    """The key field, users for the reps, accounts and contacts; the contacts' addresses."""
    client = sandbox_client(sb)
    try:
        run_setup(client)
    finally:
        client.close()
    sb.insert(
        "User",
        [
            {"Username": r, "Email": r, "LastName": r.split("@")[0].title(), "IsActive": True}
            for r in reps
        ],
    )
    account_ids = sb.insert(
        "Account",
        [{"Name": f"Acct {i}", "Website": f"https://www.acct{i}.example"} for i in range(accounts)],
    )
    addresses = [f"c{i}@acct{i % accounts}.example" for i in range(contacts)]
    sb.insert(
        "Contact",
        [
            {"LastName": f"Contact {i}", "Email": a, "AccountId": account_ids[i % accounts]}
            for i, a in enumerate(addresses)
        ],
    )
    return addresses
