"""The mbox importer holds a memory budget, not whole messages.

A message with a 20 MB header line is the named skip ``too_large`` and costs a chunk, not the
line; with ``capture_body = true`` a batch ends at ``capture.batch_bytes`` of kept mail and a
body is kept only up to ``capture.max_message_bytes``, every message still captured.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from contract import fixed_clock, keys, pull_all
from mail_factory import message

from connectors.base import ConnectorContext
from connectors.mbox import MboxConnector, MboxSettings
from syncd.config import CaptureConfig
from syncd.model import SkipReason

MAILBOX = "rep@acme.example"
MB = 1024 * 1024


def make(path: Path, **capture: object) -> MboxConnector:
    settings = MboxSettings(type="mbox", name="import", path=str(path), mailbox=MAILBOX)
    context = ConnectorContext(clock=fixed_clock, capture=CaptureConfig(**capture))
    return MboxConnector(settings, context)


def append(path: Path, raw: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(b"From sender@x Sun Mar  1 09:00:00 2026\n" + raw.replace(b"\r\n", b"\n"))


def test_a_message_with_a_huge_header_line_is_a_named_skip_in_constant_memory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hostile.mbox"
    append(path, message(0))
    huge = message(1).replace(b"Subject: ", b"Subject: " + b"x" * (20 * MB), 1)
    append(path, huge)
    append(path, message(2))
    connector = make(path, capture_body=True)
    tracemalloc.start()
    try:
        batches, _ = pull_all(connector, MAILBOX, None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(keys(batches)) == 2
    skips = [s for b in batches for s in b.skips]
    assert [s.reason for s in skips] == [SkipReason.TOO_LARGE]
    assert peak < 8 * MB, peak  # the line is 20 MB; held: one 64 KiB chunk at a time


def test_batches_end_at_the_byte_budget_and_bodies_at_the_message_budget(tmp_path: Path) -> None:
    path = tmp_path / "bodies.mbox"
    blob = ("B" * 76 + "\n") * (3 * MB // 77)  # 3 MB of body each
    for i in range(8):
        append(path, message(i, body=blob))
    connector = make(path, capture_body=True, batch_bytes=4 * MB, max_message_bytes=1 * MB)
    tracemalloc.start()
    try:
        batches, _ = pull_all(connector, MAILBOX, None)  # the page size alone would take all 8
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(keys(batches)) == 8  # every message captured, body cut at its budget
    sizes = [len(b.activities) for b in batches if b.activities]
    assert max(sizes) == 4 and len(sizes) == 2, sizes  # 4 x ~1 MB kept reaches 4 MB
    assert all(a.body for b in batches for a in b.activities)
    assert peak < 24 * MB, peak  # 24 MB of file; 8 MB would be two batches' worth of budget
