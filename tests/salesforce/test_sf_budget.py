"""The API budget: writing stops before the reserve is touched, and at the daily limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sf_helpers import make_client, start_sandbox

from syncd.errors import BudgetExhausted
from syncd.salesforce.doctor import run_doctor
from syncd.salesforce.setup import run_setup
from syncd.salesforce.writer import KEY_FIELD, ActivityWriter

LIMIT = 60


@pytest.fixture
def small_org() -> Iterator[Any]:
    sb = start_sandbox(api_limit=LIMIT)
    try:
        run_setup(make_client(sb))
        yield sb
    finally:
        sb.stop()


def rows(prefix: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            KEY_FIELD: f"{prefix}:{i:05d}",
            "Subject": f"Call {i}",
            "Status": "Completed",
            "TaskSubtype": "Call",
        }
        for i in range(n)
    ]


def test_writing_pauses_at_the_reserve(small_org: Any) -> None:
    reserve = 0.2
    stop_at = LIMIT * (1 - reserve)
    client = make_client(small_org, reserve=reserve)
    writer = ActivityWriter(client, chunk_size=10)
    with pytest.raises(BudgetExhausted) as info:
        writer.upsert("Task", rows("cl:budget", 1000))
    assert info.value.limit == LIMIT and info.value.used >= stop_at
    # Every write started below the threshold, so the org never went past it.
    assert small_org.api_calls_used <= stop_at + 1
    written = small_org.calls["composite/sobjects:PATCH"]
    tasks = [r for r in small_org.records("Task") if str(r.get(KEY_FIELD)).startswith("cl:budget")]
    assert len(tasks) == written * 10

    # A fresh client refuses at once too, writing nothing.
    with pytest.raises(BudgetExhausted):
        ActivityWriter(make_client(small_org, reserve=reserve)).upsert("Task", rows("cl:more", 5))
    assert small_org.calls["composite/sobjects:PATCH"] == written

    # And the doctor says so, with the way out.
    [budget] = [c for c in run_doctor(lambda: make_client(small_org)) if "budget" in c.name]
    assert not budget.ok and f"/{LIMIT} calls used" in budget.detail and budget.fix


def test_daily_limit_is_budget_exhausted_not_retried(small_org: Any) -> None:
    writer = ActivityWriter(make_client(small_org, reserve=0.0), chunk_size=10)
    assert len(writer.upsert("Task", rows("cl:daily", 10)).written) == 10
    # Someone else spends the rest of the day's allocation; the writer's usage is now stale.
    other = make_client(small_org)
    for _ in range(LIMIT + 5):
        try:
            other.query_all("SELECT Id FROM User")
        except BudgetExhausted:
            break
    else:
        pytest.fail("the org never refused a call at its daily limit")
    before = small_org.calls["composite/sobjects:PATCH"]
    with pytest.raises(BudgetExhausted):
        writer.upsert("Task", rows("cl:daily2", 10))
    # One refused call, not a retry storm against a closed door.
    assert small_org.calls["composite/sobjects:PATCH"] == before + 1
    assert not [
        r for r in small_org.records("Task") if r.get(KEY_FIELD, "").startswith("cl:daily2")
    ]
