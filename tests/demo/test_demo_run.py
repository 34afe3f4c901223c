"""``syncd demo`` end to end, and one capture pass over the world checked against its counts.

The subprocess runs the real command (sandbox over HTTPS on loopback, simple-salesforce, the
mbox connector); the in-process run uses the same ``capture_world`` so its Salesforce records
can be inspected.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from typing import Any

import pytest

from sandbox.salesforce import SalesforceSandbox
from sandbox.world import build_world
from syncd.capture.keys import email_key, meeting_key
from syncd.demo import SECRET_ENV, capture_world, summarize


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    proc = subprocess.run(
        [sys.executable, "-m", "syncd.cli", "demo", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path_factory.mktemp("cwd"),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_summary_is_consistent(summary: dict[str, Any]) -> None:
    world, written = summary["world"], summary["written"]
    assert 0 < written["email"] <= world["messages_distinct"] <= world["messages_delivered"]
    assert 0 < written["meeting"] <= world["meetings_distinct"]
    assert written["event_relations"] > 0
    assert {"internal_only", "bulk_mail", "automated"} <= summary["skipped"].keys()
    assert summary["unmatched"] > 0
    assert summary["dead_letters"] == 0
    # every delivered message ends in exactly one outcome
    outcomes = (
        written["email"]
        + summary["already_written"]["email"]
        + summary["unmatched"]
        + sum(n for r, n in summary["skipped"].items() if r in {"internal_only", "bulk_mail",
                                                                 "automated", "role_sender"})
    )  # fmt: skip
    assert outcomes == world["messages_delivered"]
    sf = summary["salesforce"]
    assert sf["records"] == {
        "Task": written["email"],
        "Event": written["meeting"],
        "EventRelation": written["event_relations"],
    }
    calls = sf["calls"]
    assert calls["total"] == sum(calls["by_endpoint"].values())
    assert calls["collections"] >= math.ceil(written["email"] / 200) + 1
    assert calls["collections"] == sf["calls_by_capture"]


def test_summary_is_json_of_counts_only(summary: dict[str, Any]) -> None:
    text = json.dumps(summary)
    assert "@" not in text  # no addresses
    assert "Pricing" not in text and "Re:" not in text  # no subjects


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("demo")
    mp = pytest.MonkeyPatch()
    with SalesforceSandbox() as sb:
        mp.setenv(SECRET_ENV, sb.client_secret)
        try:
            world = build_world(sb, folder / "mail")
            passes = capture_world(folder, sb, world)
            yield world, sb, summarize(world, sb, passes)
        finally:
            mp.undo()


def test_one_pass_gives_the_world_expected_counts(captured: Any) -> None:
    world, _, result = captured
    expected = world.expected()
    assert result["written"]["email"] == expected["written"]["email"]
    assert result["written"]["meeting"] == expected["written"]["meeting"]
    assert result["already_written"] == expected["already_written"]
    assert result["unmatched"] == expected["unmatched"]
    assert result["skipped"] == expected["skipped"]


def test_a_message_in_several_mailboxes_is_one_task(captured: Any) -> None:
    world, sb, _ = captured
    keys = [t["Syncd_Key__c"] for t in sb.records("Task")]
    assert len(keys) == len(set(keys))
    shared = world.shared_written_ids()
    assert len(shared) > 10
    for mid in shared:
        assert keys.count(email_key(mid)) == 1


def test_a_meeting_in_several_calendars_is_one_event(captured: Any) -> None:
    world, sb, _ = captured
    copies: dict[str, int] = {}
    for events in world.meetings.values():
        for event in events:
            copies[event["uid"]] = copies.get(event["uid"], 0) + 1
    shared = [uid for uid, n in copies.items() if n > 2]
    events = [e["Syncd_Key__c"] for e in sb.records("Event")]
    written = [uid for uid in shared if meeting_key(uid) in events]
    assert written
    assert all(events.count(meeting_key(uid)) == 1 for uid in written)
