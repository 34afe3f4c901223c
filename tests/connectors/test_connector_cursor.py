"""The one cursor encoding and the high-water mark with ids (connectors/_cursor.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import aircall, call_files, mbox, ringcentral, zoom_phone
from connectors._cursor import CursorFormat, HighWater, HighWaterFormat
from syncd.errors import CursorExpired

#: Cursors as the connectors wrote them before the shared encoding, as a state store holds them.
STORED = [
    (aircall.CURSOR, "ac:1:1764547200:", HighWater(1764547200)),
    (aircall.CURSOR, "ac:1:1764547260:101,99", HighWater(1764547260, frozenset({"99", "101"}))),
    (
        ringcentral.CURSOR,
        "rc:1:1764547200123:Y3Nhk",
        HighWater(1764547200123, frozenset({"Y3Nhk"})),
    ),
    (
        zoom_phone.CURSOR,
        "zp:1:1764547200:a1-b2,c3",
        HighWater(1764547200, frozenset({"a1-b2", "c3"})),
    ),
]


@pytest.mark.parametrize(("fmt", "cursor", "mark"), STORED)
def test_stored_dialer_cursors_still_read_and_write_back_the_same(
    fmt: HighWaterFormat, cursor: str, mark: HighWater
) -> None:
    assert fmt.decode(cursor) == mark
    assert fmt.encode(mark) == cursor


def test_stored_file_cursors_still_read_and_write_back_the_same() -> None:
    cursor = "cf:1:calls%202026-12-01.csv:0123456789abcdef:400"
    assert call_files.CURSOR.decode(cursor) == ("calls 2026-12-01.csv", "0123456789abcdef", 400)
    assert call_files.CURSOR.encode("calls 2026-12-01.csv", "0123456789abcdef", 400) == cursor
    assert mbox.CURSOR.decode("mbox:1:8192:9f86d081884c7d65") == (8192, "9f86d081884c7d65")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "ac",
        "ac:1",
        "ac:1:5",
        "ac:1:5::",
        "ac:2:5:",
        "rc:1:5:",
        "ac:1:-5:",
        "ac:1:x:",
        "ac:1:٣:",
    ],
)
def test_foreign_or_garbled_cursors_expire(cursor: str) -> None:
    with pytest.raises(CursorExpired, match="not an Aircall cursor"):
        aircall.CURSOR.decode(cursor)


@given(
    st.integers(min_value=0, max_value=2**53),
    st.frozensets(st.text(min_size=1, max_size=12), max_size=5),
)
def test_any_mark_survives_its_cursor(at: int, ids: frozenset[str]) -> None:
    fmt = HighWaterFormat("zz", "a test cursor")
    assert fmt.decode(fmt.encode(HighWater(at, ids))) == HighWater(at, ids)


@given(st.text(max_size=20), st.text(max_size=20), st.integers(min_value=0))
def test_any_text_field_survives_its_cursor(name: str, other: str, n: int) -> None:
    fmt = CursorFormat("zz", "a test cursor", (str, str, int))
    assert fmt.decode(fmt.encode(name, other, n)) == (name, other, n)


def test_calls_sharing_the_newest_start_are_neither_lost_nor_taken_twice() -> None:
    calls = [(10, "a"), (20, "c"), (20, "b"), (20, "d"), (30, "e")]
    mark, taken = HighWater(10), []
    mark = mark.after([(10, "a")])  # "a" was taken by an earlier pull
    while True:
        chunk = mark.newer(calls, lambda c: c)[:2]  # pages of 2 split the three at 20
        if not chunk:
            break
        taken += chunk
        mark = mark.after(chunk)
    assert taken == [(20, "b"), (20, "c"), (20, "d"), (30, "e")]
    assert mark == HighWater(30, frozenset({"e"}))


def test_the_ids_at_the_mark_add_up_while_the_start_stays() -> None:
    mark = HighWater(20, frozenset({"b"}))
    assert mark.after([(20, "c")]) == HighWater(20, frozenset({"b", "c"}))
    assert mark.after([(20, "c"), (25, "x")]) == HighWater(25, frozenset({"x"}))
    assert mark.after([]) is mark
    assert not mark.is_new(19, "z") and not mark.is_new(20, "b") and mark.is_new(20, "c")
