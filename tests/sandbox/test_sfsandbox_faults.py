"""Injected faults and the daily API allocation, seen through simple-salesforce and requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sfsandbox_helpers import FakeClock, connect, grant_key_field, http_session, token
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from sandbox.salesforce import SalesforceSandbox

KEY = {
    "FullName": "Activity.Syncd_Key__c",
    "Metadata": {
        "label": "Syncd Key",
        "type": "Text",
        "length": 255,
        "externalId": True,
        "unique": True,
    },
}


@pytest.fixture
def fresh(clock: FakeClock) -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox(clock=clock, api_limit=50) as sb:
        yield sb


def _upsert(sf: Salesforce, keys: list[str]) -> Any:
    return sf.restful(
        "composite/sobjects/Task/Syncd_Key__c",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Task"}, "Syncd_Key__c": k, "Subject": k} for k in keys
            ],
        },
    )


def test_status_fault_returns_salesforce_error_body_then_recovers(
    fresh: SalesforceSandbox,
) -> None:
    sf = connect(fresh)
    fresh.faults.inject("status", path=r"/query", status=503, times=2)
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as exc:
            sf.query("SELECT Id FROM User")
        assert exc.value.status == 503
        assert exc.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] >= 1
    assert fresh.faults.pending == 0


def test_faults_match_path_and_method(fresh: SalesforceSandbox) -> None:
    sf = connect(fresh)
    fresh.faults.inject("status", path=r"/sobjects/Account/?$", method="POST", status=500)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0  # not matched
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.Account.create({"Name": "x"})
    assert exc.value.status == 500
    assert sf.Account.create({"Name": "x"})["success"]


def test_request_limit_fault(fresh: SalesforceSandbox) -> None:
    sf = connect(fresh)
    fresh.faults.inject("request_limit", times=1)
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM User")
    assert exc.value.status == 403
    assert exc.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def test_lock_row_fails_chosen_records_inside_a_200(fresh: SalesforceSandbox) -> None:
    sf = connect(fresh)
    sf.toolingexecute("sobjects/CustomField", method="POST", data=KEY)
    grant_key_field(sf, fresh)
    fresh.faults.inject("lock_row", keys=["k2", "k4"])
    results = _upsert(sf, [f"k{i}" for i in range(6)])
    failed = [i for i, r in enumerate(results) if not r["success"]]
    assert failed == [2, 4]
    assert results[2]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert fresh.count("Task") == 4
    fresh.faults.inject("lock_row", fraction=0.1)
    results = _upsert(sf, [f"f{i}" for i in range(100)])
    assert sum(1 for r in results if not r["success"]) == 10
    assert fresh.count("Task") == 4 + 90


def test_expire_sessions_fault(fresh: SalesforceSandbox) -> None:
    sf = connect(fresh)
    fresh.faults.inject("expire_sessions")
    with pytest.raises(SalesforceExpiredSession) as exc:
        sf.query("SELECT Id FROM User")
    assert exc.value.status == 401
    assert exc.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert connect(fresh).query("SELECT COUNT() FROM User")["totalSize"] >= 1


def test_slow_fault_delays_the_response(fresh: SalesforceSandbox) -> None:
    sf = connect(fresh)
    fresh.faults.inject("slow", path="/limits", seconds=5)
    session = http_session(fresh)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(
            f"{fresh.url}/services/data/v{fresh.api_version}/limits",
            headers={"Authorization": f"Bearer {sf.session_id}"},
            timeout=0.2,
        )
    fresh.faults.clear()


def test_unknown_fault_kind_is_refused(fresh: SalesforceSandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        fresh.faults.inject("gremlins")


def test_limit_header_limits_endpoint_and_exhaustion(fresh: SalesforceSandbox) -> None:
    sf = connect(fresh)
    sf.query("SELECT Id FROM User")
    assert sf.api_usage["api-usage"].used == 1
    assert sf.api_usage["api-usage"].total == 50
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 50, "Remaining": 48}
    while fresh.api_calls_used < 50:
        sf.query("SELECT Id FROM User")
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM User")
    assert exc.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert exc.value.content[0]["message"] == "TotalRequests Limit exceeded."
    assert fresh.calls["query"] == 50
    assert fresh.calls["limits"] == 1
    fresh.reset_counters()
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] >= 1


def test_allocation_is_a_rolling_24_hour_window(clock: FakeClock) -> None:
    with SalesforceSandbox(clock=clock, api_limit=3, session_idle_timeout=2 * 86400) as sb:
        sf = connect(sb)
        sf.query("SELECT Id FROM User")
        clock.advance(12 * 3600)
        sf.query("SELECT Id FROM User")
        sf.query("SELECT Id FROM User")
        with pytest.raises(SalesforceRefusedRequest):
            sf.query("SELECT Id FROM User")
        clock.advance(12 * 3600)  # the first call leaves the window
        assert sf.query("SELECT COUNT() FROM User")["totalSize"] >= 1
        assert sb.api_calls_used == 3


def test_oauth_error_fault_refuses_the_token_endpoint(fresh: SalesforceSandbox) -> None:
    fresh.faults.inject("oauth_error", times=1)
    form = {
        "grant_type": "client_credentials",
        "client_id": fresh.client_id,
        "client_secret": fresh.client_secret,
    }
    refused = token(fresh, **form)
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }
    assert token(fresh, **form).status_code == 200
