"""Salesforce's own side effects: LastActivityDate roll-ups and opportunity history."""

from __future__ import annotations

import pytest
from sfsandbox_helpers import FakeClock
from simple_salesforce import Salesforce, format_soql

from sandbox.salesforce import SalesforceSandbox


@pytest.fixture
def deal(sandbox: SalesforceSandbox) -> dict[str, str]:
    account = sandbox.insert("Account", [{"Name": "Initech"}])[0]
    contact = sandbox.insert("Contact", [{"LastName": "Lumbergh", "AccountId": account}])[0]
    opp = sandbox.insert(
        "Opportunity",
        [
            {
                "Name": "TPS",
                "StageName": "Qualification",
                "CloseDate": "2026-04-30",
                "Amount": 1000.0,
                "AccountId": account,
            }
        ],
    )[0]
    return {"account": account, "contact": contact, "opp": opp}


def test_completed_task_rolls_up_last_activity_date(
    sf: Salesforce, sandbox: SalesforceSandbox, deal: dict[str, str]
) -> None:
    sf.Task.create(
        {
            "Subject": "Call",
            "Status": "Completed",
            "ActivityDate": "2026-03-10",
            "WhoId": deal["contact"],
            "WhatId": deal["opp"],
        }
    )
    for sobject, key in (("Contact", "contact"), ("Opportunity", "opp"), ("Account", "account")):
        assert sandbox.get(sobject, deal[key])["LastActivityDate"] == "2026-03-10"
    # An open task is not logged activity; an older completed one does not move the date back.
    sf.Task.create(
        {
            "Subject": "Todo",
            "Status": "Not Started",
            "ActivityDate": "2026-03-15",
            "WhoId": deal["contact"],
        }
    )
    sf.Task.create(
        {
            "Subject": "Old",
            "Status": "Completed",
            "ActivityDate": "2026-01-01",
            "WhoId": deal["contact"],
        }
    )
    assert sandbox.get("Contact", deal["contact"])["LastActivityDate"] == "2026-03-10"
    task = sf.query(
        format_soql("SELECT AccountId FROM Task WHERE WhoId = {} LIMIT 1", deal["contact"])
    )
    assert task["records"][0]["AccountId"] == deal["account"]


def test_past_events_count_and_future_events_do_not(
    sf: Salesforce, sandbox: SalesforceSandbox, deal: dict[str, str], clock: FakeClock
) -> None:
    sf.Event.create(
        {
            "Subject": "Future",
            "StartDateTime": "2026-03-25T10:00:00Z",
            "DurationInMinutes": 30,
            "WhatId": deal["opp"],
        }
    )
    assert sandbox.get("Opportunity", deal["opp"]).get("LastActivityDate") is None
    sf.Event.create(
        {
            "Subject": "Past",
            "StartDateTime": "2026-03-12T10:00:00Z",
            "DurationInMinutes": 30,
            "WhatId": deal["opp"],
        }
    )
    assert sandbox.get("Opportunity", deal["opp"])["LastActivityDate"] == "2026-03-12"
    assert sandbox.get("Account", deal["account"])["LastActivityDate"] == "2026-03-12"


def test_opportunity_history_and_field_history(
    sf: Salesforce, sandbox: SalesforceSandbox, deal: dict[str, str]
) -> None:
    opp = deal["opp"]
    sf.Opportunity.update(opp, {"CloseDate": "2026-05-31"})
    sf.Opportunity.update(opp, {"StageName": "Proposal/Price Quote", "Amount": 1500.0})
    sf.Opportunity.update(opp, {"NextStep": "Send contract"})  # not a history field
    history = sf.query(
        format_soql(
            "SELECT StageName, Amount, CloseDate, PrevAmount, PrevCloseDate, Probability "
            "FROM OpportunityHistory WHERE OpportunityId = {} ORDER BY CreatedDate, Id",
            opp,
        )
    )["records"]
    assert [(h["StageName"], h["CloseDate"], h["PrevCloseDate"]) for h in history] == [
        ("Qualification", "2026-04-30", None),
        ("Qualification", "2026-05-31", "2026-04-30"),
        ("Proposal/Price Quote", "2026-05-31", "2026-05-31"),
    ]
    assert history[2]["PrevAmount"] == 1000.0 and history[2]["Amount"] == 1500.0
    assert history[2]["Probability"] == 75  # the stage's default probability
    fields = sf.query(
        format_soql(
            "SELECT Field, OldValue, NewValue FROM OpportunityFieldHistory "
            "WHERE OpportunityId = {} ORDER BY CreatedDate, Id",
            opp,
        )
    )["records"]
    assert [(f["Field"], f["OldValue"], f["NewValue"]) for f in fields] == [
        ("CloseDate", "2026-04-30", "2026-05-31"),
        ("StageName", "Qualification", "Proposal/Price Quote"),
    ]


def test_closing_derives_is_closed_and_is_won(
    sf: Salesforce, sandbox: SalesforceSandbox, deal: dict[str, str]
) -> None:
    sf.Opportunity.update(deal["opp"], {"StageName": "Closed Lost"})
    opp = sandbox.get("Opportunity", deal["opp"])
    assert (opp["IsClosed"], opp["IsWon"], opp["ForecastCategoryName"]) == (True, False, "Omitted")


def test_history_is_read_only_through_the_api(sf: Salesforce, deal: dict[str, str]) -> None:
    reply = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {"attributes": {"type": "OpportunityHistory"}, "OpportunityId": deal["opp"]}
            ]
        },
    )
    assert reply[0]["success"] is False
    assert reply[0]["errors"][0]["statusCode"] == "INVALID_TYPE_FOR_OPERATION"


def test_backdated_python_updates_build_a_deal_history(
    sandbox: SalesforceSandbox, deal: dict[str, str]
) -> None:
    opp = deal["opp"]
    for when, close in (
        ("2026-01-05T10:00:00Z", "2026-05-15"),
        ("2026-02-05T10:00:00Z", "2026-06-15"),
    ):
        sandbox.update("Opportunity", opp, {"CloseDate": close, "LastModifiedDate": when})
    pushes = [
        (h["CreatedDate"], h["OldValue"], h["NewValue"])
        for h in sandbox.records("OpportunityFieldHistory")
        if h["OpportunityId"] == opp
    ]
    assert pushes == [
        ("2026-01-05T10:00:00.000+0000", "2026-04-30", "2026-05-15"),
        ("2026-02-05T10:00:00.000+0000", "2026-05-15", "2026-06-15"),
    ]
    with pytest.raises(ValueError, match="REQUIRED_FIELD_MISSING"):
        sandbox.update("Opportunity", opp, {"CloseDate": None})
