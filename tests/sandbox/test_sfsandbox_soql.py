"""SOQL over the REST query endpoints: filters, date literals, parent fields, order, pages."""

from __future__ import annotations

from typing import Any

import pytest
from sfsandbox_helpers import FakeClock
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox.salesforce import SalesforceSandbox


@pytest.fixture(scope="module")
def org(sandbox: SalesforceSandbox) -> dict[str, Any]:
    """2,500 contacts on two accounts, and a few opportunities at known dates."""
    acme, globex = sandbox.insert(
        "Account",
        [{"Name": "Acme", "Website": "https://acme.example"}, {"Name": "Globex"}],
    )
    contacts = [
        {
            "LastName": f"Person{i:04d}",
            "FirstName": "Ann" if i % 2 else None,
            "Email": f"person{i}@{'acme' if i % 5 else 'globex'}.example",
            "AccountId": acme if i % 5 else globex,
            "Phone": "+14155550100" if i == 7 else None,
        }
        for i in range(2500)
    ]
    contacts[3]["Email"] = "o'brien@acme.example"
    contact_ids = sandbox.insert("Contact", contacts)
    # The module clock reads 2026-03-18 15:30 UTC.
    opps = sandbox.insert(
        "Opportunity",
        [
            {
                "Name": "Today",
                "StageName": "Prospecting",
                "CloseDate": "2026-03-18",
                "AccountId": acme,
                "Amount": 100.0,
            },
            {
                "Name": "Yesterday",
                "StageName": "Qualification",
                "CloseDate": "2026-03-17",
                "AccountId": acme,
                "Amount": 250.5,
            },
            {
                "Name": "Next week",
                "StageName": "Closed Won",
                "CloseDate": "2026-03-24",
                "AccountId": globex,
            },
            {
                "Name": "Last month",
                "StageName": "Closed Lost",
                "CloseDate": "2026-02-10",
                "Amount": 5000.0,
                "CreatedDate": "2026-02-01T08:00:00Z",
            },
        ],
    )
    return {"acme": acme, "globex": globex, "contacts": contact_ids, "opps": opps}


def _names(result: dict[str, Any]) -> list[str]:
    return [r["Name"] for r in result["records"]]


def test_pagination_over_2000_rows(sf: Salesforce, org: dict[str, Any]) -> None:
    first = sf.query("SELECT Id, Email FROM Contact")
    assert first["totalSize"] == 2500
    assert len(first["records"]) == 2000
    assert first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v")
    assert "/query/01g" in first["nextRecordsUrl"]
    every = list(sf.query_all_iter("SELECT Id, Email FROM Contact"))
    assert len(every) == 2500
    assert len({r["Id"] for r in every}) == 2500


def test_query_counts_one_api_call_per_page(sf: Salesforce, sandbox: SalesforceSandbox) -> None:
    before = sandbox.api_calls_used
    list(sf.query_all_iter("SELECT Id FROM Contact"))
    assert sandbox.api_calls_used - before == 2


def test_records_carry_attributes_and_nested_parent_fields(
    sf: Salesforce, org: dict[str, Any]
) -> None:
    result = sf.query(
        "SELECT Id, Email, Account.Website, Account.Name, Owner.Email FROM Contact "
        "WHERE Email = 'person1@acme.example'"
    )
    record = result["records"][0]
    assert record["attributes"]["type"] == "Contact"
    assert record["attributes"]["url"].endswith(f"/sobjects/Contact/{record['Id']}")
    assert record["Account"]["attributes"]["type"] == "Account"
    assert record["Account"]["Website"] == "https://acme.example"
    assert record["Account"]["Name"] == "Acme"
    assert record["Owner"]["Email"]
    no_account = sf.query("SELECT Id, Account.Name FROM Opportunity WHERE Name = 'Last month'")
    assert no_account["records"][0]["Account"] is None


def test_string_equality_is_case_insensitive_and_escapes_work(
    sf: Salesforce, org: dict[str, Any]
) -> None:
    assert sf.query("SELECT Id FROM Contact WHERE Email = 'PERSON1@ACME.example'")["totalSize"] == 1
    quoted = sf.query("SELECT Email FROM Contact WHERE Email = 'o\\'brien@acme.example'")
    assert [r["Email"] for r in quoted["records"]] == ["o'brien@acme.example"]


def test_like_in_not_in_and_boolean_logic(sf: Salesforce, org: dict[str, Any]) -> None:
    like = sf.query("SELECT Id FROM Contact WHERE Email LIKE '%@globex.example'")
    assert like["totalSize"] == 500
    in_ids = org["contacts"][:3]
    by_id = sf.query(format_soql("SELECT Id FROM Contact WHERE Id IN {}", in_ids))
    assert sorted(r["Id"] for r in by_id["records"]) == sorted(in_ids)
    not_in = sf.query(
        format_soql(
            "SELECT COUNT() FROM Contact WHERE Id NOT IN {} AND AccountId = {}",
            in_ids,
            org["acme"],
        )
    )
    assert not_in["totalSize"] == 2000 - 3 + 1  # contact 0 is Globex's, 1-3 are Acme's
    logic = sf.query(
        "SELECT Id FROM Contact WHERE (Phone != null OR LastName = 'Person0010') "
        "AND NOT FirstName = null"
    )
    assert logic["totalSize"] == 1  # Person0007 has a phone and a first name; 10 has none


