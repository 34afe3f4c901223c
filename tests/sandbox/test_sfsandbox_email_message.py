"""Enhanced Email in the sandbox org: EmailMessage's fields, relations, activity and rules.

Through the real simple-salesforce client over HTTPS: JunctionIdList ids become
EmailMessageRelation rows, Salesforce's own Task appears on the opportunity's timeline, a sent
message refuses standard-field updates, and an org without Enhanced Email has no EmailMessage.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sfsandbox_helpers import connect
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sandbox.salesforce import SalesforceSandbox


@pytest.fixture
def people(sandbox: SalesforceSandbox) -> dict[str, str]:
    account = sandbox.insert("Account", [{"Name": "Acme"}])[0]
    deal = {"Name": "Acme deal", "StageName": "Prospecting", "CloseDate": "2026-06-30"}
    opp = sandbox.insert("Opportunity", [deal | {"AccountId": account}])[0]
    c1, c2 = sandbox.insert(
        "Contact",
        [
            {"LastName": "Ada", "Email": "ada@acme.test", "AccountId": account},
            {"LastName": "Bo", "Email": "bo@acme.test", "AccountId": account},
        ],
    )
    lead = sandbox.insert("Lead", [{"LastName": "Cy", "Company": "Cyco", "Email": "cy@c.test"}])[0]
    return {"account": account, "opp": opp, "c1": c1, "c2": c2, "lead": lead}


def _message(people: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "Subject": "Pricing",
        "FromAddress": "rep@ours.test",
        "FromName": "Rep",
        "ToAddress": "someone@else.test",
        "ToIds": [people["c1"]],
        "CcIds": [people["c2"], people["lead"]],
        "MessageDate": "2026-03-18T10:00:00.000+0000",
        "MessageIdentifier": "<m1@ours.test>",
        "ThreadIdentifier": "<m1@ours.test>",
        "Incoming": False,
        "Status": "3",
        "RelatedToId": people["opp"],
    } | extra


def test_describe_lists_the_documented_fields(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.EmailMessage.describe()["fields"]}
    assert fields["Subject"]["length"] == 3000
    assert fields["TextBody"]["length"] == 131072
    assert fields["ToAddress"]["length"] == 4000
    assert fields["FromAddress"]["type"] == "email"
    assert fields["MessageIdentifier"]["length"] == 255
    for name in ("ToIds", "CcIds", "BccIds"):
        assert fields[name]["type"] == "junctionidlist"
    assert [v["value"] for v in fields["Status"]["picklistValues"]] == list("012345")
    assert fields["ReplyToEmailMessageId"]["referenceTo"] == ["EmailMessage"]
    assert not fields["Incoming"]["updateable"]
    types = {
        v["value"]
        for v in sf.EmailMessageRelation.describe()["fields"]
        if v["name"] == "RelationType"
        for v in v["picklistValues"]
    }
    assert types == {"FromAddress", "ToAddress", "CcAddress", "BccAddress", "OtherAddress"}


def test_junction_ids_become_relations_and_the_activity_is_created(
    sandbox: SalesforceSandbox, sf: Salesforce, people: dict[str, str]
) -> None:
    mid = sf.EmailMessage.create(_message(people))["id"]
    soql = format_soql(
        "SELECT RelationId, RelationType, RelationObjectType, RelationAddress "
        "FROM EmailMessageRelation WHERE EmailMessageId = {}",
        mid,
    )
    rows = sf.query(soql)["records"]
    got = {(r["RelationId"], r["RelationType"], r["RelationObjectType"]) for r in rows}
    assert got == {
        (people["c1"], "ToAddress", "Contact"),
        (people["c2"], "CcAddress", "Contact"),
        (people["lead"], "CcAddress", "Lead"),
    }
    assert {r["RelationAddress"] for r in rows} == {"ada@acme.test", "bo@acme.test", "cy@c.test"}
    message = sandbox.get("EmailMessage", mid)
    assert message is not None and "ToIds" not in message
    task = sandbox.get("Task", message["ActivityId"])
    assert task is not None
    assert task["TaskSubtype"] == "Email" and task["Status"] == "Completed"
    assert task["WhatId"] == people["opp"] and task["WhoId"] == people["c1"]
    assert task["Subject"] == "Email: Pricing" and task["ActivityDate"] == "2026-03-18"
    opp = sandbox.get("Opportunity", people["opp"])
    assert opp is not None and opp["LastActivityDate"] == "2026-03-18"


def test_an_unread_incoming_message_gets_an_open_task(
    sandbox: SalesforceSandbox, sf: Salesforce, people: dict[str, str]
) -> None:
    mid = sf.EmailMessage.create(_message(people, Incoming=True, Status="0"))["id"]
    message = sandbox.get("EmailMessage", mid)
    assert message is not None
    task = sandbox.get("Task", message["ActivityId"])
    assert task is not None and task["Status"] == "Not Started"


def test_a_sent_message_updates_only_isexternallyvisible_and_custom_fields(
    sf: Salesforce, people: dict[str, str]
) -> None:
    mid = sf.EmailMessage.create(_message(people))["id"]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.EmailMessage.update(mid, {"Subject": "Changed", "IsExternallyVisible": True})
    assert refused.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert refused.value.content[0]["fields"] == ["Subject"]
    assert sf.EmailMessage.update(mid, {"IsExternallyVisible": True}) == 204
    draft = sf.EmailMessage.create(_message(people, Status="5"))["id"]
    assert sf.EmailMessage.update(draft, {"Subject": "Edited draft"}) == 204


def test_the_same_relation_twice_is_a_duplicate(sf: Salesforce, people: dict[str, str]) -> None:
    mid = sf.EmailMessage.create(_message(people))["id"]
    row = {"EmailMessageId": mid, "RelationId": people["c1"], "RelationType": "ToAddress"}
    with pytest.raises(SalesforceMalformedRequest) as dup:
        sf.EmailMessageRelation.create(row)
    assert dup.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    sender = {"EmailMessageId": mid, "RelationId": people["c1"], "RelationType": "FromAddress"}
    assert sf.EmailMessageRelation.create(sender)["success"]


def test_composite_references_reach_into_a_collection_answer(
    sf: Salesforce, people: dict[str, str]
) -> None:
    record = {"attributes": {"type": "EmailMessage"}, **_message(people, ToIds=[], CcIds=[])}
    relation = {
        "attributes": {"type": "EmailMessageRelation"},
        "EmailMessageId": "@{msgs[0].id}",
        "RelationId": people["c2"],
        "RelationType": "FromAddress",
    }
    bad = {**relation, "EmailMessageId": "@{msgs[1].id}"}

    def composite(*records: dict[str, Any]) -> list[dict[str, Any]]:
        sub = [
            {"method": "POST", "url": f"/services/data/v{sf.sf_version}/composite/sobjects",
             "referenceId": "msgs", "body": {"allOrNone": False, "records": [record]}},
            {"method": "POST", "url": f"/services/data/v{sf.sf_version}/composite/sobjects",
             "referenceId": "rels", "body": {"allOrNone": False, "records": list(records)}},
        ]  # fmt: skip
        return sf.restful("composite", method="POST", json={"compositeRequest": sub})[
            "compositeResponse"
        ]

    ok = composite(relation)
    assert ok[1]["httpStatusCode"] == 200 and ok[1]["body"][0]["success"]
    refused = composite(bad)
    assert refused[1]["httpStatusCode"] == 400
    assert refused[1]["body"][0]["errorCode"] == "INVALID_REFERENCE"


@pytest.fixture
def plain_org() -> Iterator[tuple[SalesforceSandbox, Salesforce]]:
    with SalesforceSandbox() as sb:
        sb.disable_enhanced_email()
        yield sb, connect(sb)


def test_an_org_without_enhanced_email_has_no_emailmessage(
    plain_org: tuple[SalesforceSandbox, Salesforce],
) -> None:
    _sb, sf = plain_org
    with pytest.raises(SalesforceResourceNotFound):
        sf.EmailMessage.describe()
    with pytest.raises(SalesforceMalformedRequest) as soql:
        sf.query("SELECT Id FROM EmailMessage")
    assert soql.value.content[0]["errorCode"] == "INVALID_TYPE"
    answer = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"allOrNone": False, "records": [{"attributes": {"type": "EmailMessage"}}]},
    )
    assert answer[0]["errors"][0]["statusCode"] == "INVALID_TYPE"
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert "EmailMessage" not in names and "Task" in names
