"""Bulk API 2.0 query jobs of the sandbox, spoken to over raw HTTPS as the docs describe."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import requests
from sfsandbox_helpers import http_session, token

from sandbox.salesforce import SalesforceSandbox


@pytest.fixture(scope="module")
def api(sandbox: SalesforceSandbox) -> tuple[requests.Session, str]:
    """A session carrying a bearer token, and the jobs/query URL."""
    reply = token(
        sandbox,
        grant_type="client_credentials",
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    session = http_session(sandbox)
    session.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
    return session, f"{sandbox.url}/services/data/v{sandbox.api_version}/jobs/query"


@pytest.fixture(scope="module")
def accounts(sandbox: SalesforceSandbox) -> list[str]:
    """Seven accounts (Bulkacct0…6), every third without a website; a contact on the first."""
    ids = sandbox.insert(
        "Account",
        [
            {"Name": f"Bulkacct{i}", "Website": None if i % 3 == 0 else f"https://b{i}.example"}
            for i in range(7)
        ],
    )
    sandbox.insert("Contact", [{"LastName": "Bulkcontact", "AccountId": ids[0]}])
    return ids


def _create(session: requests.Session, url: str, query: str, **extra: Any) -> requests.Response:
    return session.post(url, json={"operation": "query", "query": query, **extra}, timeout=10)


def _complete(session: requests.Session, url: str, job_id: str) -> dict[str, Any]:
    for _ in range(10):
        info = session.get(f"{url}/{job_id}", timeout=10).json()
        if info["state"] not in ("UploadComplete", "InProgress"):
            return info
    raise AssertionError("job never finished")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_job_moves_through_states_and_serves_csv_by_locator(
    sandbox: SalesforceSandbox, api: tuple[requests.Session, str], accounts: list[str]
) -> None:
    session, url = api
    created = _create(
        session, url, "SELECT Id, Name, Website FROM Account WHERE Name LIKE 'Bulkacct%'"
    )
    assert created.status_code == 200
    job = created.json()
    assert job["state"] == "UploadComplete"
    assert job["object"] == "Account"
    early = session.get(f"{url}/{job['id']}/results", timeout=10)
    assert early.status_code == 400
    assert early.json()[0]["errorCode"] == "INVALIDJOB"
    seen = [session.get(f"{url}/{job['id']}", timeout=10).json()["state"] for _ in range(3)]
    assert seen[0] == "InProgress"
    assert seen[-1] == "JobComplete"
    info = session.get(f"{url}/{job['id']}", timeout=10).json()
    assert info["numberRecordsProcessed"] == 7

    got: list[dict[str, str]] = []
    sizes: list[int] = []
    locator: str | None = None
    while True:
        params = {"maxRecords": "3", **({"locator": locator} if locator else {})}
        resp = session.get(f"{url}/{job['id']}/results", params=params, timeout=10)
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("text/csv")
        sizes.append(int(resp.headers["Sforce-NumberOfRecords"]))
        assert resp.text.splitlines()[0] == '"Id","Name","Website"'
        got += _rows(resp.text)
        locator = resp.headers["Sforce-Locator"]
        if locator == "null":
            break
    assert sizes == [3, 3, 1]
    assert sorted(r["Id"] for r in got) == sorted(accounts)
    # A null website is an empty field in the CSV.
    assert sum(1 for r in got if r["Website"] == "") == 3
    # Locators stay valid: the second set can be read again.
    again = session.get(
        f"{url}/{job['id']}/results", params={"maxRecords": "3", "locator": "Mw"}, timeout=10
    )
    assert _rows(again.text) == got[3:6]


def test_relationship_fields_are_dotted_columns(
    api: tuple[requests.Session, str], accounts: list[str]
) -> None:
    session, url = api
    job = _create(
        session, url, "SELECT Id, Account.Name FROM Contact WHERE LastName = 'Bulkcontact'"
    )
    info = _complete(session, url, job.json()["id"])
    text = session.get(f"{url}/{info['id']}/results", timeout=10).text
    assert text.splitlines()[0] == '"Id","Account.Name"'
    assert _rows(text)[0]["Account.Name"] == "Bulkacct0"


def test_query_all_operation_includes_deleted(
    sandbox: SalesforceSandbox, api: tuple[requests.Session, str]
) -> None:
    session, url = api
    ids = sandbox.insert("Lead", [{"LastName": f"Bulklead{i}", "Company": "X"} for i in range(3)])
    sandbox.delete("Lead", ids[0])
    counts = {}
    for operation in ("query", "queryAll"):
        job = session.post(
            url,
            json={"operation": operation, "query": "SELECT Id FROM Lead WHERE Company = 'X'"},
            timeout=10,
        ).json()
        _complete(session, url, job["id"])
        counts[operation] = len(_rows(session.get(f"{url}/{job['id']}/results", timeout=10).text))
    assert counts == {"query": 2, "queryAll": 3}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        ("SELECT COUNT() FROM Account", "INVALIDJOB"),
        ("SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry", "INVALIDJOB"),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "INVALIDJOB"),
        ("SELECT Id FROM Account LIMIT 5 OFFSET 2", "INVALIDJOB"),
        ("SELECT Id FROM Nothing__c", "INVALID_TYPE"),
    ],
)
def test_queries_bulk_refuses(api: tuple[requests.Session, str], query: str, code: str) -> None:
    session, url = api
    resp = _create(session, url, query)
    assert resp.status_code == 400
    assert resp.json()[0]["errorCode"] == code


def test_bad_bodies_and_parameters_are_refused(
    api: tuple[requests.Session, str], accounts: list[str]
) -> None:
    session, url = api
    bad_op = session.post(url, json={"operation": "upsert", "query": "SELECT Id FROM Account"})
    assert bad_op.json()[0]["errorCode"] == "INVALIDJOB"
    unknown = _create(session, url, "SELECT Id FROM Account", colour="red")
    assert unknown.status_code == 400
    job = _complete(session, url, _create(session, url, "SELECT Id FROM Account").json()["id"])
    for params in ({"maxRecords": "0"}, {"locator": "!!"}, {"page": "2"}):
        resp = session.get(f"{url}/{job['id']}/results", params=params, timeout=10)
        assert resp.status_code == 400, params
    assert session.get(f"{url}/7508c0000009999AAA", timeout=10).status_code == 404


def test_failed_job_and_abort(
    sandbox: SalesforceSandbox, api: tuple[requests.Session, str]
) -> None:
    session, url = api
    sandbox.api.bulk.fail_next("InternalServerError")
    failed = _complete(session, url, _create(session, url, "SELECT Id FROM Account").json()["id"])
    assert failed["state"] == "Failed"
    assert failed["errorMessage"] == "InternalServerError"
    job = _create(session, url, "SELECT Id FROM Account").json()
    aborted = session.patch(f"{url}/{job['id']}", json={"state": "Aborted"}, timeout=10).json()
    assert aborted["state"] == "Aborted"
    assert session.get(f"{url}/{job['id']}/results", timeout=10).status_code == 400
    assert session.delete(f"{url}/{job['id']}", timeout=10).status_code == 204
    assert session.get(f"{url}/{job['id']}", timeout=10).status_code == 404


def test_every_request_is_counted_and_auth_is_checked(
    sandbox: SalesforceSandbox, api: tuple[requests.Session, str]
) -> None:
    session, url = api
    sandbox.reset_counters()
    job = _create(session, url, "SELECT Id FROM Account").json()
    _complete(session, url, job["id"])
    session.get(f"{url}/{job['id']}/results", timeout=10)
    polls = sandbox.api.bulk.steps
    assert sandbox.calls["jobs/query"] == 1 + polls + 1
    assert sandbox.api_calls_used == 1 + polls + 1
    anonymous = http_session(sandbox).post(url, json={"operation": "query", "query": "x"})
    assert anonymous.status_code == 401
