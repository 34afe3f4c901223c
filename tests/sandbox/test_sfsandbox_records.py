"""Describe, validation errors and record writes through simple-salesforce over TLS."""

from __future__ import annotations

from typing import Any

import pytest
from sfsandbox_helpers import http_session
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sandbox.salesforce import SalesforceSandbox
from sandbox.salesforce.values import make_id


def _error(exc: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    return exc.value.content[0]


@pytest.fixture(scope="module")
def account_id(sandbox: SalesforceSandbox) -> str:
    return sandbox.insert("Account", [{"Name": "Acme", "Website": "https://www.acme.example"}])[0]


def test_describe_reports_real_fields_types_lengths_and_picklists(sf: Salesforce) -> None:
    task = {f["name"]: f for f in sf.Task.describe()["fields"]}
    # A real org describes Subject as a combobox (tests/recorded compares the whole describe).
    assert task["Subject"]["type"] == "combobox" and task["Subject"]["length"] == 255
    assert task["Description"]["length"] == 32000
    assert task["WhoId"]["referenceTo"] == ["Contact", "Lead"]
    assert "Opportunity" in task["WhatId"]["referenceTo"]
    assert [p["value"] for p in task["CallType"]["picklistValues"]] == [
        "Internal",
        "Inbound",
        "Outbound",
    ]
    assert {"Email", "Call", "ListEmail", "Task"} <= {
        p["value"] for p in task["TaskSubtype"]["picklistValues"]
    }
    assert task["CallDisposition"]["length"] == 255
    event = {f["name"]: f for f in sf.Event.describe()["fields"]}
    assert event["StartDateTime"]["type"] == "datetime"
    assert event["Location"]["length"] == 255
    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert contact["LastName"]["nillable"] is False
    assert contact["LastActivityDate"]["createable"] is False
    ocr = {f["name"]: f for f in sf.OpportunityContactRole.describe()["fields"]}
    assert {"Decision Maker", "Economic Buyer"} <= {
        p["value"] for p in ocr["Role"]["picklistValues"]
    }
    for name in ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted"):
        assert name in task


def test_describe_of_an_unknown_object_is_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/Nope__c/describe")


def test_crud_round_trip_with_real_looking_ids(sf: Salesforce, account_id: str) -> None:
    created = sf.Contact.create(
        {"LastName": "Lovelace", "FirstName": "Ada", "AccountId": account_id}
    )
    cid = created["id"]
    assert len(cid) == 18 and cid.startswith("003")
    assert sf.Contact.get(cid)["Name"] == "Ada Lovelace"
    assert sf.Contact.update(cid, {"Title": "Countess"}) == 204
    assert sf.Contact.get(cid)["Title"] == "Countess"
    # 15-character ids address the same record.
    assert sf.Contact.get(cid[:15])["Id"] == cid
    assert sf.Contact.delete(cid) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(cid)


@pytest.mark.parametrize(
    ("sobject", "record", "code", "fields"),
    [
        ("Contact", {"LastName": "X", "Nickname": "y"}, "INVALID_FIELD", ["Nickname"]),
        ("Task", {"Subject": "s" * 256}, "STRING_TOO_LONG", ["Subject"]),
        ("Contact", {"FirstName": "only"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
        ("Lead", {"LastName": "L"}, "REQUIRED_FIELD_MISSING", ["Company"]),
        ("Task", {"WhoId": "not-an-id"}, "MALFORMED_ID", ["WhoId"]),
        ("Task", {"CallType": "Sideways"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["CallType"]),
        (
            "Contact",
            {"LastName": "X", "LastActivityDate": "2024-01-01"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["LastActivityDate"],
        ),
        (
            "Contact",
            {"LastName": "X", "Email": "not an address"},
            "INVALID_EMAIL_ADDRESS",
            ["Email"],
        ),
    ],
)
def test_validation_errors_have_salesforce_codes(
    sf: Salesforce, sobject: str, record: dict[str, Any], code: str, fields: list[str]
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        getattr(sf, sobject).create(record)
    assert exc.value.status == 400
    assert _error(exc)["errorCode"] == code
    assert _error(exc)["fields"] == fields


def test_reference_to_the_wrong_object_type(sf: Salesforce, account_id: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Task.create({"WhoId": account_id})  # an Account is neither Contact nor Lead
    assert _error(exc)["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_length_is_counted_in_utf16_units(sf: Salesforce) -> None:
    assert sf.Task.create({"Subject": "\U0001f600" * 127 + "x"})["success"]  # 255 units
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Task.create({"Subject": "\U0001f600" * 128})  # 128 characters, 256 units
    assert _error(exc)["errorCode"] == "STRING_TOO_LONG"


def test_reference_to_a_missing_record(sf: Salesforce) -> None:
    missing_contact = make_id("003", 987_654)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Task.create({"WhoId": missing_contact})
    assert _error(exc)["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_non_updateable_field_on_update(sf: Salesforce) -> None:
    task = sf.Task.create({"Subject": "s", "TaskSubtype": "Call"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Task.update(task, {"TaskSubtype": "Email"})
    assert _error(exc)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_bad_date_is_a_json_parser_error(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Task.create({"Subject": "x", "ActivityDate": "18/03/2026"})
    assert _error(exc)["errorCode"] == "JSON_PARSER_ERROR"


def test_opportunity_stage_is_checked_against_the_org_stages(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Opportunity.create({"Name": "D", "StageName": "Dreaming", "CloseDate": "2026-04-01"})
    assert _error(exc)["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    oid = sf.Opportunity.create(
        {"Name": "D", "StageName": "Closed Won", "CloseDate": "2026-04-01"}
    )["id"]
    opp = sf.Opportunity.get(oid)
    assert (opp["IsClosed"], opp["IsWon"], opp["Probability"]) == (True, True, 100)


def test_event_times_are_derived(sf: Salesforce) -> None:
    eid = sf.Event.create(
        {"Subject": "Demo", "StartDateTime": "2026-03-10T14:00:00Z", "DurationInMinutes": 45}
    )["id"]
    event = sf.Event.get(eid)
    assert event["EndDateTime"] == "2026-03-10T14:45:00.000+0000"
    assert event["ActivityDate"] == "2026-03-10"
    sf.Event.update(eid, {"StartDateTime": "2026-03-11T09:00:00Z"})  # moved: duration kept
    moved = sf.Event.get(eid)
    assert (moved["EndDateTime"], moved["ActivityDate"]) == (
        "2026-03-11T09:45:00.000+0000",
        "2026-03-11",
    )
    sf.Event.update(eid, {"EndDateTime": "2026-03-11T10:00:00Z"})  # longer: duration follows
    assert sf.Event.get(eid)["DurationInMinutes"] == 60
    sf.Event.update(eid, {"DurationInMinutes": 15})
    assert sf.Event.get(eid)["EndDateTime"] == "2026-03-11T09:15:00.000+0000"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Event.create({"Subject": "No end", "StartDateTime": "2026-03-10T14:00:00Z"})
    assert _error(exc)["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_python_insert_validates_like_the_api(sandbox: SalesforceSandbox) -> None:
    with pytest.raises(ValueError, match="STRING_TOO_LONG"):
        sandbox.insert("Task", [{"Subject": "x" * 300}])
    ids = sandbox.insert("Lead", [{"LastName": "L", "Company": "C", "Email": "l@c.example"}])
    assert ids[0].startswith("00Q")
    assert sandbox.get("Lead", ids[0])["IsConverted"] is False


def test_api_versions_before_46_do_not_exist(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    session = http_session(sandbox)
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    old = session.get(f"{sandbox.url}/services/data/v45.0/limits", headers=headers, timeout=10)
    assert old.status_code == 404
    assert old.json()[0]["errorCode"] == "NOT_FOUND"
    ok = session.get(f"{sandbox.url}/services/data/v46.0/limits", headers=headers, timeout=10)
    assert ok.status_code == 200
    assert ok.headers["Sforce-Limit-Info"].startswith("api-usage=")
