"""A real org's Data Loader export seeds whole: seeding is loading, not validation.

The files below have the shape of a real export: many more columns than the sandbox models
(``User.CompanyName``, ``Account.BillingLatitude``), the null lookup id ``000000000000000AAA``,
Data Loader date-times with a space and no zone, the org's Automated Process user (whose
address has no dot in its domain) and a Task related to a Case, an object the sandbox lacks.
API writes stay strict: the same values sent through the API are refused.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sandbox.salesforce import SalesforceSandbox

NULL = "000000000000000AAA"

USERS = [
    {
        "Id": "0055g00000AbCdEAAV",
        "Username": "dana@acme.example",
        "LastName": "Reyes",
        "FirstName": "Dana",
        "CompanyName": "Acme",
        "Division": "",
        "Email": "dana@acme.example",
        "Alias": "dreyes",
        "CommunityNickname": "dana",
        "IsActive": "true",
        "UserRoleId": "00E5g000001XyZaEAK",
        "ProfileId": "00e5g000001AbCdAAK",
        "UserType": "Standard",
        "ManagerId": NULL,
        "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8",
        "LastLoginDate": "2023-10-30 08:12:44",
        "CreatedDate": "2023-10-28 20:45:25",
        "CreatedById": "0055g00000AbCdEAAV",
        "SystemModstamp": "2023-10-28 20:45:25",
    },
    {
        "Id": "0055g00000AutoPAAR",
        "Username": "autoproc@00d5g000004eptxeaq",
        "LastName": "Automated Process",
        "FirstName": "",
        "CompanyName": "",
        "Division": "",
        "Email": "noreply@00d5g000004eptxeaq",
        "Alias": "autoproc",
        "CommunityNickname": "",
        "IsActive": "true",
        "UserRoleId": NULL,
        "ProfileId": "00e5g000001AutoAAC",
        "UserType": "AutomatedProcess",
        "ManagerId": NULL,
        "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8",
        "LastLoginDate": "",
        "CreatedDate": "2023-10-28 20:45:25",
        "CreatedById": "0055g00000AbCdEAAV",
        "SystemModstamp": "2023-10-28 20:45:25",
    },
]
ACCOUNTS = [
    {
        "Id": "0015g00000QwErTAAV",
        "Name": "Zoë Ltd",
        "ParentId": NULL,
        "BillingLatitude": "",
        "BillingGeocodeAccuracy": "",
        "Website": "zoe.example",
        "Rating": "Hot",
        "OwnerId": "0055g00000AbCdEAAV",
        "CreatedDate": "2023-10-28 20:45:25",
        "LastActivityDate": "2023-11-02",
    }
]
CONTACTS = [
    {
        "Id": "0035g00000ZxCvBAAV",
        "AccountId": "0015g00000QwErTAAV",
        "LastName": "Okafor",
        "FirstName": "Ada",
        "Salutation": "Ms.",
        "Name": "Ada Okafor",
        "Email": "ada@zoe.example",
        "ReportsToId": NULL,
        "MasterRecordId": NULL,
        "OwnerId": "0055g00000AbCdEAAV",
        "CreatedDate": "2023-10-29 09:01:02",
        "LeadSource": "Trade Show",
    }
]
TASKS = [
    {
        "Id": "00T5g00000TaSkAEAV",
        "WhoId": "0035g00000ZxCvBAAV",
        "WhatId": "5005g00000CaSeAAAV",
        "Subject": "Follow up",
        "ActivityDate": "2023-11-02",
        "Status": "Completed",
        "Priority": "Normal",
        "OwnerId": "0055g00000AutoPAAR",
        "RecurrenceActivityId": NULL,
        "CreatedDate": "2023-11-02 17:30:00",
    }
]


EVENTS = [
    {
        "Id": "00U5g00000EvNtAEAV",
        "WhoId": "0035g00000ZxCvBAAV",
        "Subject": "Three-day offsite",
        "StartDateTime": "2023-11-06 16:00:00",
        "EndDateTime": "2023-11-09 16:00:00",
        "DurationInMinutes": "4320",
        "OwnerId": "0055g00000AbCdEAAV",
    }
]
RELATIONS = [
    # A Shared Activities org exports the Who's own relation row too.
    {
        "Id": "0RE5g00000ReLaAGAV",
        "EventId": "00U5g00000EvNtAEAV",
        "RelationId": "0035g00000ZxCvBAAV",
        "IsParent": "true",
        "IsInvitee": "false",
        "IsWhat": "false",
    },
]


def _write(folder: Path, name: str, rows: list[dict[str, str]]) -> None:
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)


def test_a_real_export_loads_every_row(tmp_path: Path) -> None:
    for name, rows in (
        ("User", USERS),
        ("Account", ACCOUNTS),
        ("Contact", CONTACTS),
        ("Task", TASKS),
        ("Event", EVENTS),
        ("EventRelation", RELATIONS),
    ):
        _write(tmp_path, name, rows)
    with SalesforceSandbox() as sb:
        report = sb.seed_csv(tmp_path)
        assert dict(report) == {
            "User": 2,
            "Account": 1,
            "Contact": 1,
            "Task": 1,
            "Event": 1,
            "EventRelation": 1,
        }
        # An org with multi-day events exported a 3-day Event: it loads though the sandbox
        # org (multi-day events off) would refuse it through the API.
        assert sb.count("Event") == 1 and sb.count("EventRelation") == 1
        # Columns not modelled are named, not fatal.
        assert "CompanyName" in report.ignored_columns["User"]
        assert "BillingLatitude" in report.ignored_columns["Account"]
        assert "Id" not in report.ignored_columns["User"]

        robot = sb.get("User", "0055g00000AutoPAAR")
        assert robot is not None
        assert (robot["Email"], robot["UserType"]) == (
            "noreply@00d5g000004eptxeaq",
            "AutomatedProcess",
        )
        assert robot.get("ManagerId") is None  # the null id is null, not a dangling reference
        account = sb.get("Account", "0015g00000QwErTAAV")
        assert account is not None
        assert account.get("ParentId") is None
        assert account["CreatedDate"] == "2023-10-28T20:45:25.000+0000"
        assert account["Name"] == "Zoë Ltd"
        task = sb.get("Task", "00T5g00000TaSkAEAV")
        assert task is not None
        assert (task["WhoId"], task["OwnerId"]) == ("0035g00000ZxCvBAAV", "0055g00000AutoPAAR")
        contact = sb.get("Contact", "0035g00000ZxCvBAAV")
        assert contact is not None and contact["LeadSource"] == "Trade Show"


@pytest.mark.parametrize(
    ("sobject", "record", "code"),
    [
        ("User", {"Username": "x@y", "LastName": "x", "Email": "noreply@00d5g"}, "INVALID_EMAIL"),
        ("Account", {"Name": "x", "ParentId": NULL}, "FIELD_INTEGRITY_EXCEPTION"),
        ("Account", {"Name": "x", "CreatedDate": "2023-10-28 20:45:25"}, "JSON_PARSER_ERROR"),
    ],
)
def test_the_api_stays_strict(sobject: str, record: dict[str, str], code: str) -> None:
    with SalesforceSandbox() as sb, pytest.raises(ValueError, match=code):
        sb.insert(sobject, [record])
