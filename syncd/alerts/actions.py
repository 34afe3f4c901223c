"""Buttons on a deal message, and what each does once Slack reports the click.

The buttons (Block Kit ``actions`` and an ``input`` that dispatches, see
https://api.slack.com/reference/block-kit/blocks#actions): Snooze 7 / 30 days, Mark handled,
Close date +1 week / +1 month or a picked date, Log next step. Each carries the deal and the
close date the message showed, so a repeated click (Slack retries, a double click) computes
the same result: the actions are idempotent by construction.

:func:`perform` does the work after the click was acknowledged: it updates the Opportunity in
Salesforce, snoozes or resolves the deal's flags, records who did what on the flags (the
Slack user and, where their Slack email maps to one, the Salesforce User), and says what to
write into the message instead of the buttons.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from syncd.alerts.blocks import escape

log = logging.getLogger(__name__)

PREFIX = "syncd:"
#: Which flags a Salesforce change clears at once (the next rules run confirms).
CLEARS = {"close": ("past_close_date",), "next_step": ("stale",)}


def buttons(opportunity_id: str, close_date: str | None) -> list[dict[str, Any]]:
    """The actions and next-step input blocks of a deal message."""
    value = json.dumps({"opp": opportunity_id, "close": close_date}, separators=(",", ":"))

    def button(text: str, action: str, style: str | None = None) -> dict[str, Any]:
        b: dict[str, Any] = {
            "type": "button",
            "text": {"type": "plain_text", "text": text},
            "action_id": PREFIX + action,
            "value": value,
        }
        if style:
            b["style"] = style
        return b

    picker: dict[str, Any] = {
        "type": "datepicker",
        "action_id": PREFIX + "close_pick",
        "placeholder": {"type": "plain_text", "text": "Pick a close date"},
    }
    if close_date:
        picker["initial_date"] = close_date
    return [
        {
            "type": "actions",
            "block_id": f"{PREFIX}deal:{opportunity_id}",
            "elements": [
                button("Close date +1 week", "close_week", "primary"),
                button("Close date +1 month", "close_month"),
                picker,
                button("Snooze 7 days", "snooze_7"),
                button("Snooze 30 days", "snooze_30"),
                button("Mark handled", "handled"),
            ],
        },
        {
            "type": "input",
            "block_id": f"{PREFIX}next_step:{opportunity_id}",
            "dispatch_action": True,
            "optional": True,
            "label": {"type": "plain_text", "text": "Log next step"},
            "element": {"type": "plain_text_input", "action_id": PREFIX + "next_step"},
        },
    ]


@dataclass(frozen=True)
class Click:
    """One action from a ``block_actions`` payload."""

    action: str  # close_week, close_month, close_pick, snooze_7, snooze_30, handled, next_step
    opportunity_id: str
    shown_close: date | None
    picked: str | None  # a datepicker's date or the next step typed
    slack_user: str
    channel: str | None
    ts: str | None
    blocks: list[dict[str, Any]]
    key: str  # what makes a repeat of the same click recognisable


def clicks(payload: dict[str, Any]) -> list[Click]:
    """The syncd actions in a Slack ``block_actions`` payload (others ignored)."""
    if payload.get("type") != "block_actions":
        return []
    message = payload.get("message") or {}
    result = []
    for a in payload.get("actions") or []:
        action_id = str(a.get("action_id", ""))
        if not action_id.startswith(PREFIX):
            continue
        action = action_id.removeprefix(PREFIX)
        block = str(a.get("block_id", ""))
        value: dict[str, Any] = {}
        if a.get("type") == "button":
            try:
                value = json.loads(a.get("value") or "{}")
            except ValueError:
                value = {}
        opp = value.get("opp") or block.rpartition(":")[2]
        shown = value.get("close")
        if action == "close_pick":
            picked = a.get("selected_date")
        elif action == "next_step":
            picked = a.get("value")
        else:
            picked = None
        result.append(
            Click(
                action=action,
                opportunity_id=str(opp),
                shown_close=date.fromisoformat(shown) if shown else None,
                picked=picked,
                slack_user=str((payload.get("user") or {}).get("id", "")),
                channel=(payload.get("channel") or {}).get("id"),
                ts=message.get("ts") or (payload.get("container") or {}).get("message_ts"),
                blocks=list(message.get("blocks") or []),
                key=f"{action_id}:{a.get('action_ts')}:{message.get('ts')}",
            )
        )
    return result


def new_close_date(click: Click, today: date) -> date | None:
    """The close date a close-date action asks for (from the date the message showed)."""
    base = click.shown_close or today
    if click.action == "close_week":
        return base + timedelta(days=7)
    if click.action == "close_month":
        return base + timedelta(days=30)
    if click.action == "close_pick" and click.picked:
        return date.fromisoformat(click.picked)
    return None


def perform(
    click: Click,
    *,
    store: Any,
    salesforce: Any,
    actor: str | None,
    now: datetime,
    as_rep: bool = False,
) -> str:
    """Do what the click asks; returns the line that replaces the buttons."""
    opp = click.opportunity_id
    who = f"<@{click.slack_user}>" if click.slack_user else "someone"
    flags = [f for f in store.flags.list_open() if f.opportunity_id == opp]
    cleared: tuple[str, ...] = ()
    if click.action.startswith("close"):
        when = new_close_date(click, now.date())
        if when is None:
            raise ValueError("no close date picked")
        salesforce.restful(
            f"sobjects/Opportunity/{opp}", method="PATCH", json={"CloseDate": when.isoformat()}
        )
        cleared = CLEARS["close"] if when >= now.date() else ()
        done = f"Close date moved to {when.isoformat()}"
    elif click.action == "next_step":
        text = (click.picked or "").strip()[:255]
        if not text:
            raise ValueError("empty next step")
        salesforce.restful(f"sobjects/Opportunity/{opp}", method="PATCH", json={"NextStep": text})
        cleared = CLEARS["next_step"]
        done = f"Next step logged: {escape(text)}"
    elif click.action.startswith("snooze_"):
        days = int(click.action.removeprefix("snooze_"))
        until = now + timedelta(days=days)
        for f in flags:
            store.flags.snooze(f.id, until)
        done = f"Snoozed for {days} days"
    elif click.action == "handled":
        cleared = tuple(f.rule for f in flags)
        done = "Marked handled"
    else:
        raise ValueError(f"unknown action {click.action}")
    record = {
        "action": click.action,
        "slack_user": click.slack_user,
        "user_id": actor,
        "as_rep": as_rep,  # done in Salesforce with the rep's own session
    }
    for f in flags:
        if f.rule in cleared:
            store.flags.resolve(f.id)
        store.flags.annotate(f.id, "actions", record | {"at": now.isoformat()})
    log.info(
        "slack action done",
        extra={"action": click.action, "opportunity_id": opp, "flags": len(flags)},
    )
    return f":white_check_mark: {done} by {who}"


def updated_blocks(blocks: list[dict[str, Any]], line: str) -> list[dict[str, Any]]:
    """The message's blocks with the buttons replaced by what was done."""
    kept = [b for b in blocks if not str(b.get("block_id", "")).startswith(PREFIX)]
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}]
