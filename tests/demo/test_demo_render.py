"""The demo's summary for people (``syncd.demo.render``): every count shown, with its label."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from syncd.demo.render import render

SUMMARY: dict[str, Any] = {
    "world": {
        "org": {"accounts": 12, "contacts": 40, "opportunity_updates": 99},
        "mailboxes": 20,
        "messages_delivered": 1234,
        "messages_distinct": 1000,
        "messages_in_several_mailboxes": 17,
        "calendars": 20,
        "meeting_copies": 300,
        "meetings_distinct": 120,
        "providers": {"google": {"reps": 8}, "microsoft": {"reps": 8}},
        "calls": 55,
    },
    "written": {
        "email": 701,
        "email_messages": 601,
        "meeting": 102,
        "call": 43,
        "event_relations": 250,
    },
    "already_written": {"email": 5, "meeting": 6, "call": 0},
    "by_connector_type": {
        "gmail": {"written": 300, "already_written": 2, "skipped": 30, "unmatched": 4}
    },
    "skipped": {"bulk_mail": 33, "internal_only": 21},
    "unmatched": 9,
    "dead_letters": 0,
    "salesforce": {"calls": {"collections": 7, "queries": 3, "other": 2, "total": 12}},
    "vendors": {"gmail_quota_units": 4321, "google_quota_units": 4321, "requests": {"slack": 8}},
    "rules": {
        "open_deals": 60,
        "flags_by_rule": {"stale": 4},
        "flags": 4,
        "flagged_deals": 3,
        "alerts": {
            "sent": 2,
            "merged": 1,
            "suppressed": 1,
            "suppressed_by": {"cooldown": 1},
            "failed": 0,
            "queued": 0,
        },
        "alerts_sent": 2,
        "first_run": True,
        "alerts_requeued": 0,
        "slack_wait_seconds_simulated": 3,
    },
}


def test_render_shows_every_count_with_its_label() -> None:
    out = io.StringIO()
    render(SUMMARY, Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    for label, count in (
        ("emails → EmailMessages", "601"),
        ("emails → Tasks", "100"),
        ("meetings → Events", "102"),
        ("calls → Tasks", "43"),
        ("invitees → EventRelations", "250"),
        ("already written (seen in another mailbox)", "11"),
        ("bulk mail", "33"),
        ("unmatched (queued for re-match)", "9"),
        ("total", "12"),
        ("Gmail quota units (connector's count)", "4,321"),
        ("slack requests", "8"),
        ("stale", "4"),
    ):
        line = next((row for row in text.splitlines() if label in row), "")
        assert line.split()[-1] == count, (label, line)
    assert "1,234 messages" in text and "google 8, microsoft 8" in text
    assert "opportunity updates" not in text


def test_render_names_why_flags_were_suppressed_in_words() -> None:
    out = io.StringIO()
    summary = {**SUMMARY, "rules": {**SUMMARY["rules"]}}
    summary["rules"]["alerts"] = {
        **SUMMARY["rules"]["alerts"],
        "suppressed": 1067,
        "suppressed_by": {"cooldown": 3, "first_run_digest": 1064},
    }
    render(summary, Console(file=out, width=200, color_system=None))
    text = " ".join(out.getvalue().split())
    assert "1,067 suppressed (first run digest 1,064, cooldown 3)," in text
    assert "{" not in text
