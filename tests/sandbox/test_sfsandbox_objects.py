"""Meeting invitees, Enhanced Email objects, child subqueries and CSV seeding."""

from __future__ import annotations

from pathlib import Path

import pytest
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox.salesforce import SalesforceSandbox
from sandbox.salesforce.values import make_id


@pytest.fixture(scope="module")
def people(sandbox: SalesforceSandbox) -> dict[str, str]:
    account = sandbox.insert("Account", [{"Name": "Umbrella"}])[0]
    alice, bob = sandbox.insert(
        "Contact",
        [
            {"LastName": "Alice", "Email": "alice@umbrella.example", "AccountId": account},
            {"LastName": "Bob", "Email": "bob@umbrella.example", "AccountId": account},
        ],
    )
    opp = sandbox.insert(
        "Opportunity",
        [
            {
                "Name": "Vaccine",
                "StageName": "Needs Analysis",
                "CloseDate": "2026-06-30",
                "AccountId": account,
            }
        ],
    )[0]
    return {"account": account, "alice": alice, "bob": bob, "opp": opp}


def test_event_with_invitees_as_event_relations(sf: Salesforce, people: dict[str, str]) -> None:
    event = sf.Event.create(
        {
            "Subject": "Workshop",
            "StartDateTime": "2026-03-05T09:00:00Z",
            "EndDateTime": "2026-03-05T10:30:00Z",
            "WhoId": people["alice"],
            "WhatId": people["opp"],
        }
    )["id"]
    sf.EventRelation.create(
        {"EventId": event, "RelationId": people["bob"], "IsInvitee": True, "Status": "Accepted"}
    )
    assert sf.Event.get(event)["DurationInMinutes"] == 90
    result = sf.query(
        format_soql(
            "SELECT Id, (SELECT RelationId, Status FROM EventRelations) FROM Event WHERE Id = {}",
            event,
        )
    )
    relations = result["records"][0]["EventRelations"]
    assert relations["totalSize"] == 1
    assert relations["records"][0]["RelationId"] == people["bob"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.EventRelation.create({"EventId": event})
    assert exc.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_all_day_event(sf: Salesforce) -> None:
    event = sf.Event.create(
        {"Subject": "Offsite", "IsAllDayEvent": True, "ActivityDate": "2026-03-09"}
    )["id"]
    stored = sf.Event.get(event)
    assert stored["DurationInMinutes"] == 1440
    assert stored["StartDateTime"] == "2026-03-09T00:00:00.000+0000"


def test_email_message_and_relations(sf: Salesforce, people: dict[str, str]) -> None:
    message = sf.EmailMessage.create(
        {
            "Subject": "Proposal",
            "Status": "3",
            "Incoming": False,
            "FromAddress": "rep@ours.example",
            "ToAddress": "alice@umbrella.example",
            "MessageDate": "2026-03-04T12:00:00Z",
            "RelatedToId": people["opp"],
        }
    )["id"]
    assert message.startswith("02s")
    sf.EmailMessageRelation.create(
        {"EmailMessageId": message, "RelationId": people["alice"], "RelationType": "ToAddress"}
    )
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.EmailMessageRelation.create({"EmailMessageId": message, "RelationType": "Nowhere"})
    assert exc.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_child_subquery_of_contact_roles(sf: Salesforce, people: dict[str, str]) -> None:
    sf.OpportunityContactRole.create(
        {
            "OpportunityId": people["opp"],
            "ContactId": people["bob"],
            "Role": "Economic Buyer",
            "IsPrimary": True,
        }
    )
    result = sf.query(
        format_soql(
            "SELECT Id, Name, (SELECT ContactId, Role, Contact.Email FROM OpportunityContactRoles) "
            "FROM Opportunity WHERE AccountId = {}",
            people["account"],
        )
    )
    roles = result["records"][0]["OpportunityContactRoles"]["records"]
    assert [(r["Role"], r["Contact"]["Email"]) for r in roles] == [
        ("Economic Buyer", "bob@umbrella.example")
    ]
    lonely = sf.query("SELECT Id, (SELECT Id FROM Contacts) FROM Account WHERE Name = 'nobody'")
    assert lonely["totalSize"] == 0
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id, (SELECT Id FROM Widgets) FROM Account")
    assert exc.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_seed_csv_keeps_ids_and_replaces_stages(tmp_path: Path) -> None:
    (tmp_path / "OpportunityStage.csv").write_text(
        "MasterLabel,ApiName,IsActive,IsClosed,IsWon,SortOrder,DefaultProbability\n"
        "Discovery,Discovery,true,false,false,1,10\n"
        "Won,Won,true,true,true,2,100\n"
    )
    (tmp_path / "Account.csv").write_text("Id,Name\n001000000000009AAA,Seed Co\n")
    (tmp_path / "Opportunity.csv").write_text(
        "Id,Name,StageName,CloseDate,AccountId,Amount,CreatedDate\n"
        "006000000000001AAA,Deal,Discovery,2026-05-01,001000000000009AAA,1200,"
        "2026-01-02T03:04:05.000+0000\n"
    )
    with SalesforceSandbox() as sb:
        counts = sb.seed_csv(tmp_path)
        assert counts == {"OpportunityStage": 2, "Account": 1, "Opportunity": 1}
        opp = sb.get("Opportunity", "006000000000001AAA")
        assert opp is not None
        assert (opp["AccountId"], opp["Amount"], opp["Probability"]) == (
            "001000000000009AAA",
            1200.0,
            10,
        )
        assert opp["CreatedDate"] == "2026-01-02T03:04:05.000+0000"
        assert sorted(r["MasterLabel"] for r in sb.records("OpportunityStage")) == [
            "Discovery",
            "Won",
        ]
        with pytest.raises(ValueError, match="bad value for restricted picklist"):
            sb.insert(
                "Opportunity",
                [{"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-01-01"}],
            )


def test_seed_csv_rejects_unknown_objects(tmp_path: Path) -> None:
    (tmp_path / "Widget.csv").write_text("Name\nx\n")
    with pytest.raises(ValueError, match="Widget"):
        SalesforceSandbox().seed_csv(tmp_path)


def test_generated_ids_skip_ids_taken_by_seeding() -> None:
    with SalesforceSandbox() as sb:
        taken = [make_id("001", n) for n in range(1, 40)]
        sb.insert("Account", [{"Id": rid, "Name": f"seeded {i}"} for i, rid in enumerate(taken)])
        fresh = sb.insert("Account", [{"Name": "new"}])[0]
        assert fresh not in taken
        assert sb.count("Account") == 40
