"""The small stores on both backends: aware datetimes, counters, queues, flags, alerts, runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from syncd.state import LedgerEntry, Store

UNIT = ("outlook_mail", "rep@example.com")
PARIS = timezone(timedelta(hours=1))


def test_datetimes_come_back_aware_utc(store: Store, clock):
    occurred = datetime(2025, 3, 1, 13, 30, tzinfo=PARIS)
    store.ledger.record(
        [LedgerEntry("mt:1", "Event", "00U000000000001AAA", *UNIT, "meeting", occurred)]
    )
    store.cursors.set(*UNIT, "delta-1")

    entry = store.ledger.get("mt:1")
    assert entry.occurred_at.utcoffset() == timedelta(0)
    assert entry.occurred_at == occurred  # same instant
    assert entry.occurred_at.hour == 12
    assert entry.written_at == clock.current
    assert entry.written_at.tzinfo is not None
    assert store.cursors.state(*UNIT).updated_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(store: Store):
    naive = datetime(2025, 3, 1, 12, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(Exception, match="naive datetime"):
        store.ledger.record([LedgerEntry("em:1", "Task", "00T1", *UNIT, "email", naive)])


def test_cursor_streams_errors_and_resyncs(store: Store):
    store.cursors.set(*UNIT, "delta-inbox", stream="inbox")
    store.cursors.set(*UNIT, "delta-sent", stream="sent")
    store.cursors.record_error(*UNIT, "410 syncStateNotFound", stream="inbox")
    assert store.cursors.state(*UNIT, "inbox").last_error == "410 syncStateNotFound"
    assert store.cursors.get(*UNIT, "inbox") == "delta-inbox"  # an error keeps the value

    assert store.cursors.mark_resync(*UNIT, "delta-new", stream="inbox") == 1
    assert store.cursors.mark_resync(*UNIT, None, stream="inbox") == 2
    state = store.cursors.state(*UNIT, "inbox")
    assert (state.value, state.resync_count, state.last_error) == (None, 2, None)
    assert set(store.cursors.for_unit(*UNIT)) == {"inbox", "sent"}


def test_counters_accumulate_and_reject_unknown_outcomes(store: Store):
    store.counts.increment(*UNIT, {"written": 3, "skipped:internal_only": 1, "unmatched": 0})
    store.counts.increment(*UNIT, {"written": 2, "already_written": 4})
    assert store.counts.for_unit(*UNIT) == {
        "written": 5,
        "already_written": 4,
        "skipped:internal_only": 1,
    }
    with pytest.raises(ValueError, match="unknown outcome"):
        store.counts.increment(*UNIT, {"wrote": 1})
    with pytest.raises(ValueError, match="only go up"):
        store.counts.increment(*UNIT, {"written": -1})


def test_unmatched_queue(store: Store, clock):
    store.unmatched.add(*UNIT, "em:1", {"from": "x@unknown.example"}, "no contact, lead or account")
    clock.advance(hours=1)
    store.unmatched.add(*UNIT, "em:2", {"from": "y@unknown.example"}, "personal domain")
    store.unmatched.add(*UNIT, "em:1", {"from": "x@unknown.example"}, "still nothing")

    first = store.unmatched.get("em:1")
    assert (first.attempts, first.reason) == (2, "still nothing")
    assert first.first_seen == clock.current - timedelta(hours=1)

    clock.advance(minutes=30)
    due = store.unmatched.due(tried_before=timedelta(minutes=20))
    assert [i.key for i in due] == ["em:1", "em:2"]
    assert store.unmatched.mark_tried(["em:1"]) == 1
    assert [i.key for i in store.unmatched.due(tried_before=timedelta(minutes=20))] == ["em:2"]

    assert store.unmatched.remove(["em:2", "em:404"]) == 1
    assert [i.key for i in store.unmatched.list()] == ["em:1"]
    assert store.unmatched.count() == 1


def test_dead_letters_dedupe_by_key_and_redact(store: Store):
    first = store.dead_letters.add(
        *UNIT,
        {"Subject": "x" * 300},
        "STRING_TOO_LONG",
        "Subject: data value too large",
        key="em:1",
    )
    again = store.dead_letters.add(
        *UNIT, {"Subject": "x" * 300}, "STRING_TOO_LONG", "still too large", key="em:1"
    )
    assert again == first
    call_row = store.dead_letters.add(
        "call_files",
        "ops@example.com",
        {"row": "bad"},
        "BAD_ROW",
        "rejected: access_token=sk_live_abcdefgh12345",
        source_file="calls-2025-03.csv",
        source_line=17,
    )

    letters = {d.id: d for d in store.dead_letters.list()}
    assert letters[first].attempts == 2
    assert letters[first].error_message == "still too large"
    assert letters[call_row].source_line == 17
    assert "sk_live_abcdefgh12345" not in letters[call_row].error_message

    store.dead_letters.mark_retried(call_row, error_message="again")
    assert store.dead_letters.get(call_row).attempts == 2
    assert store.dead_letters.mark_resolved([first]) == 1
    assert store.dead_letters.count_open() == 1
    assert [d.id for d in store.dead_letters.list(include_resolved=True)] == [first, call_row]
    assert store.dead_letters.get(first).resolved_at is not None


def test_flag_lifecycle_keeps_one_open_flag(store: Store, clock):
    flag, before = store.flags.raise_flag("006A", "no_activity", 1, {"days": 12})
    assert before is None and flag.state == "raised"
    worse, before = store.flags.raise_flag("006A", "no_activity", 2, {"days": 24})
    assert worse.id == flag.id and before.severity == 1 and worse.severity == 2

    alerted = store.flags.mark_alerted(flag.id)
    assert (alerted.state, alerted.last_alerted) == ("alerted", clock.current)
    until = clock.current + timedelta(days=7)
    assert store.flags.snooze(flag.id, until).snoozed_until == until

    clock.advance(days=1)
    resolved = store.flags.resolve(flag.id)
    assert resolved.resolved_at == clock.current
    assert store.flags.open_flag("006A", "no_activity") is None

    reopened, before = store.flags.raise_flag("006A", "no_activity", 1)
    assert before is None and reopened.id != flag.id
    assert [f.id for f in store.flags.list_open()] == [reopened.id]


def test_database_refuses_a_second_open_flag(store: Store, clock):
    from syncd.state.schema import FlagRow

    store.flags.raise_flag("006B", "stale", 1)
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.session.add(
            FlagRow(
                opportunity_id="006B",
                rule="stale",
                state="raised",
                severity=1,
                first_raised=clock.current,
                updated_at=clock.current,
            )
        )


def test_a_rules_run_writes_flags_and_alerts_in_one_transaction(store: Store, clock):
    now = clock.current
    row = {"state": "raised", "severity": 1, "details": None, "updated_at": now}
    with store.transaction() as tx:
        ids = tx.flags.raise_many(
            [
                {"opportunity_id": "006D", "rule": "stale", "first_raised": now} | row,
                {"opportunity_id": "006E", "rule": "stale", "first_raised": now} | row,
            ]
        )
        tx.flags.update_many([{"id": ids[("006D", "stale")], "state": "alerted", "severity": 3}])
        tx.alerts.enqueue_many([(ids[("006D", "stale")], "U1", {"text": "stale"})], now)
    assert sorted(ids) == [("006D", "stale"), ("006E", "stale")]
    flag = store.flags.get(ids[("006D", "stale")])
    assert (flag.state, flag.severity) == ("alerted", 3)
    assert [(a.flag_id, a.channel) for a in store.alerts.due()] == [(flag.id, "U1")]

    clock.advance(days=1)
    store.flags.resolve_many(list(ids.values()), clock.current)
    assert store.flags.list_open() == []
    assert store.flags.get(flag.id).resolved_at == clock.current
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.flags.raise_many(
            [{"opportunity_id": "006F", "rule": "stale", "first_raised": now} | row] * 2
        )
    assert store.flags.open_flag("006F", "stale") is None  # the whole transaction rolled back


def test_ledger_counts_what_was_written_by_connector_and_kind(store: Store, clock):
    at = clock.current
    store.ledger.record(
        [
            LedgerEntry("em:1", "Task", "00T1", *UNIT, "email", at),
            LedgerEntry("em:2", "Task", "00T2", *UNIT, "email", at),
            LedgerEntry("mt:1", "Event", "00U1", *UNIT, "meeting", at),
            LedgerEntry("cl:1", "Task", "00T3", "aircall", "phone-system", "call", at),
        ]
    )
    assert store.ledger.count_by_kind() == {
        ("outlook_mail", "email"): 2,
        ("outlook_mail", "meeting"): 1,
        ("aircall", "call"): 1,
    }


def test_alert_queue(store: Store, clock):
    flag, _ = store.flags.raise_flag("006C", "past_close_date", 1)
    alert = store.alerts.enqueue("U123", {"text": "update the close date"}, flag_id=flag.id)
    digest = store.alerts.enqueue("C999", {"blocks": []}, digest_key="digest:2025-03-14")
    assert [a.id for a in store.alerts.due()] == [alert, digest]

    store.alerts.mark_failed(
        digest, "429 ratelimited", retry_at=clock.current + timedelta(seconds=30)
    )
    store.alerts.mark_sent(alert)
    assert store.alerts.due() == []
    assert store.alerts.last_sent(flag_id=flag.id) == clock.current

    clock.advance(seconds=31)
    assert [a.id for a in store.alerts.due()] == [digest]
    store.alerts.mark_failed(digest, "channel_not_found")
    assert store.alerts.get(digest).status == "failed"
    assert store.alerts.get(digest).attempts == 2
    with pytest.raises(ValueError, match="exactly one"):
        store.alerts.enqueue("U1", {}, flag_id=flag.id, digest_key="d")


def test_runs_record_success_and_redacted_errors(store: Store, clock):
    ok = store.runs.start(*UNIT)
    clock.advance(seconds=40)
    store.runs.finish(ok, {"written": 7})
    clock.advance(minutes=5)
    bad = store.runs.start(*UNIT)
    store.runs.finish(bad, error=RuntimeError("token refresh failed: refresh_token=1//0abcdefXYZ"))

    success = store.runs.last_success(*UNIT)
    assert (success.id, success.counts, success.finished_at) == (
        ok,
        {"written": 7},
        clock.current - timedelta(minutes=5),
    )
    (error,) = store.runs.recent_errors()
    assert error.id == bad and error.error_class == "RuntimeError"
    assert "1//0abcdefXYZ" not in error.error_message
    assert store.runs.last(*UNIT).id == bad


def test_last_success_reads_the_units_own_runs_newest_first(store: Store, clock):
    # Other units' runs and this unit's older ones: the answer is this unit's newest ok run.
    for i in range(30):
        for mailbox in ("a@example.com", "b@example.com", UNIT[1]):
            run = store.runs.start(UNIT[0], mailbox)
            store.runs.finish(run, {"i": i})
            clock.advance(seconds=30)
    newest_ok = store.runs.start(*UNIT)
    store.runs.finish(newest_ok, {"i": 30})
    clock.advance(seconds=30)
    failed = store.runs.start(*UNIT)
    store.runs.finish(failed, error=RuntimeError("boom"))
    statements: list[tuple[str, object]] = []

    def seen(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        assert store.runs.last_success(*UNIT).id == newest_ok
        assert store.runs.last(*UNIT).id == failed
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert len(statements) == 2
    if store.dialect != "sqlite":
        return
    # The query walks the unit's (connector, mailbox, started_at) index and sorts nothing, so
    # its cost does not grow with the runs of every unit (one row per pass, forever).
    with store.engine.connect() as conn:
        for statement, params in statements:
            plan = " ".join(
                str(row[-1])
                for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            )
            assert "ix_runs_connector_mailbox_started_at" in plan, plan
            assert "TEMP B-TREE" not in plan, plan


def _run_ids(store: Store) -> list[int]:
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT id FROM runs ORDER BY id"))]


def test_a_stretch_of_idle_passes_is_one_run_row(store: Store, clock):
    # 1,000 mailboxes every 30 s is 2.9 million passes a day, nearly all finding nothing.
    busy = store.runs.start(*UNIT)
    store.runs.finish(busy, {"written": 3, "quota_units": 10})
    idle = []
    for _ in range(5):
        clock.advance(seconds=30)
        run = store.runs.start(*UNIT)
        store.runs.finish(run, {"quota_units": 5})
        idle.append(run)
    other = store.runs.start(UNIT[0], "other@example.com")
    store.runs.finish(other, {})
    assert _run_ids(store) == [busy, idle[-1], other]  # the busy pass and the latest idle one
    assert store.runs.last_success(*UNIT).counts == {"quota_units": 5}
    clock.advance(seconds=30)
    failed = store.runs.start(*UNIT)
    store.runs.finish(failed, error=RuntimeError("boom"))
    clock.advance(seconds=30)
    after = store.runs.start(*UNIT)
    store.runs.finish(after, {})  # the previous run failed: kept
    assert _run_ids(store) == [busy, idle[-1], other, failed, after]


def test_prune_keeps_each_units_latest_success_and_error(store: Store, clock):
    kept_error = store.runs.start(*UNIT)
    store.runs.finish(kept_error, error=RuntimeError("old failure"))
    old = []
    for i in range(3):
        clock.advance(days=1)
        run = store.runs.start(*UNIT)
        store.runs.finish(run, {"written": i + 1})
        old.append(run)
    quiet = store.runs.start(UNIT[0], "quiet@example.com")
    store.runs.finish(quiet, {"written": 1})
    clock.advance(days=40)
    recent = store.runs.start(*UNIT)
    store.runs.finish(recent, {"written": 9})
    deleted = store.runs.prune(clock.current - timedelta(days=30))
    assert deleted == 3  # old[0..2]: older, and neither a unit's latest, success nor error
    assert _run_ids(store) == [kept_error, quiet, recent]
    assert store.runs.recent_errors()[0].id == kept_error
    assert store.runs.last_success(UNIT[0], "quiet@example.com").id == quiet
