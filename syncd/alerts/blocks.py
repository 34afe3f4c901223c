"""Block Kit rendering of flags and digests, always within Slack's limits.

Slack refuses more than 50 blocks, or a section text over 3,000 characters
(``invalid_blocks``): long texts are cut with an ellipsis and a digest keeps the first deals
and says how many more there are. The opportunity name links to its Salesforce record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
#: Plain ``text`` is the notification fallback; keep it short.
MAX_FALLBACK = 300


def clip(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    """Slack mrkdwn escaping for names written into a link or text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def money(amount: float | None) -> str:
    """An amount as ``25,000`` (or ``—`` when there is none)."""
    return "—" if amount is None else f"{amount:,.0f}"


def link(base_url: str | None, opp_id: str, name: str) -> str:
    """The opportunity name linked to its record in Salesforce."""
    label = _escape(name or opp_id)
    if not base_url:
        return f"*{label}*"
    return f"<{base_url.rstrip('/')}/lightning/r/Opportunity/{opp_id}/view|*{label}*>"


def section(text: str) -> dict[str, Any]:
    """A mrkdwn section block, clipped to the limit."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}}


def deal_line(deal: dict[str, Any], base_url: str | None) -> str:
    """Name (linked) · amount · stage · close date."""
    return (
        f"{link(base_url, deal['id'], deal.get('name', ''))} · {money(deal.get('amount'))}"
        f" · {_escape(deal.get('stage') or '')} · closes {deal.get('close_date') or '—'}"
    )


def flag_message(
    deal: dict[str, Any], rule: str, summary: str, action: str, base_url: str | None
) -> dict[str, Any]:
    """One flag as a message: the deal, what is wrong, what to do."""
    title = rule.replace("_", " ")
    blocks = [
        section(f":warning: *{title}* — {deal_line(deal, base_url)}"),
        section(f"*What is wrong:* {_escape(summary)}\n*What to do:* {_escape(action)}"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"syncd rule `{rule}`"}]},
    ]
    text = clip(f"{title}: {deal.get('name', '')} — {summary}", MAX_FALLBACK)
    return {"text": text, "blocks": blocks}


def list_message(
    title: str, groups: Sequence[tuple[str, Sequence[str]]], header: Sequence[str] = ()
) -> dict[str, Any]:
    """A digest: a header, optional lines, then titled groups of lines, within the limits."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, 150)}}
    ]
    if header:
        blocks.append(section("\n".join(header)))
    left_out = 0
    for name, lines in groups:
        if not lines:
            continue
        if len(blocks) >= MAX_BLOCKS - 2:
            left_out += len(lines)
            continue
        blocks.append(section(f"*{_escape(name)}* ({len(lines)})"))
        chunk: list[str] = []
        for line in lines:
            if sum(len(x) + 1 for x in chunk) + len(line) > MAX_SECTION_TEXT:
                if len(blocks) >= MAX_BLOCKS - 1:
                    left_out += 1
                    continue
                blocks.append(section("\n".join(chunk)))
                chunk = []
            chunk.append(line)
        if chunk:
            if len(blocks) < MAX_BLOCKS - 1:
                blocks.append(section("\n".join(chunk)))
            else:
                left_out += len(chunk)
    if left_out:
        blocks.append(section(f"…and {left_out} more not shown."))
    return {"text": clip(title, MAX_FALLBACK), "blocks": blocks[:MAX_BLOCKS]}
