"""sObject Collections, upsert by external id, composite and the Tooling API custom field."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

import pytest
from sfsandbox_helpers import connect, grant_key_field
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sandbox.salesforce import SalesforceSandbox

KEY_FIELD = {
    "FullName": "Activity.Syncd_Key__c",
    "Metadata": {
        "label": "Syncd Key",
        "type": "Text",
        "length": 255,
        "externalId": True,
        "unique": True,
        "caseSensitive": True,
    },
}


def _upsert(sf: Salesforce, sobject: str, records: list[dict[str, Any]], **body: Any) -> Any:
    payload = {
        "allOrNone": False,
        "records": [{"attributes": {"type": sobject}} | r for r in records],
    } | body
    return sf.restful(f"composite/sobjects/{sobject}/Syncd_Key__c", method="PATCH", json=payload)


def _tasks(n: int, prefix: str = "em:") -> list[dict[str, Any]]:
    return [
        {
            "Syncd_Key__c": f"{prefix}{i}",
            "Subject": f"Email: {i}",
            "Status": "Completed",
            "TaskSubtype": "Email",
            "ActivityDate": "2026-03-01",
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def with_key(sandbox: SalesforceSandbox, sf: Salesforce) -> Salesforce:
    """The org after the custom field was created through the Tooling API."""
    before = {f["name"] for f in sf.Task.describe()["fields"]}
    assert "Syncd_Key__c" not in before
    with pytest.raises(SalesforceResourceNotFound) as exc:
        _upsert(sf, "Task", _tasks(1))
    assert exc.value.content[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceMalformedRequest) as exc2:
        sf.Task.create({"Subject": "x", "Syncd_Key__c": "k"})
    assert exc2.value.content[0]["errorCode"] == "INVALID_FIELD"
    result = sf.toolingexecute("sobjects/CustomField", method="POST", data=KEY_FIELD)
    assert result["success"] is True and result["id"].startswith("00N")
    grant_key_field(sf, sandbox)
    return sf


def test_tooling_field_exists_on_task_and_event(with_key: Salesforce) -> None:
    for sobject in (with_key.Task, with_key.Event):
        fields = {f["name"]: f for f in sobject.describe()["fields"]}
        key = fields["Syncd_Key__c"]
        assert (key["externalId"], key["unique"], key["length"], key["custom"]) == (
            True,
            True,
            255,
            True,
        )
    found = with_key.toolingexecute(
        "query/?q=SELECT+Id,+DeveloperName+FROM+CustomField+WHERE+DeveloperName+=+'Syncd_Key'"
    )
    assert found["totalSize"] == 1
    assert found["records"][0]["DeveloperName"] == "Syncd_Key"


def test_creating_the_field_twice_is_a_duplicate(with_key: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        with_key.toolingexecute("sobjects/CustomField", method="POST", data=KEY_FIELD)
    assert exc.value.content[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"


def test_collection_upsert_creates_then_updates(
    with_key: Salesforce, sandbox: SalesforceSandbox
) -> None:
    before = sandbox.count("Task")
    first = _upsert(with_key, "Task", _tasks(200, "up:"))
    assert len(first) == 200 and all(r["success"] and r["created"] for r in first)
    # TaskSubtype is create-only in Salesforce: an upsert that updates must leave it out.
    again = [r | {"Subject": "changed"} for r in _tasks(200, "up:")]
    refused = _upsert(with_key, "Task", again[:1])
    assert refused[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert refused[0]["errors"][0]["fields"] == ["TaskSubtype"]
    second = _upsert(
        with_key, "Task", [{k: v for k, v in r.items() if k != "TaskSubtype"} for r in again]
    )
    assert [r["id"] for r in second] == [r["id"] for r in first]
    assert not any(r["created"] for r in second)
    assert sandbox.count("Task") == before + 200
    assert sandbox.get("Task", first[0]["id"])["Subject"] == "changed"


def test_more_than_200_records_are_rejected(with_key: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _upsert(with_key, "Task", _tasks(201, "big:"))
    assert exc.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_per_record_errors_and_all_or_none(
    with_key: Salesforce, sandbox: SalesforceSandbox
) -> None:
    records = _tasks(3, "aon:")
    records[1]["Subject"] = "x" * 300
    partial = _upsert(with_key, "Task", records)
    assert [r["success"] for r in partial] == [True, False, True]
    assert partial[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    before = sandbox.count("Task")
    records = _tasks(3, "aon2:")
    records[2]["CallType"] = "Sideways"
    rolled = _upsert(with_key, "Task", records, allOrNone=True)
    assert [r["success"] for r in rolled] == [False, False, False]
    codes = [r["errors"][0]["statusCode"] for r in rolled]
    assert codes == ["ALL_OR_NONE_OPERATION_ROLLED_BACK"] * 2 + [
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    ]
    assert sandbox.count("Task") == before


def test_unique_key_is_enforced_on_create(with_key: Salesforce) -> None:
    with_key.Task.create({"Subject": "a", "Syncd_Key__c": "dup:1"})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        with_key.Task.create({"Subject": "b", "Syncd_Key__c": "dup:1"})
    assert exc.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_concurrent_upserts_of_the_same_keys_leave_one_record_each(
    with_key: Salesforce, sandbox: SalesforceSandbox
) -> None:
    clients = [connect(sandbox) for _ in range(4)]
    records = [{k: v for k, v in r.items() if k != "TaskSubtype"} for r in _tasks(50, "race:")]
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda c=c: results.append(_upsert(c, "Task", records)))
        for c in clients
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert all(r["success"] for batch in results for r in batch)
    ids = {r["id"] for batch in results for r in batch}
    assert len(ids) == 50
    keys = [t.get("Syncd_Key__c") for t in sandbox.records("Task")]
    assert sum(1 for k in keys if k and k.startswith("race:")) == 50


def test_sobject_upsert_by_external_id(with_key: Salesforce) -> None:
    created = with_key.Event.upsert(
        "Syncd_Key__c/mt:1",
        {"Subject": "Kick-off", "StartDateTime": "2026-03-02T10:00:00Z", "DurationInMinutes": 30},
    )
    assert created == 201
    again = with_key.Event.upsert("Syncd_Key__c/mt:1", {"Subject": "Kick-off (moved)"})
    assert again == 200
    assert with_key.Event.get_by_custom_id("Syncd_Key__c", "mt:1")["Subject"] == "Kick-off (moved)"


def test_collection_create_update_and_delete(sf: Salesforce, sandbox: SalesforceSandbox) -> None:
    created = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {"attributes": {"type": "Account"}, "Name": "One"},
                {"attributes": {"type": "Contact"}, "LastName": "Two"},
                {"attributes": {"type": "Contact"}, "FirstName": "no last name"},
            ]
        },
    )
    assert [r["success"] for r in created] == [True, True, False]
    assert created[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    updated = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [
                {
                    "attributes": {"type": "Account"},
                    "Id": created[0]["id"],
                    "Website": "one.example",
                },
            ]
        },
    )
    assert updated[0]["success"]
    assert sandbox.get("Account", created[0]["id"])["Website"] == "one.example"
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": created[1]["id"]})
    assert deleted[0]["success"]
    assert sandbox.get("Contact", created[1]["id"])["IsDeleted"] is True


def test_composite_runs_subrequests_as_one_call(sf: Salesforce, sandbox: SalesforceSandbox) -> None:
    base = f"/services/data/v{sandbox.api_version}"
    before = sandbox.api_calls_used
    reply = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{base}/sobjects/Account",
                    "referenceId": "acct",
                    "body": {"Name": "Composite Co"},
                },
                {
                    "method": "POST",
                    "url": f"{base}/sobjects/Contact",
                    "referenceId": "ct",
                    "body": {"LastName": "Ref", "AccountId": "@{acct.id}"},
                },
                {
                    "method": "GET",
                    "url": f"{base}/query?q=SELECT+Id+FROM+Contact+WHERE+LastName='Ref'",
                    "referenceId": "q",
                },
            ],
        },
    )
    statuses = [r["httpStatusCode"] for r in reply["compositeResponse"]]
    assert statuses == [201, 201, 200]
    assert sandbox.api_calls_used == before + 1
    contact = sandbox.get("Contact", reply["compositeResponse"][1]["body"]["id"])
    assert contact["AccountId"] == reply["compositeResponse"][0]["body"]["id"]
    too_many = [
        {"method": "GET", "url": f"{base}/limits", "referenceId": f"r{i}"} for i in range(26)
    ]
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": too_many})


def test_composite_all_or_none_rolls_back(sf: Salesforce, sandbox: SalesforceSandbox) -> None:
    base = f"/services/data/v{sandbox.api_version}"
    before = sandbox.count("Account")
    reply = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{base}/sobjects/Account",
                    "referenceId": "a",
                    "body": {"Name": "Rolled back"},
                },
                {
                    "method": "POST",
                    "url": f"{base}/sobjects/Account",
                    "referenceId": "b",
                    "body": {"Website": "no-name.example"},
                },
            ],
        },
    )
    assert [r["httpStatusCode"] for r in reply["compositeResponse"]] == [201, 400]
    assert sandbox.count("Account") == before


def test_external_id_values_with_slashes_round_trip(with_key: Salesforce) -> None:
    key = "cl:aircall/42"
    assert with_key.Task.upsert(f"Syncd_Key__c/{quote(key, safe='')}", {"Subject": "x"}) == 201
    found = with_key.query(
        format_soql("SELECT Syncd_Key__c FROM Task WHERE Syncd_Key__c = {}", key)
    )
    assert [r["Syncd_Key__c"] for r in found["records"]] == [key]
