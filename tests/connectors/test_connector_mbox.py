"""The mbox importer passes the connector contract, streams, and detects a replaced file."""

from __future__ import annotations

import mailbox as stdlib_mailbox
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from contract import ConnectorContract, fixed_clock, keys, pull_all
from mail_factory import MALFORMED, message

from connectors import base
from connectors.base import Connector, ConnectorContext
from connectors.mbox import MboxConnector, MboxSettings, from_line_time
from syncd.config import CaptureConfig
from syncd.errors import ConfigError, CursorExpired
from syncd.model import Email, SkipReason

MAILBOX = "rep@acme.example"


def make(
    path: Path,
    clock: Callable[[], datetime] = fixed_clock,
    since: date | None = None,
    **capture: object,
) -> MboxConnector:
    settings = MboxSettings(
        type="mbox", name="import", path=str(path), mailbox=MAILBOX, since=since
    )
    context = ConnectorContext(clock=clock, capture=CaptureConfig(**capture))
    return MboxConnector(settings, context)


def append(
    path: Path, raw: bytes, from_line: bytes = b"From sender@x Sun Mar  1 09:00:00 2026"
) -> None:
    with path.open("ab") as handle:
        handle.write(from_line + b"\n" + raw.replace(b"\r\n", b"\n") + b"\n")


class TestMboxContract(ConnectorContract):
    MAILBOX = MAILBOX

    def make_connector(self, tmp_path: Path, clock: Callable[[], datetime]) -> Connector:
        tmp_path.mkdir(parents=True, exist_ok=True)
        path = tmp_path / "export.mbox"
        path.touch()
        return make(path, clock)

    def deliver(self, connector: Connector, mailbox: str, n: int) -> None:
        assert isinstance(connector, MboxConnector)
        count = getattr(connector, "_delivered", 0)
        for i in range(count, count + n):
            append(connector.path, message(i, mailbox=mailbox))
        connector._delivered = count + n  # type: ignore[attr-defined]

    def deliver_malformed(self, connector: Connector, mailbox: str) -> None:
        assert isinstance(connector, MboxConnector)
        append(connector.path, MALFORMED)

    def garbage_cursors(self) -> list[str]:
        return [*super().garbage_cursors(), "mbox:1:5:0000000000000000", "mbox:1:999999:abc"]


def test_registered_under_its_type() -> None:
    assert base.get("mbox") is MboxConnector


def test_agrees_with_the_standard_library_reader(tmp_path: Path) -> None:
    path = tmp_path / "m.mbox"
    for i in range(25):
        # A body line starting with "From " is quoted as mboxrd writers do.
        append(path, message(i, body=">From the desk of the buyer\nregards"))
    expected = [str(m["Message-ID"]).strip("<>") for m in stdlib_mailbox.mbox(path)]
    batches, _ = pull_all(make(path), MAILBOX, None, limit=4)
    got = [a.message_id for b in batches for a in b.activities if isinstance(a, Email)]
    assert got == expected
    assert len(got) == 25


def test_a_replaced_file_expires_the_cursor(tmp_path: Path) -> None:
    path = tmp_path / "m.mbox"
    for i in range(3):
        append(path, message(i))
    connector = make(path)
    batch = connector.pull(MAILBOX, None, limit=2)
    path.write_bytes(b"")
    for i in range(10, 14):
        append(path, message(i))
    with pytest.raises(CursorExpired):
        connector.pull(MAILBOX, batch.next_cursor)


def test_since_bounds_the_import_and_from_line_dates_stand_in(tmp_path: Path) -> None:
    path = tmp_path / "m.mbox"
    old = message(0).replace(b"Date: Sun, 01 Mar 2026 09:00:00 +0000\r\n", b"")
    append(path, old, b"From x@y Tue Mar 18 12:00:00 2003")
    append(path, message(5))
    connector = make(path, since=date(2010, 1, 1))
    batch = connector.pull(MAILBOX, None)
    assert [s.reason for s in batch.skips] == [SkipReason.OUTSIDE_WINDOW]
    everything = make(path, since=date(1990, 1, 1)).pull(MAILBOX, None)
    assert everything.activities[0].occurred_at == datetime(2003, 3, 18, 12, tzinfo=UTC)
    assert "date_from_received" in everything.activities[0].parse_notes


