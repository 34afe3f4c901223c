"""The Slack sandbox's page: messages rendered the way Slack shows them, by conversation.

What an operator judges a deal message or digest by, so the rendering follows Slack's
documented formatting (https://api.slack.com/reference/surfaces/formatting): ``*bold*``,
``_italic_``, ``~strike~``, `` `code` ``, ``<url|label>`` links, ``<@U…>`` and ``<!channel>``
mentions (highlighted: that is what a ping looks like), ``&amp;`` ``&lt;`` ``&gt;`` shown as
the characters they stand for, emoji shortcodes; and the Block Kit blocks
(https://api.slack.com/reference/block-kit/blocks): header, section (text and fields),
context, divider, actions (buttons, date pickers) and input. The notification ``text`` is
shown only for a message without blocks, as Slack does. Conversations: a DM is titled with the
member's email, a channel with its name; newest conversation activity first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

_TOKEN = re.compile(r"<([^<>\n]+)>")
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~([^~\n]+)~(?![\w~])")
EMOJI = {
    ":warning:": "⚠️",
    ":white_check_mark:": "✅",
    ":rotating_light:": "🚨",
    ":calendar:": "📅",
    ":bell:": "🔔",
}

CSS = """
body { font-family: -apple-system, 'Segoe UI', Lato, Helvetica, Arial, sans-serif;
       margin: 0; background: #f8f8f8; color: #1d1c1d; font-size: 15px; }
h1 { font-size: 18px; background: #3f0e40; color: #fff; margin: 0; padding: 12px 20px; }
.conv { background: #fff; margin: 16px 20px; border: 1px solid #ddd; border-radius: 8px; }
.conv h2 { font-size: 15px; margin: 0; padding: 10px 16px; border-bottom: 1px solid #eee; }
.msg { display: flex; padding: 10px 16px; border-top: 1px solid #f2f2f2; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #2eb67d; color: #fff;
          font-weight: bold; text-align: center; line-height: 36px; margin-right: 10px; }
.who { font-weight: 900; } .ts { color: #616061; font-size: 12px; margin-left: 6px; }
.header { font-size: 18px; font-weight: 900; margin: 6px 0; }
.section { margin: 4px 0; line-height: 1.45; white-space: normal; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 16px; }
.context { color: #616061; font-size: 12px; margin: 4px 0; }
.actions { margin: 8px 0; display: flex; flex-wrap: wrap; gap: 8px; }
.btn { border: 1px solid #bbb; border-radius: 4px; padding: 4px 12px; font-weight: bold;
       background: #fff; font-size: 13px; }
.btn.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.btn.danger { background: #e01e5a; color: #fff; border-color: #e01e5a; }
.input label { font-weight: bold; display: block; margin: 6px 0 2px; }
.input .box { border: 1px solid #bbb; border-radius: 4px; height: 28px; width: 60%; }
a { color: #1264a3; text-decoration: none; }
code { background: #f6f6f6; border: 1px solid #ddd; border-radius: 3px; padding: 0 3px;
       color: #e01e5a; font-size: 12px; }
.mention { background: #fff3c4; color: #1264a3; border-radius: 3px; padding: 0 2px; }
hr { border: 0; border-top: 1px solid #ddd; }
.edited { color: #616061; font-size: 12px; }
"""


def _plain(text: str) -> str:
    """Text between tokens: Slack's escapes shown as their characters, then HTML-escaped."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return html.escape(text, quote=False)


def _style(text: str) -> str:
    for name, glyph in EMOJI.items():
        text = text.replace(name, glyph)
    codes: list[str] = []

    def keep(m: re.Match[str]) -> str:
        codes.append(f"<code>{m.group(1)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    text = _CODE.sub(keep, text)
    text = _BOLD.sub(r"<b>\1</b>", text)
    text = _ITALIC.sub(r"<i>\1</i>", text)
    text = _STRIKE.sub(r"<s>\1</s>", text)
    return re.sub("\x00(\\d+)\x00", lambda m: codes[int(m.group(1))], text)


def _token(inner: str, users: Mapping[str, str]) -> str:
    target, _bar, label = inner.partition("|")
    if target.startswith("@"):
        name = users.get(target[1:], target[1:])
        return f"<span class='mention'>@{html.escape(name)}</span>"
    if target.startswith("!"):
        word = target[1:].split("^")[0]
        return f"<span class='mention'>@{html.escape(word)}</span>"
    if target.startswith("#"):
        return f"<span class='mention'>#{html.escape(label or target[1:])}</span>"
    shown = _style(_plain(label)) if label else html.escape(target)
    return f"<a href='{html.escape(target, quote=True)}'>{shown}</a>"


def mrkdwn(text: str, users: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn as the HTML Slack would show."""
    users = users or {}
    out: list[str] = []
    last = 0
    for m in _TOKEN.finditer(text):
        out.append(_style(_plain(text[last : m.start()])))
        out.append(_token(m.group(1), users))
        last = m.end()
    out.append(_style(_plain(text[last:])))
    return "".join(out).replace("\n", "<br>")


def _text(obj: Any, users: Mapping[str, str]) -> str:
    if not isinstance(obj, dict):
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), users)
    return html.escape(str(obj.get("text", "")))


def _element(el: dict[str, Any], users: Mapping[str, str]) -> str:
    kind = el.get("type")
    if kind == "button":
        style = el.get("style", "")
        return f"<span class='btn {html.escape(style)}'>{_text(el.get('text'), users)}</span>"
    if kind == "datepicker":
        shown = el.get("initial_date") or _text(el.get("placeholder"), users)
        return f"<span class='btn'>📅 {html.escape(str(shown))}</span>"
    return f"<span class='btn'>{html.escape(str(kind))}</span>"


def block(b: dict[str, Any], users: Mapping[str, str]) -> str:
    """One Block Kit block as HTML."""
    kind = b.get("type")
    if kind == "header":
        return f"<div class='header'>{_text(b.get('text'), users)}</div>"
    if kind == "section":
        body = _text(b.get("text"), users)
        fields = "".join(f"<div>{_text(f, users)}</div>" for f in b.get("fields") or [])
        return f"<div class='section'>{body}" + (
            f"<div class='fields'>{fields}</div></div>" if fields else "</div>"
        )
    if kind == "context":
        parts = " · ".join(_text(e, users) for e in b.get("elements") or [])
        return f"<div class='context'>{parts}</div>"
    if kind == "divider":
        return "<hr>"
    if kind == "actions":
        items = "".join(_element(e, users) for e in b.get("elements") or [])
        return f"<div class='actions'>{items}</div>"
    if kind == "input":
        return (
            f"<div class='input'><label>{_text(b.get('label'), users)}</label>"
            "<div class='box'></div></div>"
        )
    return f"<div class='context'>[{html.escape(str(kind))} block]</div>"


def message_html(m: Any, users: Mapping[str, str]) -> str:
    """One message: the app's avatar and name, its blocks (or its text)."""
    body = "".join(block(b, users) for b in m.blocks) if m.blocks else mrkdwn(m.text, users)
    edited = " <span class='edited'>(edited)</span>" if getattr(m, "edited", 0) else ""
    return (
        "<div class='msg'><div class='avatar'>S</div><div>"
        f"<span class='who'>syncd</span><span class='ts'>{html.escape(m.ts)}</span>{edited}"
        f"<div>{body}</div></div></div>"
    )


def page(messages: Iterable[Any], emails: Mapping[str, str]) -> str:
    """The whole page: conversations with their messages (oldest first within one)."""
    users = {uid: email for email, uid in emails.items()}
    conversations: dict[str, list[Any]] = {}
    for m in messages:
        conversations.setdefault(m.channel, []).append(m)
    parts = []
    count = 0
    for channel, msgs in sorted(conversations.items(), key=lambda kv: kv[1][-1].ts, reverse=True):
        count += len(msgs)
        uid = "U" + channel[1:] if channel.startswith("D") else None
        title = (
            f"Direct message with {html.escape(users.get(uid, uid))}"
            if uid is not None
            else html.escape(channel)
        )
        parts.append(
            f"<div class='conv'><h2>{title} ({len(msgs)})</h2>"
            + "".join(message_html(m, users) for m in msgs)
            + "</div>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Slack sandbox</title>"
        f"<style>{CSS}</style></head><body><h1>Slack sandbox: {count} messages in "
        f"{len(conversations)} conversations</h1>" + "".join(parts) + "</body></html>"
    )
