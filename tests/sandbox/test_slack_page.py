"""The Slack sandbox's page renders messages as Slack shows them: mrkdwn, links, mentions,
escapes shown literally (an escaped ``<!channel>`` is text, not a ping), context, buttons,
grouped by conversation."""

from __future__ import annotations

from sandbox.slack import Message
from sandbox.slack_page import mrkdwn, page


def test_mrkdwn_as_slack_shows_it() -> None:
    out = mrkdwn("*Deal* is `stale` _now_ ~old~ <https://x.example/a|the *deal*> :warning:")
    assert "<b>Deal</b>" in out and "<code>stale</code>" in out and "<i>now</i>" in out
    assert "<s>old</s>" in out and "<a href='https://x.example/a'>the <b>deal</b></a>" in out
    assert "⚠️" in out
    # Escaped by the sender: shown literally, no link, no ping.
    inert = mrkdwn("&lt;!channel&gt; &lt;@U1&gt; &lt;https://x|click&gt; &amp; co")
    assert inert == "&lt;!channel&gt; &lt;@U1&gt; &lt;https://x|click&gt; &amp; co"
    assert "mention" not in inert and "<a " not in inert
    # Not escaped: a real ping, highlighted.
    assert "class='mention'>@channel" in mrkdwn("<!channel>")
    assert "class='mention'>@ana@ourco.com" in mrkdwn("<@U1>", {"U1": "ana@ourco.com"})


def test_page_groups_by_conversation_and_renders_blocks() -> None:
    deal = Message(
        "D00000001",
        "fallback text",
        [
            {"type": "section", "text": {"type": "mrkdwn", "text": ":warning: *past close date*"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "syncd rules"}]},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Snooze 7 days"},
                        "style": "primary",
                    },
                    {"type": "datepicker", "initial_date": "2026-03-01"},
                ],
            },
        ],
        "1700000000.000100",
    )
    digest = Message("#deals", "Digest", [], "1700000001.000100")
    html = page([deal, digest], {"ana@ourco.com": "U00000001"})
    assert "Direct message with ana@ourco.com (1)" in html and "#deals (1)" in html
    assert html.index("#deals") < html.index("Direct message")  # newest conversation first
    assert "<b>past close date</b>" in html and "Snooze 7 days" in html and "2026-03-01" in html
    assert "fallback text" not in html  # Slack shows the blocks, not the notification text
    assert "2 messages in 2 conversations" in html
