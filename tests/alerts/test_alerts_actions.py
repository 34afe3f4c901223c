"""The buttons' payloads as Slack sends them (block_actions): each action parsed to what it
asks, idempotent by construction (computed from the close date the message showed)."""

from __future__ import annotations

import json
from datetime import date

from syncd.alerts.actions import buttons, clicks, new_close_date, updated_blocks


def payload(action: dict) -> dict:
    return {
        "type": "block_actions",
        "user": {"id": "U1"},
        "channel": {"id": "D1"},
        "message": {"ts": "17.1", "blocks": buttons("006A", "2026-03-10")},
        "actions": [action | {"action_ts": "1.5"}],
    }


def element(action_id: str) -> dict:
    for b in buttons("006A", "2026-03-10"):
        for e in b.get("elements", []) + ([b["element"]] if "element" in b else []):
            if e["action_id"] == action_id:
                return e | {"block_id": b["block_id"]}
    raise KeyError(action_id)


def test_each_action_is_parsed_from_its_documented_shape() -> None:
    week = element("syncd:close_week")
    (c,) = clicks(payload({"type": "button", **week}))
    assert (c.action, c.opportunity_id, c.shown_close) == ("close_week", "006A", date(2026, 3, 10))
    assert new_close_date(c, date(2026, 3, 16)) == date(2026, 3, 17)  # from the shown date
    pick = element("syncd:close_pick")
    (c,) = clicks(payload({"type": "datepicker", **pick, "selected_date": "2026-05-01"}))
    assert c.action == "close_pick" and new_close_date(c, date(2026, 3, 16)) == date(2026, 5, 1)
    step = element("syncd:next_step")
    typed = {"type": "plain_text_input", **step, "value": "Call the CFO"}
    (c,) = clicks(payload(typed))
    assert (c.action, c.opportunity_id, c.picked) == ("next_step", "006A", "Call the CFO")
    assert clicks(payload({"type": "button", "action_id": "other", "value": "x"})) == []
    assert clicks({"type": "view_submission"}) == []


def test_a_repeat_has_the_same_key_and_the_buttons_give_way() -> None:
    snooze = element("syncd:snooze_7")
    (a,) = clicks(payload({"type": "button", **snooze}))
    (b,) = clicks(payload({"type": "button", **snooze}))
    assert a.key == b.key
    assert json.loads(snooze["value"]) == {"opp": "006A", "close": "2026-03-10"}
    after = updated_blocks(a.blocks, "Snoozed for 7 days by <@U1>")
    assert [x["type"] for x in after] == ["context"]
