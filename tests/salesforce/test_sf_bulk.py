"""The Bulk API 2.0 query client against the sandbox org over HTTPS."""

from __future__ import annotations

import math
import random
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sf_helpers import SleepLog, make_client, start_sandbox

from syncd.errors import Permanent, Transient
from syncd.rules import inputs
from syncd.rules.engine import evaluate, settings_from_config
from syncd.salesforce import bulk
from syncd.salesforce.bulk import BulkOptions, parse_csv

TODAY = date(2026, 3, 16)


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


def _seed_pipeline(sb: Any, n: int) -> None:
    """N deals across the stages, three history rows each, some without amount or next step."""
    rng = random.Random(5)
    names = [
        r["ApiName"]
        for r in sorted(sb.records("OpportunityStage"), key=lambda r: r["SortOrder"])
        if r.get("IsActive")
    ]
    owners = sb.insert(
        "User",
        [
            {"Username": f"o{i}@ourco.com", "Email": f"o{i}@ourco.com", "LastName": "O"}
            for i in range(7)
        ],
    )
    opps = []
    for i in range(n):
        created = TODAY - timedelta(days=rng.randint(5, 300))
        opps.append(
            {
                "Name": f"Deal {i}",
                "StageName": rng.choice(names),
                "Amount": None if i % 11 == 0 else float(rng.randint(1, 90) * 750),
                "CloseDate": (created + timedelta(days=rng.randint(-20, 150))).isoformat(),
                "OwnerId": owners[i % len(owners)],
                "CreatedDate": f"{created.isoformat()}T08:30:00.000+0000",
                "NextStep": None if i % 4 == 0 else "call back",
            }
        )
    store = sb.store
    with store.lock:
        store.derive_history = False  # the history below is the deals' whole past
        try:
            ids = sb.insert("Opportunity", opps)
            history = []
            for opp_id, opp in zip(ids, opps, strict=True):
                close = date.fromisoformat(opp["CloseDate"])
                created = datetime.fromisoformat(opp["CreatedDate"].replace("+0000", "+00:00"))
                steps = [(names[0], None, close - timedelta(days=21)), (names[1], close, close)]
                steps.append((opp["StageName"], close - timedelta(days=21), close))
                for k, (stage, prev, new) in enumerate(steps):
                    at = created + timedelta(days=2 * k, hours=k)
                    history.append(
                        {
                            "OpportunityId": opp_id,
                            "StageName": stage,
                            "CloseDate": new.isoformat(),
                            "PrevCloseDate": prev.isoformat() if prev else None,
                            "CreatedDate": at.isoformat().replace("+00:00", ".000+0000"),
                        }
                    )
            sb.insert("OpportunityHistory", history)
        finally:
            store.derive_history = True


def _flags(pipeline: Any) -> list[tuple[Any, ...]]:
    found = evaluate(pipeline, settings_from_config(), boundary=None).findings
    return sorted((f.opportunity_id, f.rule, f.severity, f.measure, f.summary) for f in found)


def test_rules_flag_the_same_deals_from_rest_and_bulk_inputs() -> None:
    sb = start_sandbox()
    try:
        _seed_pipeline(sb, 5_000)
        client = make_client(sb)
        client.login()
        sb.reset_counters()
        by_rest = inputs.load(client, TODAY, bulk_threshold=None)
        rest_calls = sb.api_calls_used
        assert sb.calls["jobs/query"] == 0
        sb.reset_counters()
        by_bulk = inputs.load(client, TODAY, bulk_threshold=0)
        bulk_calls = sb.api_calls_used
        assert sb.calls["jobs/query"] > 0
        client.close()
    finally:
        sb.stop()
    assert len(by_bulk.deals) == len(by_rest.deals) == 5_000
    rest_deals = {d.id: d for d in by_rest.deals}
    for deal in by_bulk.deals:
        twin = rest_deals[deal.id]
        # The owner's User Id places their quiet hours (the directory gives their zone).
        assert deal.owner_id == twin.owner_id and str(deal.owner_id).startswith("005")
        assert (deal.owner_email, deal.amount, deal.close_date, deal.created, deal.next_step) == (
            twin.owner_email,
            twin.amount,
            twin.close_date,
            twin.created,
            twin.next_step,
        )
        assert deal.history == twin.history
        assert deal.close_date_changes == twin.close_date_changes
    flags = _flags(by_rest)
    assert flags, "the seeded org should raise some flags"
    assert _flags(by_bulk) == flags
    # 20,000 rows: 3 + 8 REST pages against two jobs of one result set each (plus the dropped
    # first pages and the polls).
    assert bulk_calls < rest_calls


def test_session_expiring_between_sets_logs_in_again(org: Any, accounts: list[str]) -> None:
    client = make_client(org)
    client.login()
    logins = client.logins
    # The session dies as the results are first read: that request is repeated after a login.
    org.faults.inject("expire_sessions", path="/results$")
    rows = bulk.query_all(
        client,
        "SELECT Id FROM Account WHERE Name LIKE 'Bulk Co%'",
        options=BulkOptions(max_records=3),
    )
    assert sorted(r["Id"] for r in rows) == sorted(accounts)
    assert client.logins == logins + 1
    client.close()


def test_results_are_utf8_whatever_the_content_type_says(org: Any) -> None:
    """The sandbox serves a bare ``text/csv`` as Salesforce does; names keep their accents."""
    names = ["Zoë Müller Bulk GmbH", "Ångström Bulk Oy", "北京 Bulk 有限公司", "Café Bulk 😀"]
    ids = org.insert("Account", [{"Name": n} for n in names])
    client = make_client(org)
    try:
        client.login()
        rows = bulk.query_all(client, "SELECT Id, Name FROM Account WHERE Name LIKE '%Bulk%'")
        by_id = {r["Id"]: r["Name"] for r in rows}
        assert [by_id[i] for i in ids] == names
    finally:
        client.close()
        for aid in ids:
            org.delete("Account", aid)
