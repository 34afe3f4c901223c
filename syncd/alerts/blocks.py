"""Block Kit rendering of deal messages and digests, always within Slack's limits.

Slack refuses more than 50 blocks, or a section text over 3,000 characters
(``invalid_blocks``): long texts are cut with an ellipsis and a digest keeps the first deals
and says how many more there are. The opportunity name links to its Salesforce record.

Every text that reaches Slack from the org (names, stages, summaries) is escaped the way
Slack asks (``&`` ``<`` ``>`` as ``&amp;`` ``&lt;`` ``&gt;``, see
https://api.slack.com/reference/surfaces/formatting#escaping), in the blocks and in the
notification ``text`` alike, so ``<!channel>`` in a deal name pings nobody. Clipping never
cuts an escape or a ``<link|label>`` in half: it cuts before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
#: Plain ``text`` is the notification fallback; keep it short.
MAX_FALLBACK = 300


def clip(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never inside ``&…;`` or ``<…>``."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    opened, closed = text.rfind("<", 0, cut), text.rfind(">", 0, cut)
    if opened > closed:
        cut = opened  # a link or mention would be cut open: leave it out whole
    amp = text.rfind("&", max(0, cut - 4), cut)
    if amp != -1 and text.find(";", amp) >= cut:
        cut = amp
    return text[:cut] + "…"


def escape(text: str) -> str:
    """Slack's escaping of ``&``, ``<`` and ``>`` for any text from the org."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def money(amount: float | None) -> str:
    """An amount as ``25,000`` (or ``—`` when there is none)."""
    return "—" if amount is None else f"{amount:,.0f}"


def link(base_url: str | None, opp_id: str, name: str) -> str:
    """The opportunity name linked to its record in Salesforce."""
    label = escape(name or opp_id)
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
        f" · {escape(deal.get('stage') or '')} · closes {deal.get('close_date') or '—'}"
    )


def rule_title(rule: str) -> str:
    """A rule's name as people read it."""
    return rule.replace("_", " ")


def flag_message(
    deal: dict[str, Any], rule: str, summary: str, action: str, base_url: str | None
) -> dict[str, Any]:
    """One flag as a message: the deal, what is wrong, what to do."""
    return deal_message(deal, [(rule, summary)], action, base_url)


def deal_message(
    deal: dict[str, Any],
    reasons: Sequence[tuple[str, str]],
    action: str,
    base_url: str | None,
    *,
    merged: int = 0,
) -> dict[str, Any]:
    """A deal's findings as one message: the worst reason, the others short, one next step.

    ``reasons`` are (rule, summary) pairs, most severe first; ``merged`` counts findings left
    out because another reason already says the same.
    """
    (rule, summary), rest = reasons[0], reasons[1:]
    head = f":warning: *{rule_title(rule)}* — {deal_line(deal, base_url)}\n{escape(summary)}"
    blocks: list[dict[str, Any]] = [section(head)]
    if rest:
        also = "\n".join(f"• *{rule_title(r)}*: {escape(s)}" for r, s in rest)
        blocks.append(section(f"*Also:*\n{also}"))
    blocks.append(section(f"*Next step:* {escape(action)}"))
    rules = ", ".join(f"`{r}`" for r, _s in reasons)
    note = f"syncd rules {rules}" + (f" · {merged} overlapping merged" if merged else "")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    more = f" (+{len(rest)} more)" if rest else ""
    text = f"{rule_title(rule)}{more}: {escape(deal.get('name') or '')} — {escape(summary)}"
    return {"text": clip(text, MAX_FALLBACK), "blocks": blocks}


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
        blocks.append(section(f"*{escape(name)}* ({len(lines)})"))
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
    return {"text": clip(escape(title), MAX_FALLBACK), "blocks": blocks[:MAX_BLOCKS]}
