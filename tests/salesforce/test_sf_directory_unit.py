"""The directory's indexes, against a stub of the client's ``query_many`` (plain data in)."""

from __future__ import annotations

from syncd.salesforce.directory import Directory


class _Rows:
    """Answers query_many from per-object row lists, recording the queries it was asked."""

    def __init__(self, rows: dict[str, list[dict]]) -> None:
        self.rows = rows
        self.asked: list[dict[str, tuple[str, bool]]] = []

    def query_many(self, queries: dict[str, tuple[str, bool]]) -> dict[str, list[dict]]:
        self.asked.append(queries)
        return {name: self.rows.get(name, []) for name in queries}


STAMP = "2026-01-01T10:00:00.000+0000"


def _org() -> dict[str, list[dict]]:
    return {
        "User": [
            {
                "Id": "005A",
                "Name": "Rep",
                "Email": "Rep@Corp.com",
                "IsActive": True,
                "TimeZoneSidKey": "America/Chicago",
                "SystemModstamp": STAMP,
            }
        ],
        "Organization": [
            {"Id": "00DA", "TimeZoneSidKey": "America/New_York", "SystemModstamp": STAMP}
        ],
        "Contact": [
            {
                "Id": "003A",
                "Name": "Jo",
                "Email": "jo.smith+x@gmail.com",
                "Phone": "+1 415 555 0100",
                "AccountId": "001A",
                "SystemModstamp": STAMP,
            },
            {
                "Id": "003B",
                "Name": "Jo twin",
                "Email": "JoSmith@googlemail.com",
                "AccountId": "001A",
                "SystemModstamp": STAMP,
            },
            {
                "Id": "003C",
                "Name": "O'Brien",
                "Email": "o'brien@example.com",
                "MobilePhone": "415-555-0199",
                "SystemModstamp": STAMP,
            },
        ],
        "Lead": [
            {
                "Id": "00QA",
                "Email": "lead@prospect.io",
                "Company": "P",
                "IsConverted": False,
                "SystemModstamp": STAMP,
            }
        ],
        "Account": [
            {
                "Id": "001A",
                "Name": "Acme",
                "Website": "https://www.Acme.com/about",
                "SystemModstamp": STAMP,
            }
        ],
        "Opportunity": [
            {
                "Id": "006A",
                "AccountId": "001A",
                "StageName": "Proposal",
                "IsClosed": False,
                "Amount": 10,
                "SystemModstamp": STAMP,
            }
        ],
        "OpportunityContactRole": [
            {
                "Id": "00KA",
                "OpportunityId": "006A",
                "ContactId": "003A",
                "Role": "Decision Maker",
                "IsPrimary": True,
                "SystemModstamp": STAMP,
            }
        ],
        "OpportunityStage": [
            {
                "Id": "01J2",
                "MasterLabel": "Proposal",
                "IsClosed": False,
                "IsWon": False,
                "SortOrder": 2,
                "DefaultProbability": 50,
                "SystemModstamp": STAMP,
            },
            {
                "Id": "01J1",
                "MasterLabel": "Prospecting",
                "IsClosed": False,
                "IsWon": False,
                "SortOrder": 1,
                "DefaultProbability": 10,
                "SystemModstamp": STAMP,
            },
        ],
    }


def test_load_builds_every_index() -> None:
    stub = _Rows(_org())
    d = Directory.load(stub)
    assert len(stub.asked) == 1 and len(stub.asked[0]) == 8
    # Each rep's own zone, and the org's for users whose zone is unknown.
    assert (d.time_zone_of("005A"), d.time_zone_of("005Z")) == ("America/Chicago", None)
    assert d.org_time_zone == "America/New_York"
    # One list with both gmail spellings: the ambiguity is visible to the matcher.
    assert [c.id for c in d.contacts_by_email("JO.SMITH@gmail.com")] == ["003A", "003B"]
    assert [c.id for c in d.contacts_by_email("o'brien@example.com")] == ["003C"]
    assert [c.id for c in d.contacts_by_phone("(415) 555-0199")] == ["003C"]
    assert d.contacts_by_phone("14155550100")[0].id == "003A"
    assert [x.id for x in d.leads_by_email("LEAD@prospect.io")] == ["00QA"]
    assert d.user_by_email("rep@corp.com").id == "005A"
    assert d.user_by_email("nobody@corp.com") is None
    assert [a.id for a in d.accounts_by_domain("acme.com")] == ["001A"]
    assert [o.id for o in d.open_opportunities_for_account("001A")] == ["006A"]
    assert [r.role for r in d.contact_roles_for_contact("003A")] == ["Decision Maker"]
    assert [s.label for s in d.stages_in_order()] == ["Prospecting", "Proposal"]


def test_refresh_applies_changes_deletions_and_status_changes() -> None:
    org = _org()
    d = Directory.load(_Rows(org))
    later = "2026-01-01T11:00:00.000+0000"
    changes_only = {
        "Contact": [
            {"Id": "003C", "Name": "O'Brien", "Email": "ob@new.example", "SystemModstamp": later},
            {"Id": "003B", "IsDeleted": True, "SystemModstamp": later},
        ],
        "Opportunity": [
            {"Id": "006A", "AccountId": "001A", "IsClosed": True, "SystemModstamp": later}
        ],
        "Lead": [
            {
                "Id": "00QA",
                "Email": "lead@prospect.io",
                "IsConverted": True,
                "SystemModstamp": later,
            }
        ],
        "User": [
            {"Id": "005A", "Email": "rep@corp.com", "IsActive": False, "SystemModstamp": later}
        ],
    }
    stub = _Rows(changes_only)
    changes = d.refresh(stub)
    asked = stub.asked[0]
    # Incremental: every query is bounded by the newest stamp seen, deletions via queryAll.
    assert asked["Contact"][0].endswith("WHERE SystemModstamp > 2026-01-01T10:00:00.000Z")
    assert asked["Contact"][1] is True and asked["User"][1] is False
    assert "IsDeleted" in asked["Contact"][0]
    assert changes.changed["Contact"] == {"003C"}
    assert changes.removed["Contact"] == {"003B"}
    assert changes.ids("Opportunity", "Lead", "User") == {"006A", "00QA", "005A"}
    assert d.contacts_by_email("o'brien@example.com") == []
    assert [c.id for c in d.contacts_by_email("ob@new.example")] == ["003C"]
    assert [c.id for c in d.contacts_by_email("josmith@gmail.com")] == ["003A"]
    assert d.open_opportunities_for_account("001A") == []
    assert d.contact_roles_for_contact("003A") == []  # its opportunity closed
    assert d.leads_by_email("lead@prospect.io") == []
    assert d.user_by_email("rep@corp.com") is None
    assert not d.refresh(_Rows({}))  # nothing new: an empty change set


def test_injectable_phone_key() -> None:
    def last_seven(p: str) -> str | None:
        digits = "".join(c for c in p if c.isdigit())
        return digits[-7:] or None

    d = Directory.load(_Rows(_org()), phone_key=last_seven)
    assert [c.id for c in d.contacts_by_phone("555 0199")] == ["003C"]


def test_a_closed_opportunity_the_directory_never_held_is_not_a_change() -> None:
    directory = Directory.load(_Rows(_org()))
    later = "2026-01-02T10:00:00.000+0000"
    closed = {
        "Id": "006CLOSED",
        "Name": "Lost deal",
        "AccountId": "001A",
        "StageName": "Closed Lost",
        "IsClosed": True,
        "SystemModstamp": later,
    }
    changes = directory.refresh(_Rows({"Opportunity": [closed]}))
    assert not changes
    assert "006CLOSED" not in directory.opportunities
