"""The call-log folder: the connector contract, bad rows as rejects, files moved after commit."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from contract import NOW, ConnectorContract, fixed_clock, keys, pull_all

from connectors import base
from connectors.base import Connector, ConnectorContext
from connectors.call_files import CallFilesConnector, CallFilesSettings
from syncd.app import load_config
from syncd.config import CaptureConfig
from syncd.errors import ConfigError, CursorExpired
from syncd.model import Call, SkipReason

MAILBOX = "rep@acme.example"
HEADER = ["Call ID", "Start", "Seconds", "Way", "From", "To", "Agent", "Result"]


def make(folder: Path, clock: Callable[[], datetime] = fixed_clock, **extra: object) -> Connector:
    folder.mkdir(parents=True, exist_ok=True)
    columns = {
        "call_id": "Call ID",
        "started_at": "Start",
        "duration_seconds": "Seconds",
        "direction": "Way",
        "from": "From",
        "to": "To",
        "user_address": "Agent",
        "disposition": "Result",
    }
    fields: dict[str, object] = {"columns": columns, **extra}
    settings = CallFilesSettings(
        type="call_files", name="pbx", path=str(folder), mailbox=MAILBOX, **fields
    )
    capture = CaptureConfig(default_region="US", backfill_days=90)
    return CallFilesConnector(settings, ConnectorContext(clock=clock, capture=capture))


def row(i: int, *, agent: str = MAILBOX) -> list[str]:
    start = (NOW - timedelta(days=1, minutes=i)).isoformat()
    return [f"c{i}", start, str(30 + i), "out", "+1 415 555 0100", f"(512) 757-{6000 + i}",
            agent, "answered"]  # fmt: skip


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


class TestCallFilesContract(ConnectorContract):
    MAILBOX = MAILBOX

    def make_connector(self, tmp_path: Path, clock: Callable[[], datetime]) -> Connector:
        return make(tmp_path / "drop", clock)

    def deliver(self, connector: Connector, mailbox: str, n: int) -> None:
        assert isinstance(connector, CallFilesConnector)
        count = getattr(connector, "_delivered", 0)
        files = getattr(connector, "_files", 0)
        path = connector.folder / f"calls-{files:04d}.csv"
        write_csv(path, [row(i, agent=mailbox) for i in range(count, count + n)])
        connector._delivered = count + n  # type: ignore[attr-defined]
        connector._files = files + 1  # type: ignore[attr-defined]

    def deliver_malformed(self, connector: Connector, mailbox: str) -> None:
        assert isinstance(connector, CallFilesConnector)
        files = getattr(connector, "_files", 0)
        (connector.folder / f"calls-{files:04d}.json").write_text('[{"Call ID": "x",')
        connector._files = files + 1  # type: ignore[attr-defined]

    def garbage_cursors(self) -> list[str]:
        return [*super().garbage_cursors(), "cf:1:calls-0000.csv:0000000000000000:0", "cf:1::x:1"]


def test_registered_under_its_type() -> None:
    assert base.get("call_files") is CallFilesConnector


def test_bad_rows_are_rejects_with_file_and_line_and_the_rest_lands(tmp_path: Path) -> None:
    connector = make(tmp_path / "drop")
    good = [row(i) for i in range(5)]
    bad_date = row(90)
    bad_date[1] = "yesterday-ish"
    bad_way = row(91)
    bad_way[3] = "sideways"
    no_number = row(92)
    no_number[4] = no_number[5] = "n/a"
    write_csv(
        connector.folder / "a.csv",
        [good[0], bad_date, good[1], good[2], bad_way, good[3], no_number, good[4]],
    )
    batches, _ = pull_all(connector, MAILBOX, None, limit=3)
    calls = [a for b in batches for a in b.activities]
    rejects = [r for b in batches for r in b.rejects]
    assert sorted(c.call_id for c in calls if isinstance(c, Call)) == [f"c{i}" for i in range(5)]
    # The header is line 1, so the k-th row is on line k + 1.
    assert [(r.source_file, r.source_line) for r in rejects] == [("a.csv", 3), ("a.csv", 6),
                                                                 ("a.csv", 8)]  # fmt: skip
    assert [r.message.split(":")[0] for r in rejects] == ["started_at", "direction", "from/to"]
    assert all("yesterday" not in r.message for r in rejects)  # fields named, values not


def test_json_array_lines_and_a_multiline_csv_row(tmp_path: Path) -> None:
    connector = make(tmp_path / "drop")
    records = [dict(zip(HEADER, row(i), strict=True)) for i in range(3)]
    records[1]["Start"] = "not a time"
    (connector.folder / "b.json").write_text(
        "[\n" + ",\n".join(json.dumps(r, indent=1) for r in records) + "\n]\n"
    )
    batch = connector.pull(MAILBOX, None)
    (reject,) = batch.rejects
    text = (connector.folder / "b.json").read_text().splitlines()
    assert text[reject.source_line - 1].strip() == "{"
    assert '"Call ID": "c1"' in text[reject.source_line]
    assert len(batch.activities) == 2


def test_a_file_moves_aside_only_once_its_cursor_comes_back(tmp_path: Path) -> None:
    connector = make(tmp_path / "drop")
    write_csv(connector.folder / "a.csv", [row(i) for i in range(3)])
    write_csv(connector.folder / "b.csv", [row(i) for i in range(3, 5)])
    first = connector.pull(MAILBOX, None)
    assert len(first.activities) == 3 and first.more
    # Not yet committed (the runner has not handed the cursor back): the file stays.
    assert (connector.folder / "a.csv").exists()
    second = connector.pull(MAILBOX, first.next_cursor)
    assert not (connector.folder / "a.csv").exists()
    assert (connector.folder / "processed" / "a.csv").exists()
    assert [a.source_id for a in second.activities] == ["c3", "c4"]
    # A crash before the second commit: the old cursor replays b.csv, never a.csv again.
    replay = connector.pull(MAILBOX, first.next_cursor)
    assert keys([replay]) == keys([second])
    final = connector.pull(MAILBOX, second.next_cursor)
    assert len(final) == 0 and not final.more
    assert sorted(p.name for p in (connector.folder / "processed").iterdir()) == ["a.csv", "b.csv"]
    # Replaying from the very start finds nothing new in the folder.
    assert keys([connector.pull(MAILBOX, final.next_cursor)]) == []


def test_a_changed_file_expires_the_cursor(tmp_path: Path) -> None:
    connector = make(tmp_path / "drop")
    write_csv(connector.folder / "a.csv", [row(i) for i in range(4)])
    batch = connector.pull(MAILBOX, None, limit=2)
    write_csv(connector.folder / "a.csv", [row(i) for i in range(10, 14)])
    with pytest.raises(CursorExpired):
        connector.pull(MAILBOX, batch.next_cursor)


def test_missed_calls_follow_the_rule(tmp_path: Path) -> None:
    rows = [row(0), row(1)]
    rows[1][7] = "No Answer"
    logged = make(tmp_path / "log")
    write_csv(logged.folder / "a.csv", rows)
    batch = logged.pull(MAILBOX, None)
    assert [a.disposition for a in batch.activities if isinstance(a, Call)] == [
        "answered",
        "No Answer",
    ]
    skipped = make(tmp_path / "skip", missed_calls="skip")
    write_csv(skipped.folder / "a.csv", rows)
    batch = skipped.pull(MAILBOX, None)
    assert len(batch.activities) == 1
    assert [s.reason for s in batch.skips] == [SkipReason.MISSED_CALL]


def test_naive_times_use_the_configured_zone_and_ids_are_stable_without_a_column(
    tmp_path: Path,
) -> None:
    one = make(tmp_path / "one", timezone="America/Chicago", columns={"direction": "Way"})
    rows = [{"started_at": "2026-03-09 09:00:00", "Way": "in", "from": "512 757 6000",
             "user_address": MAILBOX}]  # fmt: skip
    (one.folder / "x.jsonl").write_text(json.dumps(rows[0]) + "\n")
    (call,) = one.pull(MAILBOX, None).activities
    # Daylight time began on 8 March 2026: Chicago is UTC-5 that morning.
    assert call.occurred_at.isoformat() == "2026-03-09T14:00:00+00:00"
    two = make(tmp_path / "two", timezone="America/Chicago", columns={"direction": "Way"})
    (two.folder / "renamed.jsonl").write_text(json.dumps(rows[0]) + "\n")
    assert keys([two.pull(MAILBOX, None)]) == [call.key]


def test_per_rep_mailboxes_are_refused_by_the_config(tmp_path: Path) -> None:
    config = tmp_path / "syncd.toml"
    config.write_text(
        f"""
[state]
url = "sqlite:///{tmp_path / "s.db"}"

[[connectors]]
type = "call_files"
name = "pbx"
path = "{tmp_path}"
mailboxes = "salesforce_users"
"""
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    (problem,) = caught.value.problems
    assert problem.path.endswith("mailboxes") and "one unit" in problem.message
