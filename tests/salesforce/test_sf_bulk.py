"""The Bulk API 2.0 query client against the sandbox org over HTTPS."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
from sf_helpers import SleepLog, make_client

from syncd.errors import Permanent, Transient
from syncd.salesforce import bulk
from syncd.salesforce.bulk import BulkOptions, parse_csv


@pytest.fixture
def accounts(org: Any) -> list[str]:
    """Five accounts, two without an industry; one contact per account (a fresh tag per test)."""
    tag = uuid.uuid4().hex[:8]
    names = [f"Bulk Co {i}" for i in range(5)]
    ids = org.insert(
        "Account",
        [{"Name": n, "Industry": None if i % 2 else "Energy"} for i, n in enumerate(names)],
    )
    org.insert(
        "Contact",
        [{"LastName": f"Person {i}", "Title": tag, "AccountId": a} for i, a in enumerate(ids)],
    )
    org.insert("Contact", [{"LastName": "Orphan Bulk", "Title": tag}])
    TAGS[0] = tag
    yield ids
    for row in org.records("Contact"):
        if not row["IsDeleted"]:
            org.delete("Contact", row["Id"])
    for aid in ids:
        org.delete("Account", aid)


#: The tag of the current test's contacts (their Title), so earlier tests' rows never match.
TAGS = [""]


def test_pages_by_locator_and_counts_every_request(org: Any, accounts: list[str]) -> None:
    client = make_client(org)
    client.login()
    org.reset_counters()
    sleep = SleepLog()
    client.sleep = sleep
    pages = list(
        bulk.query_pages(
            client,
            "SELECT Id, Name, Industry FROM Account WHERE Name LIKE 'Bulk Co%'",
            options=BulkOptions(max_records=2),
        )
    )
    assert [len(p) for p in pages] == [2, 2, 1]
    rows = [r for p in pages for r in p]
    assert sorted(r["Id"] for r in rows) == sorted(accounts)
    # Industry null comes back as None, not "" (CSV has no null).
    assert sum(1 for r in rows if r["Industry"] is None) == 2
    assert {r["Industry"] for r in rows if r["Industry"]} == {"Energy"}
    polls = org.api.bulk.steps
    expected = 1 + polls + math.ceil(5 / 2)
    assert org.calls["jobs/query"] == expected
    assert client.calls_made == expected
    assert org.api_calls_used == expected
    # It polled with the injected sleep: once per poll that found the job unfinished.
    assert len(sleep.waits) == polls - 1
    client.close()


def test_relationship_columns_become_nested_records(org: Any, accounts: list[str]) -> None:
    client = make_client(org)
    rows = bulk.query_all(
        client,
        f"SELECT Id, LastName, Account.Name FROM Contact WHERE Title = '{TAGS[0]}'",  # noqa: S608
    )
    by_name = {r["LastName"]: r for r in rows}
    assert by_name["Person 3"]["Account"] == {"Name": "Bulk Co 3"}
    assert by_name["Orphan Bulk"]["Account"] is None
    client.close()


def test_query_all_includes_deleted_rows(org: Any, accounts: list[str]) -> None:
    client = make_client(org)
    person = next(
        r["Id"]
        for r in org.records("Contact")
        if r["LastName"] == "Person 0" and r["Title"] == TAGS[0]
    )
    org.delete("Contact", person)
    soql = f"SELECT Id, LastName FROM Contact WHERE Title = '{TAGS[0]}' AND LastName LIKE 'Person%'"  # noqa: S608
    live = bulk.query_all(client, soql)
    everything = bulk.query_all(client, soql, include_deleted=True)
    assert len(live) == 4
    assert len(everything) == 5
    client.close()


def test_malformed_query_is_permanent(org: Any) -> None:
    client = make_client(org)
    with pytest.raises(Permanent) as err:
        bulk.query_all(client, "SELECT Id FROM Account WHERE")
    assert "MALFORMED_QUERY" in str(err.value)
    with pytest.raises(Permanent) as err:
        bulk.query_all(client, "SELECT COUNT() FROM Account")
    assert "INVALIDJOB" in str(err.value)
    client.close()


def test_failed_job_raises_with_the_reason(org: Any) -> None:
    client = make_client(org)
    org.api.bulk.fail_next("InternalServerError: retry the job")
    with pytest.raises(Permanent) as err:
        bulk.query_all(client, "SELECT Id FROM Account")
    assert "Failed" in str(err.value)
    assert "retry the job" in str(err.value)
    client.close()


def test_job_that_never_finishes_times_out_without_real_sleep(org: Any) -> None:
    client = make_client(org)
    sleep = SleepLog()
    client.sleep = sleep
    steps = org.api.bulk.steps
    org.api.bulk.steps = 1_000
    try:
        with pytest.raises(Transient):
            bulk.query_all(
                client, "SELECT Id FROM Account", options=BulkOptions(timeout=30.0, max_wait=8.0)
            )
    finally:
        org.api.bulk.steps = steps
    assert sum(sleep.waits) >= 30.0
    assert max(sleep.waits) == 8.0  # backoff is capped
    client.close()


def test_transient_result_failure_is_retried(org: Any, accounts: list[str]) -> None:
    client = make_client(org)
    client.login()
    org.faults.inject("status", path="/results", status=503)
    rows = bulk.query_all(client, "SELECT Id FROM Account WHERE Name LIKE 'Bulk Co%'")
    assert len(rows) == 5
    client.close()


def test_parse_csv_handles_quotes_newlines_and_deep_relationships() -> None:
    text = (
        '"Id","Name","Who.Account.Name","Who.Id"\n"1","Say ""hi""\nthere","Acme",""\n"2","","",""\n'
    )
    rows = parse_csv(text)
    assert rows[0]["Name"] == 'Say "hi"\nthere'
    assert rows[0]["Who"] == {"Account": {"Name": "Acme"}, "Id": None}
    assert rows[1] == {"Id": "2", "Name": None, "Who": None}
    assert parse_csv("") == []