def test_from_line_with_a_zone() -> None:
    line = b"From 1592845321@xxx Wed Mar 02 10:11:12 +0200 2011"
    assert from_line_time(line) == datetime(2011, 3, 2, 8, 11, 12, tzinfo=UTC)
    assert from_line_time(b"From nobody") is None


def test_text_before_the_first_message_is_a_named_skip(tmp_path: Path) -> None:
    path = tmp_path / "m.mbox"
    path.write_bytes(b"not an mbox header\n\n")
    append(path, message(1))
    batch = make(path).pull(MAILBOX, None)
    assert len(batch.activities) == 1
    assert [s.reason for s in batch.skips] == [SkipReason.UNPARSEABLE]


def test_missing_file_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        make(tmp_path / "absent.mbox").pull(MAILBOX, None)
    assert caught.value.problems[0].path == "connectors.import.path"


def test_memory_stays_flat_with_large_attachments(tmp_path: Path) -> None:
    # 20 messages each carrying 1 MiB of attachment-like body: headers-only reading means the
    # peak allocation stays far below one message body, let alone the file.
    path = tmp_path / "big.mbox"
    blob = ("A" * 76 + "\n") * ((1 << 20) // 77)
    for i in range(20):
        append(path, message(i, body=blob))
    assert path.stat().st_size > 20 * 1_000_000
    connector = make(path)
    tracemalloc.start()
    try:
        batches, _ = pull_all(connector, MAILBOX, None, limit=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(keys(batches)) == 20
    assert peak < 1_000_000, peak


def test_keeping_bodies_costs_the_body(tmp_path: Path) -> None:
    # The contrast that shows the flat-memory test measures the headers-only path.
    path = tmp_path / "big.mbox"
    blob = ("B" * 76 + "\n") * ((1 << 20) // 77)
    for i in range(3):
        append(path, message(i, body=blob))
    connector = make(path, capture_body=True)
    tracemalloc.start()
    try:
        batch = connector.pull(MAILBOX, None, limit=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(batch.activities) == 1 and batch.more
    assert batch.activities[0].body is not None and len(batch.activities[0].body) > 30_000
    assert peak > 1_000_000


CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "email" / "imap_tools_corpus"


def test_importing_the_real_corpus_as_one_mbox_accounts_for_every_message(tmp_path: Path) -> None:
    messages = sorted(CORPUS.rglob("*.eml")) if CORPUS.is_dir() else []
    if not messages:
        pytest.skip(f"real email corpus not present at {CORPUS}")
    path = tmp_path / "corpus.mbox"
    with path.open("wb") as out:
        for eml in messages:
            data = eml.read_bytes().replace(b"\r\n", b"\n")
            # mboxrd: quote body lines that would read as a separator.
            lines = [
                b">" + ln if ln.lstrip(b">").startswith(b"From ") else ln
                for ln in data.split(b"\n")
            ]
            out.write(b"From importer@x Sun Mar  1 09:00:00 2026\n" + b"\n".join(lines) + b"\n\n")
    # since 1900: the RFC 2822 examples in the corpus are dated 1969.
    batches, _ = pull_all(make(path, since=date(1900, 1, 1)), MAILBOX, None, limit=17)
    activities = [a for b in batches for a in b.activities]
    skips = [s for b in batches for s in b.skips]
    assert len(activities) + len(skips) == len(messages)
    # The From line date stands in for a missing Date header, so only sender-less mail is lost.
    assert {s.reason for s in skips} <= {SkipReason.NO_SENDER, SkipReason.UNPARSEABLE}
    assert len(activities) >= 100
