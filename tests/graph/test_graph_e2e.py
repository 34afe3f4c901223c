"""End to end with the Runner and the Salesforce sandbox: delta expiry, Google + Microsoft."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from capture_helpers import NOW
from google_helpers import gmail_connector
from graph_crm import Crm
from graph_helpers import FakeClock, mail_connector

from sandbox.google import GoogleSandbox
from sandbox.graph import GraphSandbox
from sandbox.graph.seed import add_message
from syncd.config import CaptureConfig

ANA = "ana@ourco.com"  # on Microsoft 365
BEN = "ben@ourco.com"  # on Google Workspace
CAPTURE = CaptureConfig(internal_domains=["ourco.com"])


def deliver(graph: GraphSandbox, first: int, n: int) -> None:
    for i in range(first, first + n):
        add_message(
            graph,
            ANA,
            message_id=f"thread-{i}@globex.com",
            sender="alice@globex.com",
            to=[ANA],
            subject=f"Renewal terms {i}",
            received=NOW - timedelta(days=3) + timedelta(minutes=i),
        )


def task_keys(crm: Crm) -> Counter[str]:
    return Counter(str(t["Syncd_Key__c"]) for t in crm.records("Task"))


@pytest.fixture
def graph() -> GraphSandbox:
    with GraphSandbox(clock=FakeClock(NOW).now) as sandbox:
        yield sandbox  # type: ignore[misc]


def test_expired_delta_tokens_recover_with_nothing_lost_or_duplicated(
    crm: Crm, graph: GraphSandbox
) -> None:
    clock = FakeClock(NOW)
    connector = mail_connector(graph, clock, (ANA,), capture=CAPTURE)
    connector.page_size = 4  # type: ignore[misc]  # several batches, so a pass can stop mid-round
    deliver(graph, 0, 10)
    crm.runner.max_batches = 2
    first = crm.runner.run(connector, ANA)
    assert first.complete is True and first.batches == 2
    assert len(task_keys(crm)) == 8  # stopped mid-round: the cursor is a nextLink
    graph.mailbox(ANA).expire_tokens()  # the nextLink dies before the next pass
    deliver(graph, 10, 3)
    crm.runner.max_batches = None
    second = crm.runner.run(connector, ANA)
    assert second.resynced is True
    keys = task_keys(crm)
    assert len(keys) == 13 and set(keys.values()) == {1}
    # And once more at the end of a round: the deltaLink itself expires.
    graph.mailbox(ANA).expire_tokens()
    deliver(graph, 13, 2)
    third = crm.runner.run(connector, ANA)
    assert third.resynced is True
    keys = task_keys(crm)
    assert len(keys) == 15 and set(keys.values()) == {1}
    assert crm.store.cursors.get(connector.name, ANA) is not None


def test_a_thread_between_google_and_microsoft_users_is_one_task_per_message(
    crm: Crm, graph: GraphSandbox, tmp_path: Path
) -> None:
    clock = FakeClock(NOW)
    with GoogleSandbox(clock=clock.now) as google:
        google.add_user(BEN)
        # alice writes to both reps; Ana (Outlook) replies to all; both copies are captured.
        thread = [
            ("<CAF+first@mail.globex.com>", "alice@globex.com", [ANA, BEN], "Q3 pricing"),
            ("<BN8PR-reply@ourco.outlook.com>", ANA, ["alice@globex.com", BEN], "RE: Q3 pricing"),
        ]
        for n, (mid, sender, to, subject) in enumerate(thread):
            when = NOW - timedelta(days=1) + timedelta(hours=n)
            google.gmail.deliver(
                BEN,
                [
                    ("From", sender),
                    ("To", ", ".join(to)),
                    ("Subject", subject),
                    ("Date", when.strftime("%a, %d %b %Y %H:%M:%S +0000")),
                    ("Message-ID", mid),
                ],
                when=when,
            )
            add_message(
                graph,
                ANA,
                message_id=mid,
                sender=sender,
                to=to,
                subject=subject,
                received=when,
                folder="inbox" if sender != ANA else "sentitems",
            )
        gmail = gmail_connector(google, tmp_path / "g", (BEN,), clock.now, sleep=clock.sleep)
        outlook = mail_connector(graph, clock, (ANA,), capture=CAPTURE)
        crm.runner.run(gmail, BEN)
        crm.runner.run(outlook, ANA)
    keys = task_keys(crm)
    assert len(keys) == 2 and set(keys.values()) == {1}
    for key in keys:
        seen = {(s.connector, s.mailbox) for s in crm.store.ledger.sightings(key)}
        assert seen == {("gmail", BEN), ("outlook", ANA)}
