"""Every text that reaches Slack escapes ``&``, ``<`` and ``>``: a deal or stage named
``<!channel> <@U123> <https://x|click> & co`` pings nobody and shows literally, on every
surface (deal DM and its notification text, the fallback channel, the first-run digest, the
daily digest, the manager digest, webhook mode); clipping never cuts an escape or a link."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rules"))

from alerts_helpers import Time, fixtures
from rules_helpers import STAGES, at, deal

from sandbox.slack import Message, SlackSandbox
from syncd.alerts.blocks import clip
from syncd.alerts.slack import SlackDelivery
from syncd.config.models import RulesConfig
from syncd.rules.inputs import Change, Pipeline, Stage
from syncd.rules.run import run_digests, run_rules
from syncd.state import Store

tm, slack, store = fixtures()

EVIL = "<!channel> <@U123> <https://x|click> & co"
NOW = datetime(2026, 3, 16, 7, tzinfo=UTC)
#: What Slack would act on: a special mention, a user mention, a foreign link, a bare "&".
RAW = re.compile(r"<!|<@|<https://x|& co")


def config(immediate: str = "warning") -> Any:
    return SimpleNamespace(
        service=SimpleNamespace(timezone=None),
        rules=RulesConfig(early_stage_boundary="Propose", pipeline_target=50_000.0),
        alerts=SimpleNamespace(
            slack=SimpleNamespace(
                fallback_channel="#deals",
                cooldown=timedelta(days=3),
                salesforce_base_url="https://org.example.my.salesforce.com",
                managers=(),
                immediate=immediate,
                per_deal_interval=timedelta(days=1),
                takes_clicks=False,
                quiet_hours=None,
            )
        ),
    )


def world(quiet: int) -> Pipeline:
    """Ana's and Bob's (no Slack account) deals, named and staged to inject."""
    stages = dict(STAGES) | {EVIL: Stage(EVIL, 2, False, False)}
    entered = [Change(at(NOW.date() - timedelta(days=5)), EVIL, None, None)]
    deals = [
        deal(
            f"006{who}",
            name=f"{EVIL} {who}",
            stage=EVIL,
            owner_email=f"{who.lower()}@ourco.com",
            last_activity=NOW.date() - timedelta(days=quiet),
            next_step=None,
            history=entered,
        )
        for who in ("ANA", "BOB")
    ]
    return Pipeline(today=NOW.date(), stages=stages, deals=deals)


def texts(message: Message) -> list[str]:
    """The notification text and every text inside the blocks."""
    found = [message.text]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "text" and isinstance(v, str):
                    found.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.blocks)
    return found


def assert_inert(messages: list[Message], *, in_text: bool = False) -> None:
    """Nothing Slack would act on; the name shows escaped (``in_text``: in the notification)."""
    assert messages
    for m in messages:
        for text in texts(m):
            assert not RAW.search(text), text
        assert any("&lt;!channel&gt;" in t for t in texts(m)), texts(m)
        if in_text:
            assert "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x|click&gt; &amp; co" in m.text


def deliver(slack: SlackSandbox, tm: Time, **kw: Any) -> SlackDelivery:
    args = {"token": slack.token, "api_url": slack.api_url} | kw
    return SlackDelivery(fallback_channel="#deals", sleep=tm.sleep, clock=tm.clock, **args)


def test_first_run_digest_dm_and_fallback_channel(
    store: Store, slack: SlackSandbox, tm: Time
) -> None:
    run_rules(config(), None, store, now=NOW, delivery=deliver(slack, tm), pipeline=world(40))
    dm = "D" + slack.users["ana@ourco.com"][1:]
    assert_inert(slack.by_channel(dm))
    assert_inert(slack.by_channel("#deals"))


def test_deal_message_and_its_notification_text(
    store: Store, slack: SlackSandbox, tm: Time
) -> None:
    run_rules(config(), None, store, now=NOW, delivery=deliver(slack, tm), pipeline=world(12))
    first = len(slack.messages)
    run_rules(config(), None, store, now=NOW, delivery=deliver(slack, tm), pipeline=world(40))
    deal_messages = slack.messages[first:]
    assert len(deal_messages) == 2  # Ana's DM, Bob's in the fallback channel
    assert_inert(deal_messages, in_text=True)


def test_daily_and_manager_digests(store: Store, slack: SlackSandbox, tm: Time) -> None:
    run_rules(config(), None, store, now=NOW, delivery=None, pipeline=world(40))
    later = Pipeline(today=NOW.date() + timedelta(days=1), stages=world(40).stages, deals=[])
    later.deals = world(41).deals
    assert run_digests(config(), None, store, later, weekly=True) == {"daily": 2, "weekly": 1}
    deliver(slack, tm).deliver(store.alerts, now=lambda: NOW)
    digests = [m for m in slack.messages if "needing attention" in m.text]
    weekly = [m for m in slack.messages if m.text.startswith("Weekly")]
    assert len(digests) >= 2 and len(weekly) == 1
    assert_inert(digests)
    for m in weekly:
        for text in texts(m):
            assert not RAW.search(text), text


def test_webhook_mode(store: Store, slack: SlackSandbox, tm: Time) -> None:
    hook = deliver(slack, tm, token=None, webhook_url=slack.webhook_url)
    run_rules(config(), None, store, now=NOW, delivery=hook, pipeline=world(40))
    assert_inert(slack.by_channel(slack.webhook_channel))


@given(st.text(alphabet="ab&<>|:/!@ ", max_size=60), st.integers(min_value=2, max_value=40))
def test_clip_never_cuts_an_escape_or_a_link(raw: str, limit: int) -> None:
    from syncd.alerts.blocks import escape

    text = escape(raw) + " <https://example.com/a|label> " + escape(raw)
    cut = clip(text, limit)
    assert len(cut) <= limit
    body = cut.removesuffix("…")
    # Every "<" opened is closed, and every "&" starts a whole escape.
    assert body.count("<") == body.count(">")
    for m in re.finditer("&", body):
        assert re.match("&(amp|lt|gt);", body[m.start() :]), body