def test_date_literals_follow_the_sandbox_clock(
    sf: Salesforce, org: dict[str, Any], clock: FakeClock
) -> None:
    def names(where: str) -> list[str]:
        # The filters are this test's own literals, not outside input.
        return sorted(_names(sf.query("SELECT Name FROM Opportunity WHERE " + where)))  # noqa: S608

    assert names("CloseDate = TODAY") == ["Today"]
    assert names("CloseDate = YESTERDAY") == ["Yesterday"]
    assert names("CloseDate = NEXT_N_DAYS:7") == ["Next week"]
    assert names("CloseDate = LAST_N_DAYS:1") == ["Today", "Yesterday"]
    assert names("CloseDate = THIS_MONTH") == ["Next week", "Today", "Yesterday"]
    assert names("CloseDate = LAST_MONTH") == ["Last month"]
    assert names("CloseDate < 2026-03-01") == ["Last month"]
    assert names("CreatedDate < 2026-03-01T00:00:00Z") == ["Last month"]
    assert names("CreatedDate = LAST_N_DAYS:30 AND Amount > 200") == ["Yesterday"]
    assert names("CreatedDate = LAST_N_DAYS:50 AND Amount > 200") == ["Last month", "Yesterday"]


def test_order_limit_offset_and_nulls(sf: Salesforce, org: dict[str, Any]) -> None:
    ordered = sf.query("SELECT Name, Amount FROM Opportunity ORDER BY Amount DESC NULLS LAST")
    assert _names(ordered) == ["Last month", "Yesterday", "Today", "Next week"]
    nulls_first = sf.query("SELECT Name FROM Opportunity ORDER BY Amount ASC LIMIT 2")
    assert _names(nulls_first) == ["Next week", "Today"]
    page = sf.query("SELECT Name FROM Opportunity ORDER BY Name LIMIT 2 OFFSET 1")
    assert _names(page) == ["Next week", "Today"]


def test_counts_and_aggregates(sf: Salesforce, org: dict[str, Any]) -> None:
    counted = sf.query("SELECT COUNT() FROM Contact WHERE Account.Name = 'Globex'")
    assert counted["totalSize"] == 500 and counted["records"] == []
    agg = sf.query("SELECT COUNT(Id) FROM Opportunity WHERE IsClosed = true")
    assert agg["records"][0]["expr0"] == 2
    grouped = sf.query(
        "SELECT StageName, COUNT(Id) n FROM Opportunity GROUP BY StageName ORDER BY StageName"
    )
    assert {r["StageName"]: r["n"] for r in grouped["records"]} == {
        "Closed Lost": 1,
        "Closed Won": 1,
        "Prospecting": 1,
        "Qualification": 1,
    }


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM", "MALFORMED_QUERY"),
        ("SELECT Id Contact", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE Email = ", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE Email = 'x' LIMIT", "MALFORMED_QUERY"),
        ("SELECT Nickname FROM Contact", "INVALID_FIELD"),
        ("SELECT Account.Nope FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE Birthday__c = null", "INVALID_FIELD"),
        ("SELECT Id FROM Widget", "INVALID_TYPE"),
        ("SELECT Id FROM Contact LIMIT 10 OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
        ("SELECT Id, Email, email FROM Contact", "MALFORMED_QUERY"),
        ("SELECT Id FROM Task WHERE Description = 'x'", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE Id IN (SELECT Id, Name FROM Account)", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = '2026-01-01'", "MALFORMED_QUERY"),
    ],
)
def test_malformed_queries(sf: Salesforce, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query(soql)
    assert exc.value.status == 400
    assert exc.value.content[0]["errorCode"] == code


def test_query_all_includes_deleted_rows(sf: Salesforce, sandbox: SalesforceSandbox) -> None:
    lead = sf.Lead.create({"LastName": "Gone", "Company": "Gone Inc"})["id"]
    sf.Lead.delete(lead)
    live = sf.query("SELECT Id FROM Lead WHERE LastName = 'Gone'")
    assert live["totalSize"] == 0
    every = sf.query_all(
        "SELECT Id, IsDeleted FROM Lead WHERE LastName = 'Gone'", include_deleted=True
    )
    assert [(r["Id"], r["IsDeleted"]) for r in every["records"]] == [(lead, True)]


def test_polymorphic_who_and_what(sf: Salesforce, sandbox: SalesforceSandbox) -> None:
    lead = sandbox.insert("Lead", [{"LastName": "Poly", "Company": "P", "Email": "p@p.example"}])
    opp = sandbox.insert(
        "Opportunity",
        [
            {
                "Name": "Poly deal",
                "StageName": "Prospecting",
                "CloseDate": "2026-09-01",
                "Type": "New Business",
            }
        ],
    )
    sandbox.insert("Task", [{"Subject": "poly", "WhoId": lead[0], "WhatId": opp[0]}])
    result = sf.query(
        "SELECT Who.Type, Who.Email, What.Type, What.Name FROM Task "
        "WHERE Who.Type = 'Lead' AND What.Type = 'Opportunity' AND Subject = 'poly'"
    )
    record = result["records"][0]
    assert (record["Who"]["Type"], record["Who"]["Email"]) == ("Lead", "p@p.example")
    # What.Type is the related object, not the Opportunity's own Type picklist.
    assert (record["What"]["Type"], record["What"]["Name"]) == ("Opportunity", "Poly deal")


def test_semi_join(sf: Salesforce, org: dict[str, Any]) -> None:
    result = sf.query(
        "SELECT Name FROM Account WHERE Id IN "
        "(SELECT AccountId FROM Opportunity WHERE StageName = 'Closed Won')"
    )
    assert _names(result) == ["Globex"]
    anti = sf.query(
        "SELECT COUNT() FROM Account WHERE Name IN ('Acme', 'Globex') AND Id NOT IN "
        "(SELECT AccountId FROM Opportunity WHERE IsClosed = true)"
    )
    assert anti["totalSize"] == 1  # Acme: its deals are open
