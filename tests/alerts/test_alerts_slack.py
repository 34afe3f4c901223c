"""Slack delivery with the real slack_sdk over loopback against the Slack sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alerts_helpers import Time, fixtures

from sandbox.slack import SlackSandbox
from syncd.alerts.blocks import flag_message, list_message
from syncd.alerts.slack import (
    PACE_MARGIN,
    PER_CHANNEL_INTERVAL,
    ChannelHeld,
    SlackDelivery,
    user_target,
)
from syncd.errors import AuthExpired, Permanent
from syncd.state import Store

FakeTime = Time
tm, slack, store = fixtures()


@pytest.fixture
def ft(tm: Time) -> Time:
    """The shared clock: the sandbox's rate limit and the sender's pacing."""
    return tm


def sender(slack: SlackSandbox, ft: FakeTime, **kw: object) -> SlackDelivery:
    args: dict = {"token": slack.token, "api_url": slack.api_url, "fallback_channel": "#deals"}
    args.update(kw)
    return SlackDelivery(sleep=ft.sleep, clock=ft.clock, **args)


DEAL = {
    "id": "006000000000001AAA",
    "name": "Globex renewal",
    "amount": 25000.0,
    "stage": "Proposal",
    "close_date": "2026-04-01",
}


def payload(n: int = 0) -> dict:
    return flag_message(
        DEAL | {"name": f"Deal {n}"},
        "no_activity",
        "No activity for 12 days.",
        "Re-engage.",
        "https://org.example.my.salesforce.com",
    )


def test_dm_to_owner_else_fallback_and_lookup_cached(slack: SlackSandbox, ft: FakeTime) -> None:
    s = sender(slack, ft)
    for n in range(3):
        s.post(user_target("Ana@ourco.com"), payload(n))
    s.post(user_target("bob@ourco.com"), payload(9))
    dm = "D" + slack.users["ana@ourco.com"][1:]
    assert len(slack.by_channel(dm)) == 3
    assert [m.text for m in slack.by_channel("#deals")] == [payload(9)["text"]]
    assert slack.calls["/api/users.lookupByEmail"] == 2
    assert slack.calls["/api/conversations.open"] == 1
    # Three posts to one DM: paced about a second apart without a single 429.
    assert slack.calls["/api/chat.postMessage"] == 4
    assert sum(ft.slept) == pytest.approx(2 * (PER_CHANNEL_INTERVAL + PACE_MARGIN))
    assert "lightning/r/Opportunity/006000000000001AAA/view|*Deal 0*" in str(
        slack.messages[0].blocks
    )


def test_429_holds_the_channel_for_retry_after(slack: SlackSandbox, ft: FakeTime) -> None:
    sender(slack, ft).post("channel:#deals", payload(1))
    # A second sender does not know the channel was just used: Slack answers 429, and the
    # channel is held for Retry-After (no sleep here: the delivery loop posts elsewhere).
    second = sender(slack, ft)
    for _ in range(2):
        with pytest.raises(ChannelHeld) as err:
            second.post("channel:#deals", payload(2))
        assert err.value.retry_after == 1.0
    assert slack.calls["/api/chat.postMessage"] == 2 and ft.slept == []
    ft.t += 1.0
    second.post("channel:#deals", payload(2))
    assert slack.calls["/api/chat.postMessage"] == 3
    assert len(slack.by_channel("#deals")) == 2


def test_slack_limits_and_token_checked(slack: SlackSandbox, ft: FakeTime) -> None:
    too_many = {"text": "x", "blocks": [{"type": "divider"}] * 51}
    with pytest.raises(Permanent) as err:
        sender(slack, ft).post("channel:#deals", too_many)
    assert err.value.code == "invalid_blocks"
    long_section = {
        "text": "x",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}],
    }
    with pytest.raises(Permanent):
        sender(slack, ft).post("channel:#deals", long_section)
    with pytest.raises(AuthExpired, match="invalid_auth"):
        sender(slack, ft, token="xoxb-wrong").post("channel:#deals", payload())
    big = list_message("Digest", [("Deals", [f"line {i} " + "z" * 80 for i in range(2000)])])
    assert len(big["blocks"]) <= 50
    sender(slack, ft).post("channel:#big", big)
    assert "more not shown" in str(slack.by_channel("#big")[0].blocks[-1])


def test_outage_queues_then_delivers_each_once(
    slack: SlackSandbox, ft: FakeTime, store: Store
) -> None:
    s = sender(slack, ft)
    ids = [
        store.alerts.enqueue(user_target("ana@ourco.com"), payload(n), digest_key=f"d{n}")
        for n in range(5)
    ]
    slack.outage(1000)
    counts = s.deliver(store.alerts, now=ft.wall)
    assert counts["sent"] == 0 and counts["requeued"] == 1
    assert slack.messages == []
    assert all(store.alerts.get(i).status == "queued" for i in ids)
    assert s.deliver(store.alerts, now=ft.wall)["sent"] == 0  # still down: the next one waits too
    slack.outage(0)
    ft.now += timedelta(minutes=6)
    seen: list[tuple[int, int]] = []
    assert (
        s.deliver(store.alerts, now=ft.wall, progress=lambda d, n: seen.append((d, n)))["sent"] == 5
    )
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5)]  # what `rules run` shows
    assert s.deliver(store.alerts, now=ft.wall)["sent"] == 0
    assert sorted(m.text for m in slack.messages) == sorted(payload(n)["text"] for n in range(5))
    assert all(store.alerts.get(i).status == "sent" for i in ids)


def test_webhook_mode(slack: SlackSandbox, ft: FakeTime) -> None:
    s = SlackDelivery(webhook_url=slack.webhook_url, sleep=ft.sleep, clock=ft.clock)
    s.post(user_target("ana@ourco.com"), payload(1))
    s.post(user_target("bob@ourco.com"), payload(2))
    assert [m.via for m in slack.by_channel(slack.webhook_channel)] == ["webhook", "webhook"]
    assert ft.slept == [pytest.approx(PER_CHANNEL_INTERVAL + PACE_MARGIN)]


def test_html_view_lists_messages(slack: SlackSandbox, ft: FakeTime) -> None:
    import urllib.request

    sender(slack, ft).post("channel:#deals", payload(1))
    with urllib.request.urlopen(slack.url + "/") as resp:  # noqa: S310 (loopback sandbox)
        page = resp.read().decode()
    assert "1 messages" in page and "Deal 1" in page


def test_backoff_doubles_to_an_hour_and_retry_after_wins() -> None:
    from syncd.alerts.slack import requeue_after

    waits = [requeue_after(n).total_seconds() / 60 for n in range(6)]
    assert waits == [5, 10, 20, 40, 60, 60]
    assert requeue_after(3, retry_after=30).total_seconds() == 30


def test_method_rate_tiers_paced_by_the_sender_enforced_by_the_sandbox(
    slack: SlackSandbox, ft: FakeTime
) -> None:
    import requests

    emails = [f"rep{i}@ourco.com" for i in range(60)]
    for e in emails:
        slack.add_user(e)
    s = sender(slack, ft)
    for e in emails:
        s.post(user_target(e), payload(1))
    # users.lookupByEmail and conversations.open are Tier 3 (50 a minute): the 51st of each
    # waited for the minute to pass instead of drawing a 429 (no call was repeated).
    assert slack.calls["/api/users.lookupByEmail"] == 60
    assert slack.calls["/api/conversations.open"] == 60
    assert len(slack.messages) == 60 and sum(ft.slept) >= 59
    # A client that does not pace is refused as Slack refuses it.
    ft.t += 61.0  # a fresh minute
    session = requests.Session()
    session.trust_env = False
    auth = {"Authorization": f"Bearer {slack.token}"}
    answers = [
        session.get(f"{slack.api_url}users.lookupByEmail", params={"email": e}, headers=auth)
        for e in emails[:51]
    ]
    assert {r.status_code for r in answers[:50]} == {200} and answers[50].status_code == 429
    assert int(answers[50].headers["Retry-After"]) >= 1
