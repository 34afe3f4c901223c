"""Contract tests on responses recorded from a real Salesforce org (v60.0).

1. Every recorded query response parses through syncd's Salesforce directory: each record of
   the objects syncd reads (Account, Contact, Lead, Opportunity) is indexed, with its stamp.
2. The sandbox org, asked the same request over HTTPS with simple-salesforce, answers with the
   recording's keys, nesting and JSON types (``attributes``, ``totalSize``, ``done``, related
   records as nested objects; the Tooling API's ``size``/``queryLocator``/``entityTypeName``;
   create's ``id``/``success``/``errors``; update and delete as 204 with no body).
The request is rebuilt from the recording (the object from ``attributes.type``, the fields from
the record's keys). Where the two disagree the recording wins: fix the sandbox.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from recorded_shapes import recordings, shape_gaps

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))

from sf_helpers import make_client, org_with_key_field

from syncd.errors import Permanent
from syncd.salesforce import soql
from syncd.salesforce.directory import Directory

#: Objects syncd reads; the other recordings (Case, Knowledge) are of objects it never reads.
READ = ("Account", "Contact", "Lead", "Opportunity")


def _by_kind() -> dict[str, list[tuple[str, Any]]]:
    out: dict[str, list[tuple[str, Any]]] = {}
    for path, body in recordings("salesforce"):
        parts = path.parts
        verb = parts[parts.index("salesforce") + 1]
        if "tooling" in parts:
            kind = "tooling"
        elif "query" in parts or path.name == "query.json":
            kind = "query"
        else:
            kind = verb
        out.setdefault(kind, []).append((path.name, body))
    return out


def _queries() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for name, body in _by_kind().get("query", []):
        records = body.get("records") or []
        sobject = records[0]["attributes"]["type"] if records else None
        if sobject in READ:
            found.append((name, sobject, body))
    return found


class _Recorded:
    """Answers the directory's queries with the recorded records of one object."""

    def __init__(self, sobject: str, records: list[dict[str, Any]]) -> None:
        self.sobject, self.records = sobject, records

    def query_many(self, queries: dict[str, tuple[str, bool]]) -> dict[str, list[dict]]:
        return {name: self.records if name == self.sobject else [] for name in queries}


def test_every_recorded_query_parses_through_the_directory() -> None:
    queries = _queries()
    assert {s for _, s, _ in queries} == set(READ)
    for name, sobject, body in queries:
        directory = Directory.load(_Recorded(sobject, body["records"]))
        held = {
            "Account": directory.accounts,
            "Contact": directory.contacts,
            "Lead": directory.leads,
            "Opportunity": directory.opportunities,
        }[sobject]
        assert sorted(held) == sorted(r["Id"] for r in body["records"]), name
        assert body["totalSize"] == len(body["records"]) and body["done"] is True
        for record in body["records"]:
            if sobject == "Contact" and record.get("Email"):
                assert record["Id"] in [c.id for c in directory.contacts_by_email(record["Email"])]


def _soql(sobject: str, record: dict[str, Any]) -> str:
    fields: list[str] = []
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            fields += [f"{key}.{sub}" for sub in value if sub != "attributes"]
        elif value is None and key in ("Account",):
            fields.append(f"{key}.Name")  # a null relationship in the recording
        else:
            fields.append(key)
    return soql.select(tuple(dict.fromkeys(fields)), sobject)


@pytest.fixture(scope="module")
def org() -> Iterator[tuple[Any, Any]]:
    with org_with_key_field() as sb:
        owner = sb.records("User")[0]["Id"]
        (account,) = sb.insert("Account", [{"Name": "Recorded Co", "OwnerId": owner}])
        sb.insert("Contact", [{"LastName": "Rec", "AccountId": account, "Email": "r@rec.example"}])
        sb.insert("Lead", [{"LastName": "Rec", "Company": "Rec Inc"}])
        sb.insert(
            "Opportunity",
            [{"Name": "Rec deal", "StageName": "Prospecting", "CloseDate": "2026-12-01",
              "AccountId": account}],
        )  # fmt: skip
        client = make_client(sb)
        client.login()
        yield sb, client
        client.close()


@pytest.mark.parametrize("name", [n for n, _, _ in _queries()] or ["none"])
def test_the_sandbox_answers_each_recorded_query_in_its_shape(org: Any, name: str) -> None:
    _sb, client = org
    ((_, sobject, body),) = [q for q in _queries() if q[0] == name]
    answer = client.sf.query(_soql(sobject, body["records"][0]))
    assert answer["records"], "seeded, so the sandbox must return a record"
    assert shape_gaps(body, answer) == []
    assert list(answer) == list(body)  # the same top-level keys in the same order


def test_the_sandbox_tooling_query_has_the_recorded_envelope(org: Any) -> None:
    _sb, client = org
    for _name, body in _by_kind()["tooling"]:
        answer = client.sf.restful(
            "tooling/query/", params={"q": "SELECT Id, DeveloperName FROM CustomField"}
        )
        assert list(answer) == list(body)
        assert shape_gaps(body, answer, ignore=("records",)) == []
        assert answer["entityTypeName"] == "CustomField"
        assert answer["size"] == len(answer["records"]) == answer["totalSize"] >= 1


def test_create_update_delete_answer_as_recorded(org: Any) -> None:
    _sb, client = org
    kinds = _by_kind()
    for _name, body in kinds["post"]:
        created = client.sf.Lead.create({"LastName": "New", "Company": "New Co"})
        assert shape_gaps(body, dict(created)) == [] and list(created) == list(body)
    assert {body for _n, body in kinds["patch"] + kinds["delete"]} == {""}  # 204, no body
    sf = client.sf
    for method in ("PATCH", "DELETE"):
        resp = sf.session.request(
            method,
            f"{sf.base_url}sobjects/Lead/{created['id']}",
            json={"Company": "Newer"} if method == "PATCH" else None,
            headers=sf.headers,
        )
        assert (resp.status_code, resp.text) == (204, "")


def test_an_error_body_parses_as_a_salesforce_error(org: Any) -> None:
    _sb, client = org
    with pytest.raises(Permanent) as exc:
        client.query_page("SELECT Nope FROM Account")
    assert exc.value.code == "INVALID_FIELD" and "Nope" in str(exc.value)
