"""Outlook mail at scale and under throttling: request counts, concurrency, Retry-After, resync."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta

import pytest
from contract import pull_all
from graph_helpers import NOW, FakeClock, mail_connector

from connectors.outlook_mail import OutlookMailConnector
from sandbox.graph import GraphSandbox
from sandbox.graph.seed import add_message
from syncd.errors import CursorExpired

REP = "rep@ourco.example"


@pytest.fixture
def graph(clock: FakeClock) -> Iterator[GraphSandbox]:
    with GraphSandbox(clock=clock.now) as sandbox:
        sandbox.add_user(REP)
        yield sandbox


def fill(
    graph: GraphSandbox, n: int, *, start: int = 0, folder: str = "inbox", **kw: object
) -> None:
    for i in range(start, start + n):
        add_message(
            graph,
            REP,
            message_id=f"msg-{i}@customer.example",
            sender=f"buyer{i % 50}@customer.example" if folder == "inbox" else REP,
            to=[REP] if folder == "inbox" else [f"buyer{i % 50}@customer.example"],
            subject=f"Order {i}",
            received=NOW - timedelta(days=10) + timedelta(seconds=i),
            folder=folder,
            **kw,  # type: ignore[arg-type]
        )


def test_a_large_mailbox_within_the_request_bound_under_throttling(
    graph: GraphSandbox, clock: FakeClock
) -> None:
    # 2,500 here keeps the suite fast (normalising dominates); benchmarks/graph_sync.py runs
    # the same scenario with 10,000 and records the counts in docs/benchmarks.md.
    total = 2_500
    fill(graph, total - 500)
    fill(graph, 500, start=total - 500, folder="sentitems")
    connector = mail_connector(graph, clock, (REP,))
    graph.reset_counters()
    graph.throttle.inject(3, retry_after=30)  # Graph has sent long Retry-Afters
    batches, cursor = pull_all(connector, REP, None)
    keys = [a.key for b in batches for a in b.activities]
    assert len(keys) == len(set(keys)) == total
    bound = total / OutlookMailConnector.page_size + 10
    assert graph.requests["total"] <= bound, graph.requests
    assert graph.throttle.throttled == 3
    assert graph.throttle.concurrency_breaches == 0
    assert graph.throttle.early_requests == 0
    assert clock.slept.count(30) == 3
    # Incremental: one new message costs one delta request per folder.
    fill(graph, 1, start=20_000)
    before = graph.requests["total"]
    again, _ = pull_all(connector, REP, cursor)
    assert [a.subject for b in again for a in b.activities] == ["Order 20000"]
    assert graph.requests["total"] - before == 2


def test_headers_through_batch_keep_four_in_flight_and_honour_member_retry_after(
    graph: GraphSandbox, clock: FakeClock
) -> None:
    fill(graph, 100, headers={"List-Unsubscribe": "<mailto:u@news.example>"})
    connector = mail_connector(graph, clock, (REP,), fetch_headers=True)
    graph.reset_counters()
    graph.throttle.inject(2, retry_after=7)
    batches, _ = pull_all(connector, REP, None, limit=100)
    emails = [a for b in batches for a in b.activities]
    assert len(emails) == 100
    assert all(e.list_unsubscribe == "<mailto:u@news.example>" for e in emails)
    # 100 headers in 5 $batch requests (+1 retry of the throttled members), not 100 GETs.
    assert graph.requests["batch"] in (math.ceil(100 / 20), math.ceil(100 / 20) + 1, 7)
    assert graph.requests["messages_get"] == 100
    assert max(graph.throttle.peak.values()) <= 4
    assert graph.throttle.concurrency_breaches == 0
    assert graph.throttle.early_requests == 0


def test_first_run_is_bounded_by_the_backfill_window(graph: GraphSandbox, clock: FakeClock) -> None:
    fill(graph, 3)
    add_message(
        graph,
        REP,
        message_id="ancient@customer.example",
        sender="buyer@customer.example",
        to=[REP],
        subject="Old",
        received=NOW - timedelta(days=400),
    )
    connector = mail_connector(graph, clock, (REP,))
    batches, _ = pull_all(connector, REP, None)
    assert sorted(a.subject for b in batches for a in b.activities) == [
        "Order 0",
        "Order 1",
        "Order 2",
    ]


def test_an_expired_delta_token_raises_cursor_expired(
    graph: GraphSandbox, clock: FakeClock
) -> None:
    fill(graph, 5)
    connector = mail_connector(graph, clock, (REP,))
    _, cursor = pull_all(connector, REP, None)
    graph.mailbox(REP).expire_tokens()
    with pytest.raises(CursorExpired):
        connector.pull(REP, cursor)


def test_sent_items_and_drafts_are_labelled_for_the_privacy_filter(
    graph: GraphSandbox, clock: FakeClock
) -> None:
    fill(graph, 1, folder="sentitems")
    fill(graph, 1, start=1, is_draft=True)
    connector = mail_connector(graph, clock, (REP,))
    batches, _ = pull_all(connector, REP, None)
    labels = {a.subject: a.labels for b in batches for a in b.activities}
    assert labels == {"Order 0": ("sent",), "Order 1": ("inbox", "draft")}
