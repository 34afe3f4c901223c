"""Field-level security in the sandbox org: a Tooling-created field is hidden until granted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sfsandbox_helpers import connect, grant_key_field
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sandbox.salesforce import SalesforceSandbox

FIELD = {
    "FullName": "Activity.Syncd_Key__c",
    "Metadata": {"label": "Syncd Key", "type": "Text", "length": 255, "externalId": True},
}


@pytest.fixture
def org() -> Iterator[tuple[SalesforceSandbox, Salesforce]]:
    with SalesforceSandbox() as sb:
        sf = connect(sb)
        sf.toolingexecute("sobjects/CustomField", method="POST", data=FIELD)
        yield sb, sf


def _upsert(sf: Salesforce) -> Any:
    body = {"records": [{"attributes": {"type": "Task"}, "Syncd_Key__c": "k1", "Subject": "x"}]}
    return sf.restful("composite/sobjects/Task/Syncd_Key__c", method="PATCH", json=body)


def _error(exc: pytest.ExceptionInfo[Any]) -> str:
    return str(exc.value.content[0]["errorCode"])


def test_a_new_field_is_invisible_to_the_api_user(
    org: tuple[SalesforceSandbox, Salesforce],
) -> None:
    sb, sf = org
    assert "Syncd_Key__c" not in {f["name"] for f in sf.Task.describe()["fields"]}
    with pytest.raises(SalesforceMalformedRequest) as query:
        sf.query("SELECT Id, Syncd_Key__c FROM Task")
    assert _error(query) == "INVALID_FIELD" and query.value.status == 400
    with pytest.raises(SalesforceResourceNotFound) as upsert:
        _upsert(sf)
    assert upsert.value.content == [
        {
            "message": "Provided external ID field does not exist or is not accessible: "
            "Syncd_Key__c",
            "errorCode": "NOT_FOUND",
        }
    ]
    answer = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"records": [{"attributes": {"type": "Task"}, "Subject": "x", "Syncd_Key__c": "k"}]},
    )
    assert answer[0]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert sb.count("Task") == 0


def test_a_grant_and_an_assignment_make_it_visible_and_removing_them_hides_it(
    org: tuple[SalesforceSandbox, Salesforce],
) -> None:
    sb, sf = org
    ps, assignment = grant_key_field(sf, sb, edit=False)
    # Read only: visible, but not writable.
    key = {f["name"]: f for f in sf.Event.describe()["fields"]}["Syncd_Key__c"]
    assert (key["createable"], key["updateable"]) == (False, False)
    assert _upsert(sf)[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"

    grants = sf.query(format_soql("SELECT Id FROM FieldPermissions WHERE ParentId = {}", ps))
    for row in grants["records"]:
        sf.FieldPermissions.update(row["Id"], {"PermissionsEdit": True})
    assert _upsert(sf)[0]["created"] is True
    assert sf.query("SELECT Syncd_Key__c FROM Task")["records"][0]["Syncd_Key__c"] == "k1"

    sf.PermissionSetAssignment.delete(assignment)
    with pytest.raises(SalesforceResourceNotFound):
        _upsert(sf)
    assert sb.count("Task") == 1


def test_the_permission_objects_validate_like_salesforce(
    org: tuple[SalesforceSandbox, Salesforce],
) -> None:
    sb, sf = org
    ps = sf.PermissionSet.create({"Name": "Syncd_Integration", "Label": "Syncd"})["id"]
    bad = {
        "unknown field": {"Field": "Task.Nope__c", "PermissionsRead": True},
        "standard required field": {"Field": "Task.Id", "PermissionsRead": True},
        "edit without read": {"Field": "Task.Syncd_Key__c", "PermissionsEdit": True},
    }
    codes = {}
    for name, values in bad.items():
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.FieldPermissions.create({"ParentId": ps, "SobjectType": "Task", **values})
        codes[name] = _error(exc)
    assert codes == {
        "unknown field": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "standard required field": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "edit without read": "FIELD_INTEGRITY_EXCEPTION",
    }
    with pytest.raises(SalesforceMalformedRequest) as name:
        sf.PermissionSet.create({"Name": "Has Spaces", "Label": "x"})
    assert _error(name) == "FIELD_INTEGRITY_EXCEPTION"

    assignment = {"PermissionSetId": ps, "AssigneeId": sb.auth.run_as_user_id}
    sf.PermissionSetAssignment.create(assignment)
    with pytest.raises(SalesforceMalformedRequest) as dup:
        sf.PermissionSetAssignment.create(assignment)
    assert _error(dup) == "DUPLICATE_VALUE"
    found = sf.query(
        format_soql("SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = {}", ps)
    )
    assert [r["AssigneeId"] for r in found["records"]] == [sb.auth.run_as_user_id]
