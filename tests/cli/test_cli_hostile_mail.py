"""One hostile message never stops a mailbox: ``syncd sync`` end to end on a sandbox org.

An mbox holds a good message, one dated ``Fri, 31 Dec 9999 23:59:59 -1200`` (once in its Date
header, once only on its ``From`` line), then a good one. Before item-level catching every
sync exited 1 with an OverflowError and the cursor never moved.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from service_helpers import SECRET_ENV, start_org

from syncd.cli import main

RECENT = datetime.now(UTC) - timedelta(days=2)
GOOD_FROM = b"From alice@globex.com " + RECENT.strftime("%a %b %d %H:%M:%S %Y").encode()


def mail(mid: str, date: str | None, subject: str) -> bytes:
    head = f"From: alice@globex.com\nTo: ana@ourco.com\nSubject: {subject}\nMessage-ID: <{mid}>\n"
    return (head + (f"Date: {date}\n" if date else "") + "\nbody\n\n").encode()


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path, Path]]:
    """The service tests' org; each test writes its own mbox over theirs."""
    found = start_org(tmp_path)
    monkeypatch.setenv(SECRET_ENV, found.sb.client_secret)
    try:
        yield found.sb, found.config, found.mbox
    finally:
        found.sb.stop()


def sync(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    capsys.readouterr()
    assert main(["sync", "-c", str(config), "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["passes"]
    return dict(run["outcomes"])


def test_a_year_9999_date_header_is_captured_at_its_received_time(
    org: tuple[Any, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, config, box = org
    good = format_datetime(RECENT)
    box.write_bytes(
        GOOD_FROM + b"\n" + mail("1@globex.com", good, "First")
        + GOOD_FROM + b"\n" + mail("2@globex.com", "Fri, 31 Dec 9999 23:59:59 -1200", "Forged")
        + GOOD_FROM + b"\n" + mail("3@globex.com", good, "Third")
    )  # fmt: skip
    # The forged Date is not believed: the From line (the exporter's receipt) dates it.
    assert sync(config, capsys) == {"written": 3}
    assert sorted(t["Subject"] for t in sb.records("Task")) == [
        "Email: First", "Email: Forged", "Email: Third",
    ]  # fmt: skip
    assert sync(config, capsys) == {}  # the cursor moved past all three


def test_a_from_line_in_year_9999_without_a_date_header_is_a_named_skip(
    org: tuple[Any, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, config, box = org
    good = format_datetime(RECENT)
    box.write_bytes(
        GOOD_FROM + b"\n" + mail("1@globex.com", good, "First")
        + b"From x@y Fri Dec 31 23:59:59 9999 -1200\n" + mail("2@globex.com", None, "Undated")
        + b"From x@y Fri Dec 31 23:59:59 9999\n" + mail("3@globex.com", None, "Future")
        + GOOD_FROM + b"\n" + mail("4@globex.com", good, "Fourth")
    )  # fmt: skip
    outcomes = sync(config, capsys)
    assert outcomes == {"written": 2, "skipped:no_date": 1, "skipped:future_date": 1}
    assert sb.count("Task") == 2
    assert sync(config, capsys) == {}
