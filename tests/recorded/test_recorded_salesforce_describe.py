"""The sandbox org's describe measured against the real thing.

Task: field by field against a real org's recorded ``sobjects/Task/describe`` (type, length,
nillable, createable, updateable, active picklist values) on every field both have, and every
recorded field present. Event, Contact, Lead, Account, Opportunity: against the lengths
Salesforce documents for their standard text fields (Object Reference, each object's page,
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/).
Both read the describe over HTTPS with simple-salesforce, as syncd does.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from recorded_shapes import recordings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))

from sf_helpers import make_client, org_with_key_field

COMPARED = ("type", "length", "nillable", "createable", "updateable")

#: Lengths from the Object Reference (a field's "Limit: N characters", or its describe length).
DOCUMENTED: dict[str, dict[str, tuple[str, int]]] = {
    "Event": {
        "Subject": ("combobox", 255),
        "Location": ("string", 255),
        "Description": ("textarea", 32000),
        "ShowAs": ("picklist", 40),
        "Type": ("picklist", 40),
        "EventSubtype": ("picklist", 40),
    },
    "Contact": {
        "FirstName": ("string", 40),
        "LastName": ("string", 80),
        "Name": ("string", 121),
        "Email": ("email", 80),
        "Phone": ("phone", 40),
        "MobilePhone": ("phone", 40),
        "HomePhone": ("phone", 40),
        "OtherPhone": ("phone", 40),
        "Title": ("string", 128),
        "LeadSource": ("picklist", 255),
    },
    "Lead": {
        "FirstName": ("string", 40),
        "LastName": ("string", 80),
        "Name": ("string", 121),
        "Company": ("string", 255),
        "Email": ("email", 80),
        "Phone": ("phone", 40),
        "MobilePhone": ("phone", 40),
        "Title": ("string", 128),
        "Website": ("url", 255),
        "Status": ("picklist", 255),
        "LeadSource": ("picklist", 255),
    },
    "Account": {
        "Name": ("string", 255),
        "Website": ("url", 255),
        "Phone": ("phone", 40),
        "Type": ("picklist", 255),
        "Industry": ("picklist", 255),
        "BillingCountry": ("string", 80),
    },
    "Opportunity": {
        "Name": ("string", 120),
        "StageName": ("picklist", 255),
        "NextStep": ("string", 255),
        "Description": ("textarea", 32000),
        "Type": ("picklist", 255),
        "LeadSource": ("picklist", 255),
        "ForecastCategoryName": ("picklist", 255),
    },
}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with org_with_key_field() as sb:
        c = make_client(sb)
        c.login()
        yield c
        c.close()


def _real_task() -> dict[str, Any]:
    for path, body in recordings("salesforce"):
        if path.parts[-3:] == ("Task", "describe", "fetch-fields.json"):
            return body
    pytest.skip("the recorded Task describe is absent")


def _facts(field: dict[str, Any]) -> dict[str, Any]:
    facts = {k: field[k] for k in COMPARED}
    facts["picklist"] = sorted(p["value"] for p in field["picklistValues"] if p["active"])
    return facts


def test_task_describe_agrees_with_a_real_org_field_by_field(client: Any) -> None:
    real = {f["name"]: f for f in _real_task()["fields"]}
    ours = {f["name"]: f for f in client.describe("Task")["fields"]}
    missing = sorted(set(real) - set(ours))
    assert missing == [], f"real Task fields the sandbox lacks: {missing}"
    differ = {
        name: {k: (v, _facts(ours[name])[k]) for k, v in _facts(real[name]).items()
               if v != _facts(ours[name])[k]}
        for name in real
    }  # fmt: skip
    assert {n: d for n, d in differ.items() if d} == {}


@pytest.mark.parametrize("sobject", sorted(DOCUMENTED))
def test_documented_field_lengths(client: Any, sobject: str) -> None:
    ours = {f["name"]: f for f in client.describe(sobject)["fields"]}
    got = {name: (ours[name]["type"], ours[name]["length"]) for name in DOCUMENTED[sobject]
           if name in ours}  # fmt: skip
    assert got == DOCUMENTED[sobject]
