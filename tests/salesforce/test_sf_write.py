"""Collection upserts against the sandbox org: cost, idempotence, concurrency and faults."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sf_helpers import SleepLog, make_client

from syncd.errors import WritesRefused
from syncd.salesforce.writer import KEY_FIELD, ActivityWriter


def task_rows(prefix: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            KEY_FIELD: f"{prefix}:{i:05d}",
            "Subject": f"Email: follow-up {i}",
            "Status": "Completed",
            "TaskSubtype": "Email",
            "ActivityDate": "2026-01-05",
        }
        for i in range(n)
    ]


def records_by_key(org: Any, sobject: str, prefix: str) -> Counter[str]:
    return Counter(
        r[KEY_FIELD] for r in org.records(sobject) if str(r.get(KEY_FIELD) or "").startswith(prefix)
    )


def api_calls(org: Any) -> int:
    return sum(n for label, n in org.calls.items() if label != "oauth")


def test_thousand_activities_cost_five_collection_calls_and_rewrite_changes_nothing(
    org: Any,
) -> None:
    rows = task_rows("em:thousand", 1000)
    writer = ActivityWriter(make_client(org))
    before = org.count("Task")

    first = writer.upsert("Task", rows)

    assert len(first.written) == 1000 and first.created == 1000
    assert not first.failed and not first.deferred
    assert org.calls["composite/sobjects:PATCH"] == 5
    # Five collections plus the one /limits read that tells the client its budget.
    assert api_calls(org) <= 6 and first.calls == api_calls(org)
    assert org.count("Task") == before + 1000

    org.reset_counters()
    second = writer.upsert("Task", rows)

    assert second.created == 0
    assert second.written.keys() == first.written.keys()
    assert {k: v[0] for k, v in second.written.items()} == {
        k: v[0] for k, v in first.written.items()
    }
    assert org.count("Task") == before + 1000
    # TaskSubtype is create-only: each chunk is sent once more without it for existing records.
    assert org.calls["composite/sobjects:PATCH"] == 10 and api_calls(org) == second.calls == 10


def test_two_writers_upserting_the_same_keys_leave_one_record_each(org: Any) -> None:
    rows = task_rows("em:race", 300)
    writers = [ActivityWriter(make_client(org)) for _ in range(2)]
    for w in writers:
        w.client.login()  # both ready, so the upserts really overlap
    start = threading.Barrier(2)
    results: list[Any] = [None, None]

    def run(i: int) -> None:
        start.wait()
        results[i] = writers[i].upsert("Task", rows)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    per_key = records_by_key(org, "Task", "em:race")
    assert len(per_key) == 300 and set(per_key.values()) == {1}
    for res in results:
        assert res is not None and len(res.written) == 300 and not res.failed
    assert {k: v[0] for k, v in results[0].written.items()} == {
        k: v[0] for k, v in results[1].written.items()
    }
    assert results[0].created + results[1].created == 300


def test_faults_lose_nothing_and_dead_letter_only_the_bad_record(org: Any) -> None:
    rows = task_rows("em:faults", 1000)
    bad_key = rows[417][KEY_FIELD]
    rows[417]["Subject"] = "x" * 256
    sleep = SleepLog()
    client = make_client(org, sleep=sleep)
    client.login()
    org.faults.inject("request_limit", path="composite/sobjects", times=2)
    org.faults.inject("status", path="composite/sobjects", status=503, times=2)
    org.faults.inject("lock_row", path="composite/sobjects", fraction=0.1, times=3)
    org.faults.inject("expire_sessions", path="composite/sobjects", times=1)

    result = ActivityWriter(client).upsert("Task", rows)

    assert [(f.key, f.code) for f in result.failed] == [(bad_key, "STRING_TOO_LONG")]
    assert "Subject" in result.failed[0].fields
    assert not result.deferred
    assert len(result.written) == 999 and bad_key not in result.written
    per_key = records_by_key(org, "Task", "em:faults")
    assert len(per_key) == 999 and set(per_key.values()) == {1}
    assert client.logins == 2  # the expired session was renewed once
    assert sleep.waits, "transient failures were retried through the (fake) sleep"
    assert org.faults.pending == 0


def test_events_and_event_relations(org: Any) -> None:
    client = make_client(org)
    contacts = org.insert("Contact", [{"LastName": "Invitee A"}, {"LastName": "Invitee B"}])
    event = {
        KEY_FIELD: "mt:demo:1",
        "Subject": "Meeting: kickoff",
        "StartDateTime": "2026-01-05T15:00:00.000+0000",
        "EndDateTime": "2026-01-05T16:00:00.000+0000",
        "Location": "Room 1",
        "WhoId": contacts[0],
    }
    writer = ActivityWriter(client)
    written = writer.upsert("Event", [event])
    event_id, created = written.written["mt:demo:1"]
    assert created
    rel = writer.create("EventRelation", [{"EventId": event_id, "RelationId": contacts[1]}])
    assert list(rel.written) == ["0"] and not rel.failed
    again = writer.upsert("Event", [event])
    assert again.written["mt:demo:1"] == (event_id, False)


def test_unknown_activity_object_is_refused(org: Any) -> None:
    with pytest.raises(ValueError, match="Task or Event"):
        ActivityWriter(make_client(org)).upsert("Contact", [{KEY_FIELD: "x"}])


def test_permanent_errors_are_per_record_and_the_rest_lands(org: Any) -> None:
    writer = ActivityWriter(make_client(org))
    result = writer.upsert(
        "Task",
        [
            {KEY_FIELD: "em:perm:ok", "Subject": "Email: fine"},
            {KEY_FIELD: "em:perm:long", "Subject": "Email: " + "x" * 300},
            {KEY_FIELD: "em:perm:who", "Subject": "Email: y", "WhoId": "001000000000000AAA"},
        ],
    )
    assert list(result.written) == ["em:perm:ok"]
    assert {(f.key, f.code) for f in result.failed} == {
        ("em:perm:long", "STRING_TOO_LONG"),
        ("em:perm:who", "FIELD_INTEGRITY_EXCEPTION"),
    }
    key, code, message, fields = result.failed[0]  # unpacks for the dead-letter table
    assert key.startswith("em:perm:") and code and fields and message
    assert records_by_key(org, "Task", "em:perm") == Counter({"em:perm:ok": 1})


def test_a_column_the_user_cannot_see_refuses_the_writes_instead_of_dead_lettering(
    org: Any,
) -> None:
    writer = ActivityWriter(make_client(org))
    rows = [{KEY_FIELD: f"em:col:{i}", "Subject": "Email: x", "Bogus__c": 1} for i in range(3)]
    with pytest.raises(WritesRefused) as info:
        writer.upsert("Task", rows)
    assert info.value.code == "INVALID_FIELD" and "Bogus__c" in info.value.fix
    assert not records_by_key(org, "Task", "em:col")


def test_an_object_the_user_cannot_reach_refuses_the_writes(org: Any) -> None:
    writer = ActivityWriter(make_client(org))
    with pytest.raises(WritesRefused) as info:
        writer.upsert_records("NoSuchThing__c", KEY_FIELD, [{KEY_FIELD: "a"}, {KEY_FIELD: "b"}])
    assert "NoSuchThing__c" in info.value.fix


def test_a_row_locked_for_good_is_deferred_not_lost(org: Any) -> None:
    rows = task_rows("em:stuck", 20)
    stuck = rows[7][KEY_FIELD]
    sleep = SleepLog()
    org.faults.inject("lock_row", path="composite/sobjects", keys=[stuck], times=100)
    result = ActivityWriter(make_client(org, sleep=sleep)).upsert("Task", rows)
    assert [(f.key, f.code) for f in result.deferred] == [(stuck, "UNABLE_TO_LOCK_ROW")]
    assert not result.failed and len(result.written) == 19 and stuck not in result.written
    assert len(sleep.waits) == 5  # the policy's six attempts, with backoff between them
    assert stuck not in records_by_key(org, "Task", "em:stuck")


def test_no_access_to_task_refuses_the_writes_instead_of_dead_lettering(org: Any) -> None:
    org.faults.inject("refuse", path="composite/sobjects/Task", method="PATCH")
    with pytest.raises(WritesRefused) as info:
        ActivityWriter(make_client(org)).upsert("Task", [{KEY_FIELD: "em:acc:1", "Subject": "x"}])
    assert info.value.code == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert "create and edit on Task" in info.value.fix
    assert not records_by_key(org, "Task", "em:acc")
