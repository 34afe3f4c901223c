"""A rate-limited Slack channel is held, not hammered: after chat.postMessage answers 429
with Retry-After, nothing more goes to that channel before Retry-After has passed, the other
channels' messages go on, and every message is sent exactly once (real slack_sdk over
loopback against the Slack sandbox, on a simulated clock)."""

from __future__ import annotations

import itertools

from alerts_helpers import Time, delivery, fixtures

from sandbox.slack import SlackSandbox
from syncd.alerts.slack import HOLD_WAIT_MAX, user_target
from syncd.state import Store

tm, slack, store = fixtures()


def queue(store: Store) -> dict[int, str]:
    """Three messages to #deals, two to #ops, one DM to Ana, interleaved; id -> text."""
    targets = ["channel:#deals", "channel:#ops", user_target("ana@ourco.com")] * 2
    targets[-1] = "channel:#deals"
    texts = {}
    for n, target in enumerate(targets):
        text = f"message {n} to {target}"
        alert_id = store.alerts.enqueue(target, {"text": text}, digest_key=f"k{n}")
        texts[alert_id] = text
    return texts


def attempts(slack: SlackSandbox, channel: str) -> list[tuple[float, int]]:
    return [(t, status) for t, ch, status in slack.post_attempts if ch == channel]


def sent_once(slack: SlackSandbox, store: Store, texts: dict[int, str]) -> None:
    assert sorted(m.text for m in slack.messages) == sorted(texts.values())
    assert all(store.alerts.get(i).status == "sent" for i in texts)


def test_a_429_holds_its_channel_until_retry_after_and_others_go_on(
    slack: SlackSandbox, store: Store, tm: Time
) -> None:
    texts = queue(store)
    slack.throttle("#deals", 30)
    counts = delivery(slack, tm).deliver(store.alerts, now=tm.wall)
    assert counts["sent"] == 6 and not counts["requeued"] and not counts["held"]
    deals = attempts(slack, "#deals")
    (refused_at, _), *after = deals
    assert [s for _, s in deals] == [429, 200, 200, 200]  # one 429, then the three, once each
    assert all(t >= refused_at + 30 for t, _ in after)  # nothing before Retry-After passed
    others = attempts(slack, "#ops") + attempts(slack, "D" + slack.users["ana@ourco.com"][1:])
    assert len(others) == 3 and all(s == 200 and t < refused_at + 30 for t, s in others)
    sent_once(slack, store, texts)


def test_a_long_retry_after_leaves_the_channel_queued_for_a_later_pass(
    slack: SlackSandbox, store: Store, tm: Time
) -> None:
    texts = queue(store)
    wait = HOLD_WAIT_MAX * 5
    slack.throttle("#deals", wait)
    s = delivery(slack, tm)
    first = s.deliver(store.alerts, now=tm.wall)
    assert first["sent"] == 3 and first["held"] == 3
    again = s.deliver(store.alerts, now=tm.wall)  # still held: Slack is not asked
    assert again["sent"] == 0 and again["held"] == 3
    assert [s for _, s in attempts(slack, "#deals")] == [429]
    refused_at = attempts(slack, "#deals")[0][0]
    tm.t = refused_at + wait
    last = s.deliver(store.alerts, now=tm.wall)
    assert last["sent"] == 3
    assert [s for _, s in attempts(slack, "#deals")] == [429, 200, 200, 200]
    sent_once(slack, store, texts)


def test_pacing_one_channel_ends_whatever_the_float_rounding(
    slack: SlackSandbox, store: Store, tm: Time
) -> None:
    # At this clock reading, last + 1.0 rounds a hair (2.2e-16 s) short of a second after
    # `last`, and sleeping that remainder does not move the clock: a pacing loop that
    # re-slept the remainder never ended.
    tm.t = 1.3436424411240122
    texts = {
        store.alerts.enqueue("channel:#deals", {"text": f"m{n}"}, digest_key=f"p{n}"): f"m{n}"
        for n in range(3)
    }
    counts = delivery(slack, tm).deliver(store.alerts, now=tm.wall)
    assert counts["sent"] == 3
    posted = [t for t, status in attempts(slack, "#deals") if status == 200]
    assert len(posted) == 3 and all(b - a >= 1.0 for a, b in itertools.pairwise(posted))
    sent_once(slack, store, texts)
