"""``syncd explain`` and ``syncd sync`` decide alike: one pipeline, compared item by item.

The same messages go to ``explain --eml`` (one file each) and, in an mbox, to ``sync`` against
the sandbox org over HTTPS. Every decision explain prints — written, unmatched, skipped and by
which rule — must be what the sync pass then counts and does, key by key, with the same WhoId.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from explain_helpers import REP, SECRET_ENV, raw_message, start_org, write_config, write_mbox

from syncd.cli import main
from syncd.state import Store

#: (sender, Message-ID, subject, extra headers): one of each path through the pipeline.
MESSAGES = [
    ("alice@globex.com", "<p1@globex.com>", "Contract", ""),
    ("Alice <ALICE@Globex.COM>", "<p2@globex.com>", "Redlines", ""),
    ("carol@initech.example", "<p3@initech.example>", "Intro", ""),
    ("dave@globex.com", "<p4@globex.com>", "Pricing", ""),
    ("news@globex.com", "<p5@globex.com>", "News", "List-Unsubscribe: <mailto:u@globex.com>\n"),
    ("info@globex.com", "<p6@globex.com>", "Hello", ""),
    ("bo@ourco.com", "<p7@ourco.com>", "Lunch", ""),
]


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    sb, _account, _user, contact = start_org()
    monkeypatch.setenv(SECRET_ENV, sb.client_secret)
    try:
        yield sb, contact
    finally:
        sb.stop()


def explain(config: Path, eml: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["explain", "-c", str(config), "--eml", str(eml), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_explain_decides_every_item_as_the_sync_pass_does(
    tmp_path: Path, org: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, contact = org
    texts = [raw_message(f, REP, mid, subject, extra=x) for f, mid, subject, x in MESSAGES]
    mbox = tmp_path / "ana.mbox"
    write_mbox(mbox, texts)
    config = write_config(tmp_path, sb, mbox)
    assert main(["setup", "salesforce", "-c", str(config)]) == 0
    capsys.readouterr()

    reports = []
    for i, text in enumerate(texts):
        eml = tmp_path / f"m{i}.eml"
        eml.write_text(text)
        reports.append(explain(config, eml, capsys))
    decided = {r["key"]: r["decision"] for r in reports}
    assert list(decided.values()) == [
        "written",
        "written",
        "unmatched",
        "written",
        "skipped:bulk_mail",
        "skipped:role_sender",
        "skipped:internal_only",
    ]
    assert sb.count("Task") == 0  # explain wrote nothing

    assert main(["sync", "-c", str(config), "--json"]) == 0
    (unit,) = json.loads(capsys.readouterr().out)["passes"]
    assert unit["outcomes"] == dict(Counter(decided.values()))

    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        for key, decision in decided.items():
            assert (store.ledger.get(key) is not None) == (decision == "written"), key
            assert (store.unmatched.get(key) is not None) == (decision == "unmatched"), key
    finally:
        store.close()
    tasks = {t["Syncd_Key__c"]: t for t in sb.records("Task")}
    for report in reports:
        if report["decision"] == "written":
            task = tasks[report["key"]]
            assert task.get("WhoId") == report["match"]["who_id"]
            assert task.get("WhatId") == report["match"]["what_id"]
            assert task["Subject"] == report["record"]["fields"]["Subject"]
    assert reports[0]["match"]["who_id"] == contact

    # Explained again now, what was written is only a sighting: the next pass says the same.
    again = explain(config, tmp_path / "m0.eml", capsys)
    assert again["decision"] == "already_written"
    assert again["outcome"].startswith(f"already written as Task {tasks[again['key']]['Id']}")
