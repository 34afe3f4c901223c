"""Graph throttling as Graph applies it: $batch members count, backoff without Retry-After, 403.

- A ``$batch`` runs up to 4 members at once against the mailbox and each counts against its 4
  concurrent requests: the emulator refuses the members that do not fit, and the client's gate
  counts members (a batch waits for its slots, also behind the other units of the mailbox).
- 429/503 without Retry-After: exponential backoff with full jitter, not a fixed second.
- A mailbox an ApplicationAccessPolicy leaves out: MailboxDenied on its unit, the others go on.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import requests
from graph_crm import Crm
from graph_helpers import (
    NOW,
    FakeClock,
    app_token,
    calendar_connector,
    graph_settings,
    mail_connector,
)

from connectors._graph import _gate
from connectors.base import ConnectorContext
from connectors.outlook_mail import OutlookMailConnector, OutlookMailSettings
from sandbox.graph import GraphSandbox
from sandbox.graph.seed import add_message
from syncd.errors import AuthExpired, MailboxDenied
from syncd.retry import RetryPolicy

ANA = "ana@ourco.com"
CAL = "cal@ourco.com"


@pytest.fixture
def graph(clock: FakeClock) -> Iterator[GraphSandbox]:
    with GraphSandbox(clock=clock.now) as sandbox:
        sandbox.add_user(ANA)
        sandbox.add_user(CAL)
        yield sandbox


def fill(graph: GraphSandbox, mailbox: str, n: int) -> list[str]:
    return [
        add_message(
            graph,
            mailbox,
            message_id=f"m{i}@customer.example",
            sender="buyer@customer.example",
            to=[mailbox],
            subject=f"Order {i}",
            received=NOW - timedelta(days=1) + timedelta(minutes=i),
        )
        for i in range(n)
    ]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait for an observed event (not for time to pass); fail loudly if it never happens."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.005)


def test_the_emulator_runs_batch_members_four_at_once_and_counts_each(
    graph: GraphSandbox,
) -> None:
    ids = fill(graph, ANA, 20)
    token = app_token(graph)
    # Another request of the app to this mailbox is in flight: 3 slots are left.
    assert graph.throttle.enter(graph.client_id, ANA).ok
    payload = {
        "requests": [
            {"id": str(i), "method": "GET", "url": f"/users/{ANA}/messages/{m}"}
            for i, m in enumerate(ids)
        ]
    }
    answer = requests.post(
        f"{graph.graph_url}/$batch",
        json=payload,
        headers={"Authorization": f"Bearer {token}"},
        verify=graph.ca_bundle,
        timeout=10,
    ).json()
    statuses = [r["status"] for r in sorted(answer["responses"], key=lambda r: int(r["id"]))]
    # Waves of 4 members; the 4th of each wave found the mailbox full.
    assert statuses == [200, 200, 200, 429] * 5
    assert graph.throttle.concurrency_breaches == 1
    assert graph.throttle.peak[(graph.client_id, ANA)] == 5
    graph.throttle.leave(graph.client_id, ANA)
    assert graph.throttle.in_flight[(graph.client_id, ANA)] == 0


def test_a_batch_waits_for_its_slots_behind_the_other_unit_of_the_mailbox(
    graph: GraphSandbox, clock: FakeClock
) -> None:
    ids = fill(graph, CAL, 20)
    mail = mail_connector(graph, clock, (CAL,))
    calendar = calendar_connector(graph, clock, (CAL,))
    gate = _gate(graph.client_id, CAL)
    assert mail.client._gate(CAL) is calendar.client._gate(CAL) is gate  # one gate per mailbox
    graph.reset_counters()
    done = threading.Event()
    found: dict[str, object] = {}

    def batch() -> None:
        found.update(calendar.client.batch_get(CAL, [f"/users/{CAL}/messages/{m}" for m in ids]))
        done.set()

    # The mail unit has one request in flight, on both sides of the wire.
    with gate.slots(1):
        assert graph.throttle.enter(graph.client_id, CAL).ok
        worker = threading.Thread(target=batch, daemon=True)
        worker.start()
        wait_until(
            lambda: gate.waiting > 0 or graph.requests["batch"] > 0,
            "the batch either waits at the gate or is sent",
        )
        graph.throttle.leave(graph.client_id, CAL)
    assert done.wait(10)
    assert len(found) == 20 and all(found.values())
    assert graph.throttle.concurrency_breaches == 0
    assert graph.throttle.throttled == 0
    assert graph.requests["batch"] == 1


def test_a_process_given_a_share_of_the_mailbox_sends_batches_no_larger_than_it(
    graph: GraphSandbox, clock: FakeClock
) -> None:
    ids = fill(graph, CAL, 20)
    share = mail_connector(graph, clock, (CAL,), max_concurrent_per_mailbox=2)
    graph.reset_counters()
    found = share.client.batch_get(CAL, [f"/users/{CAL}/messages/{m}" for m in ids])
    assert len(found) == 20 and all(found.values())
    assert graph.requests["batch"] == 10  # batches of 2: Graph would run 4 members at once
    assert graph.throttle.peak[(graph.client_id, CAL)] == 2


def test_without_retry_after_429_and_503_back_off_exponentially_with_jitter(
    graph: GraphSandbox, clock: FakeClock
) -> None:
    fill(graph, ANA, 3)
    settings = OutlookMailSettings(
        type="outlook_mail", name="outlook", mailboxes=(ANA,), **graph_settings(graph)
    )
    seed = 1234
    connector = OutlookMailConnector(
        settings,
        ConnectorContext(clock=clock.now),
        sleep=clock.sleep,
        policy=RetryPolicy(rng=random.Random(seed)),
    )
    graph.throttle.inject(3, retry_after=None)
    graph.throttle.inject(2, retry_after=None, status=503)
    batch = connector.pull(ANA, None)
    assert len(batch.activities) == 3
    expected = RetryPolicy(rng=random.Random(seed))
    assert clock.slept == [expected.backoff(n) for n in range(1, 6)]
    assert len(set(clock.slept)) == 5 and 1.0 not in clock.slept  # jittered, not a fixed 1 s
    assert graph.throttle.throttled == 5 and graph.throttle.early_requests == 0


def test_a_mailbox_the_access_policy_leaves_out_fails_only_its_own_unit(
    crm: Crm, graph: GraphSandbox, clock: FakeClock
) -> None:
    fill(graph, ANA, 2)
    fill(graph, CAL, 2)
    graph.deny_access(CAL)
    connector = mail_connector(graph, clock, (ANA, CAL))
    with pytest.raises(MailboxDenied) as refused:
        crm.runner.run(connector, CAL)
    assert not isinstance(refused.value, AuthExpired) and refused.value.mailbox == CAL
    result = crm.runner.run(connector, ANA)  # the tenant's credentials still work
    assert result.complete
    assert crm.store.cursors.state("outlook", CAL).last_error == "MailboxDenied"  # type: ignore[union-attr]
    assert crm.store.cursors.state("outlook", ANA).last_error is None  # type: ignore[union-attr]
