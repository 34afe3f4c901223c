"""Block Kit rendering: Slack's limits hold whatever the input, names are escaped and linked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncd.alerts.blocks import MAX_BLOCKS, MAX_SECTION_TEXT, clip, flag_message, list_message


def sections(message: dict) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def test_flag_message_links_and_escapes() -> None:
    deal = {
        "id": "006X",
        "name": "A<b>&C",
        "amount": 1234.5,
        "stage": "Proposal",
        "close_date": None,
    }
    msg = flag_message(deal, "past_close_date", "x" * 5000, "Do it.", "https://o.example.com/")
    first = sections(msg)[0]
    assert "<https://o.example.com/lightning/r/Opportunity/006X/view|*A&lt;b&gt;&amp;C*>" in first
    assert "1,234" in first and "closes —" in first
    assert all(len(t) <= MAX_SECTION_TEXT for t in sections(msg))
    assert len(msg["text"]) <= 300


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=40), st.lists(st.text(max_size=400), max_size=120)),
        max_size=30,
    )
)
def test_list_message_always_within_limits(groups: list[tuple[str, list[str]]]) -> None:
    msg = list_message("Digest", groups, ["header line"])
    assert len(msg["blocks"]) <= MAX_BLOCKS
    assert all(len(t) <= MAX_SECTION_TEXT for t in sections(msg))
    shown = sum(t.count("\n") + 1 for t in sections(msg)[1:])
    total = sum(len(lines) for _, lines in groups)
    assert ("more not shown" in str(msg["blocks"])) or shown >= total


def test_clip() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…"
