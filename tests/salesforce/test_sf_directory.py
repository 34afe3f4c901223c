"""The directory against a sandbox org of 50,000 contacts: call counts, refresh, escaping."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sf_helpers import make_client, start_sandbox

from syncd.salesforce import soql
from syncd.salesforce.directory import Directory

CONTACTS = 50_000


@pytest.fixture(scope="module")
def big_org() -> Iterator[Any]:
    sb = start_sandbox()
    try:
        accounts = sb.insert(
            "Account",
            [
                {"Name": f"Acct {i}", "Website": f"https://www.Acct{i}.example/about"}
                for i in range(100)
            ],
        )
        contacts = [
            {
                "LastName": f"Contact {i}",
                "Email": f"c{i}@acct{i % 100}.example",
                "Phone": f"+1 415 {i:07d}",
                "AccountId": accounts[i % 100],
            }
            for i in range(CONTACTS - 1)
        ]
        contacts.append({"LastName": "O'Brien", "Email": "o'brien@example.com"})
        sb.insert("Contact", contacts)
        sb.insert(
            "Lead", [{"LastName": "Lead", "Company": "Prospect", "Email": "lead@prospect.io"}]
        )
        opps = sb.insert(
            "Opportunity",
            [
                {
                    "Name": "Deal",
                    "AccountId": accounts[0],
                    "StageName": "Prospecting",
                    "CloseDate": "2026-12-31",
                },
                {
                    "Name": "Old deal",
                    "AccountId": accounts[0],
                    "StageName": "Closed Won",
                    "CloseDate": "2025-12-31",
                },
            ],
        )
        first_contact = next(
            r["Id"] for r in sb.records("Contact") if r.get("Email") == "c0@acct0.example"
        )
        sb.insert(
            "OpportunityContactRole",
            [
                {
                    "OpportunityId": opps[0],
                    "ContactId": first_contact,
                    "Role": "Decision Maker",
                    "IsPrimary": True,
                }
            ],
        )
        yield sb
    finally:
        sb.stop()


def api_calls(org: Any) -> int:
    return sum(n for label, n in org.calls.items() if label != "oauth")


def test_load_and_incremental_refresh_are_cheap(big_org: Any) -> None:
    client = make_client(big_org)
    client.login()
    big_org.reset_counters()

    directory = Directory.load(client)

    assert api_calls(big_org) <= 30
    assert len(directory.contacts) == CONTACTS
    assert [c.email for c in directory.contacts_by_email("C7@Acct7.example")] == [
        "c7@acct7.example"
    ]
    assert len(directory.contacts_by_phone("+1 415 0000007")) == 1
    assert len(directory.accounts_by_domain("acct3.example")) == 1
    [acct] = directory.accounts_by_domain("acct0.example")
    deals = directory.open_opportunities_for_account(acct.id)
    assert [o.name for o in deals] == ["Deal"]  # the closed one is not in the directory
    [c0] = directory.contacts_by_email("c0@acct0.example")
    assert [r.role for r in directory.contact_roles_for_contact(c0.id)] == ["Decision Maker"]
    assert [x.company for x in directory.leads_by_email("LEAD@prospect.io")] == ["Prospect"]
    assert directory.stages and any(s.is_won for s in directory.stages.values())

    changed = sorted(directory.contacts)[:10]
    for i, cid in enumerate(changed):
        client.restful(
            f"sobjects/Contact/{cid}", method="PATCH", json={"Email": f"moved{i}@elsewhere.example"}
        )
    big_org.reset_counters()

    changes = directory.refresh(client)

    assert api_calls(big_org) <= 3
    assert changes.changed["Contact"] == set(changed)
    assert changes.ids() == set(changed)
    assert [c.id for c in directory.contacts_by_email("moved3@elsewhere.example")] == [changed[3]]
    assert len(directory.contacts) == CONTACTS

    # Deletions come back through queryAll and leave the index.
    [victim] = directory.contacts_by_email("c42@acct42.example")
    client.restful(f"sobjects/Contact/{victim.id}", method="DELETE")
    big_org.reset_counters()
    gone = directory.refresh(client)
    assert api_calls(big_org) <= 3
    assert gone.removed["Contact"] == {victim.id} and not gone.changed["Contact"]
    assert directory.contacts_by_email("c42@acct42.example") == []
    assert len(directory.contacts) == CONTACTS - 1


def test_quotes_in_values_neither_break_nor_alter_a_query(big_org: Any) -> None:
    client = make_client(big_org)
    fields = ("Id", "Email")
    found = client.query_all(
        soql.select(fields, "Contact", soql.where_eq("Email", "o'brien@example.com"))
    )
    assert [r["Email"] for r in found] == ["o'brien@example.com"]
    injected = client.query_all(
        soql.select(fields, "Contact", soql.where_eq("Email", "x' OR Email != '"))
    )
    assert injected == []
    listed = client.query_all(
        soql.select(
            fields, "Contact", soql.where_in("Email", ["o'brien@example.com", "c500@acct0.example"])
        )
    )
    assert sorted(r["Email"] for r in listed) == ["c500@acct0.example", "o'brien@example.com"]
