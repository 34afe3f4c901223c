"""store.status(): per unit cursors, runs, counts and lease; totals; JSON-serialisable."""

from __future__ import annotations

import json
from datetime import timedelta

from syncd.state import StatusReport, Store, unit_key

GMAIL = ("gmail", "a@example.com")
CAL = ("google_calendar", "a@example.com")


def test_status_reports_every_unit(store: Store, clock):
    store.cursors.set(*GMAIL, "12345")
    store.cursors.mark_resync(*CAL, "sync-token-1")
    store.counts.increment(*GMAIL, {"written": 5, "skipped:bulk_mail": 2})
    run = store.runs.start(*GMAIL)
    clock.advance(seconds=10)
    store.runs.finish(run, {"written": 5})
    finished = clock.current
    clock.advance(minutes=5)
    failed = store.runs.start(*CAL)
    store.runs.finish(failed, error=TimeoutError("calendar timed out"))
    store.unmatched.add(*GMAIL, "em:1", {}, "no contact")
    store.dead_letters.add(*CAL, {}, "FIELD_INTEGRITY_EXCEPTION", "bad WhatId")
    store.leases.acquire("worker-1", [unit_key(*GMAIL)], limit=1, ttl=timedelta(minutes=5))

    report = store.status()

    assert isinstance(report, StatusReport)
    assert [(u.connector, u.mailbox) for u in report.units] == [GMAIL, CAL]
    gmail = report.unit(*GMAIL)
    assert [(c.stream, c.value) for c in gmail.cursors] == [("default", "12345")]
    assert gmail.counts == {"written": 5, "skipped:bulk_mail": 2}
    assert gmail.last_success == finished
    assert gmail.last_run.id == run and gmail.last_error is None
    assert gmail.lease_holder == "worker-1"

    cal = report.unit(*CAL)
    assert cal.cursors[0].resync_count == 1
    assert cal.last_success is None
    assert (cal.last_error.id, cal.last_error.error_class) == (failed, "TimeoutError")
    assert cal.last_run.id == failed
    assert (report.unmatched_total, report.dead_letters_open) == (1, 1)

    as_json = json.loads(json.dumps(report.as_dict()))
    assert as_json["units"][0]["last_success"] == finished.isoformat()
    assert as_json["units"][1]["last_error"]["error_message"] == "calendar timed out"
    assert as_json["generated_at"].endswith("+00:00")


def test_status_of_an_empty_store(store: Store):
    report = store.status()
    assert report.units == []
    assert (report.unmatched_total, report.dead_letters_open) == (0, 0)
