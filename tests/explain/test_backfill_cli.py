"""``syncd backfill`` through ``syncd.cli.main`` with an mbox connector and a sandbox org.

History older than ``backfill_days`` but newer than ``--since`` is written by backfill and not
by ``sync``; a backfill capped at one batch resumes from its own cursor stream without
duplicates and leaves the regular cursor alone; re-running a finished backfill spends no
calls; the calls reported equal the sandbox's own counters.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from explain_helpers import REP, SECRET_ENV, raw_message, start_org, write_config, write_mbox

from connectors.mbox import MboxConnector
from syncd.cli import main
from syncd.state import Store

#: Old messages between the mbox page size (400) boundaries: three batches in all.
PAGE = MboxConnector.page_size
TOTAL = 1100
OLD_WRITES = range(0, TOTAL, 100)  # 11 messages from the contact, 60 days old


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    sb, _account, _user, _contact = start_org()
    monkeypatch.setenv(SECRET_ENV, sb.client_secret)
    try:
        yield sb
    finally:
        sb.stop()


def history() -> list[str]:
    """1,100 messages 60 days old (11 from the contact, the rest newsletters) and 1 recent."""
    out = []
    for i in range(TOTAL):
        if i in OLD_WRITES:
            out.append(
                raw_message("alice@globex.com", REP, f"<h{i}@globex.com>", f"Old {i}", age_days=60)
            )
        else:
            extra = "List-Id: <news.globex.com>\n"
            out.append(
                raw_message(
                    "news@globex.com", REP, f"<n{i}@globex.com>", "News", age_days=60, extra=extra
                )
            )
    out.append(raw_message("alice@globex.com", REP, "<recent@globex.com>", "Recent", age_days=2))
    return out


def collection_calls(sb: Any) -> int:
    return sum(n for label, n in sb.calls.items() if label.startswith("composite/sobjects"))


def run_json(args: list[str], capsys: pytest.CaptureFixture[str], code: int = 0) -> Any:
    assert main(args) == code
    return json.loads(capsys.readouterr().out)


def test_backfill_writes_history_resumes_without_duplicates_and_reports_its_calls(
    tmp_path: Path, org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sb = org
    mbox = tmp_path / "ana.mbox"
    write_mbox(mbox, history())
    config = write_config(tmp_path, sb, mbox, backfill_days=30)
    c = str(config)
    assert main(["setup", "salesforce", "-c", c]) == 0
    capsys.readouterr()

    sync = run_json(["sync", "-c", c, "--json"], capsys)
    (unit,) = sync["passes"]
    assert unit["outcomes"]["written"] == 1  # only the recent one: the rest is outside the window
    assert unit["outcomes"]["skipped:outside_window"] == TOTAL
    assert [t["Subject"] for t in sb.records("Task")] == ["Email: Recent"]
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    regular = store.cursors.get("archive", REP)
    assert regular is not None

    since = (datetime.now(UTC) - timedelta(days=90)).date().isoformat()
    calls_before, api_before = collection_calls(sb), sb.api_calls_used
    first = run_json(
        ["backfill", "-c", c, "--since", since, "--max-batches", "1", "--json"], capsys
    )
    (part,) = first["units"]
    assert part["state"] == "interrupted"
    assert part["batches"] == 1 and part["items"] == PAGE
    first_page = len([i for i in OLD_WRITES if i < PAGE])  # h0, h100, … below the page size
    assert part["outcomes"]["written"] == first_page
    assert first["write_calls"] == collection_calls(sb) - calls_before
    assert first["salesforce_calls"] == sb.api_calls_used - api_before
    assert store.cursors.get("archive", REP) == regular  # the regular cursor is untouched

    calls_before, api_before = collection_calls(sb), sb.api_calls_used
    rest = run_json(["backfill", "-c", c, "--since", since, "--json"], capsys)
    (done,) = rest["units"]
    assert done["state"] == "complete"
    assert done["batches"] == 2 and done["items"] == TOTAL + 1 - PAGE
    assert done["outcomes"]["written"] == len(OLD_WRITES) - first_page
    assert done["outcomes"]["already_written"] == 1  # the recent one, written by sync
    assert rest["write_calls"] == collection_calls(sb) - calls_before == done["salesforce_calls"]
    assert rest["salesforce_calls"] == sb.api_calls_used - api_before

    subjects = Counter(t["Subject"] for t in sb.records("Task"))
    expected = {f"Email: Old {i}" for i in OLD_WRITES} | {"Email: Recent"}
    assert set(subjects) == expected and set(subjects.values()) == {1}

    calls_before = collection_calls(sb)
    again = run_json(["backfill", "-c", c, "--since", since, "--json"], capsys)
    assert again["units"][0]["state"] == "already complete"
    assert again["write_calls"] == 0 and collection_calls(sb) == calls_before
    assert store.cursors.get("archive", REP) == regular

    # a backfill from another date is another stream: it re-reads, but writes nothing twice
    earlier = (datetime.now(UTC) - timedelta(days=91)).date().isoformat()
    assert main(["backfill", "-c", c, "--since", earlier]) == 0
    text = capsys.readouterr().out
    assert "complete" in text and "(0 for collection writes" in text
    assert "Salesforce API calls spent" in text
    assert sum(subjects.values()) == sb.count("Task")
    store.close()


@pytest.mark.parametrize("since", ["yesterday", "2024-13-01", "2999-01-01"])
def test_a_bad_since_is_a_usage_error(
    tmp_path: Path, since: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, None, tmp_path / "none.mbox")
    assert main(["backfill", "-c", str(config), "--since", since]) == 2
    err = capsys.readouterr().err
    assert "--since" in err and since in err
