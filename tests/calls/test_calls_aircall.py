"""Aircall: the contract over HTTPS to the emulator, the rate headers, and the webhook token."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from contract import NOW, ConnectorContract, fixed_clock, keys, pull_all
from dialer_helpers import FakeTime
from werkzeug.serving import make_server

from connectors import base
from connectors.aircall import AircallConnector, AircallSettings
from connectors.base import Connector, ConnectorContext
from sandbox.dialers.aircall import AircallSandbox
from syncd.config import CaptureConfig
from syncd.errors import AuthExpired
from syncd.model import Call

MAILBOX = "rep@acme.example"
_TOKEN_ENV, _HOOK_ENV = "SYNCD_TEST_AC_TOKEN", "SYNCD_TEST_AC_HOOK"


@pytest.fixture(scope="module")
def ac() -> Iterator[AircallSandbox]:
    with AircallSandbox() as sb:
        yield sb  # type: ignore[misc]


@pytest.fixture(autouse=True)
def _secrets(ac: AircallSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_TOKEN_ENV, ac.api_token)
    monkeypatch.setenv(_HOOK_ENV, ac.webhook_token)


def make(
    ac: AircallSandbox, fake: FakeTime, clock: Callable[[], datetime] = fixed_clock, **extra: Any
) -> AircallConnector:
    ac.clock = fake.now
    fields: dict[str, Any] = {"mailbox": MAILBOX, "ca_bundle": ac.ca_bundle} | extra
    settings = AircallSettings(
        type="aircall", name="ac", api_url=ac.url, api_id=ac.api_id,
        api_token_env=_TOKEN_ENV, webhook_token_env=_HOOK_ENV, **fields,
    )  # fmt: skip
    capture = CaptureConfig(default_region="US", backfill_days=90)
    return AircallConnector(settings, ConnectorContext(clock=clock, capture=capture),
                            sleep=fake.sleep)  # fmt: skip


def add_calls(ac: AircallSandbox, user: int, first: int, n: int) -> None:
    for i in range(first, first + n):
        ac.add_call(user, start=NOW - timedelta(days=20) + timedelta(seconds=30 * i),
                    direction="outbound", other=f"+1 512-757-{i % 10000:04d}")  # fmt: skip


class TestAircallContract(ConnectorContract):
    MAILBOX = MAILBOX

    @pytest.fixture(autouse=True)
    def _sandbox(self, ac: AircallSandbox) -> None:
        self.ac = ac

    def make_connector(self, tmp_path: Path, clock: Callable[[], datetime]) -> Connector:
        self.ac.reset()
        self.user = self.ac.add_user(MAILBOX, "Rep")
        return make(self.ac, FakeTime(NOW), clock, per_page=3)

    def deliver(self, connector: Connector, mailbox: str, n: int) -> None:
        add_calls(self.ac, self.user, len(self.ac.calls), n)

    def deliver_malformed(self, connector: Connector, mailbox: str) -> None:
        call = self.ac.add_call(self.user, start=NOW - timedelta(days=19), direction="outbound",
                                other="+15125550000")  # fmt: skip
        call["direction"] = "sideways"

    def garbage_cursors(self) -> list[str]:
        return [*super().garbage_cursors(), "ac:1:-5:", "ac:9:1:"]


def test_registered_under_its_type() -> None:
    assert base.get("aircall") is AircallConnector


def test_two_seconds_share_a_start_and_paging_splits_them(ac: AircallSandbox) -> None:
    ac.reset()
    user = ac.add_user(MAILBOX)
    for i in range(7):  # seven calls in the same second: the cursor keeps the ids taken
        ac.add_call(user, start=NOW - timedelta(days=1), direction="inbound",
                    other=f"+1 512 757 60{i:02d}")  # fmt: skip
    batches, _ = pull_all(make(ac, FakeTime(NOW), per_page=2), MAILBOX, None, limit=3)
    assert len(keys(batches)) == len(set(keys(batches))) == 7


def test_the_empty_bucket_and_a_429_wait_for_the_reset(ac: AircallSandbox) -> None:
    ac.reset()
    user = ac.add_user(MAILBOX)
    add_calls(ac, user, 0, 150)
    fake = FakeTime(NOW)
    connector = make(ac, fake, clock=fake.now, per_page=2)
    batches, _ = pull_all(connector, MAILBOX, None, limit=500)
    assert len(keys(batches)) == 150
    assert ac.count("GET /v1/calls") == 75
    assert ac.breaches == []  # Remaining: 0 was honoured, so no 429 was needed
    assert fake.slept and sum(fake.slept) >= 60
    # A 429 (another app used the bucket) is retried at X-AircallApi-Reset.
    reset = int(fake.now().timestamp()) + 12
    ac.fail_next(429, headers={"X-AircallApi-Reset": str(reset)})
    fake.slept.clear()
    again = make(ac, fake, clock=fake.now).pull(MAILBOX, None, limit=5)
    assert len(again.activities) == 5
    assert fake.slept == [12.0]


def test_wrong_api_token_is_auth_expired_without_the_token(
    ac: AircallSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_TOKEN_ENV, "wrong-token-value-xyz")
    with pytest.raises(AuthExpired) as caught:
        make(ac, FakeTime(NOW)).pull(MAILBOX, None)
    assert "wrong-token-value-xyz" not in str(caught.value)


@pytest.fixture
def receiver(ac: AircallSandbox) -> Iterator[tuple[AircallConnector, str]]:
    ac.reset()
    connector = make(ac, FakeTime(NOW))
    server = make_server("127.0.0.1", 0, connector.webhook_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield connector, f"http://127.0.0.1:{server.server_port}/hooks/aircall"
    finally:
        server.shutdown()


def test_a_webhook_with_a_bad_token_is_401_and_nothing_is_kept(
    ac: AircallSandbox, receiver: tuple[AircallConnector, str]
) -> None:
    connector, url = receiver
    user = ac.add_user(MAILBOX)
    # Ended a minute ago: inside the settle time, so only a webhook could bring it now.
    call = ac.add_call(user, start=NOW - timedelta(minutes=1), direction="inbound",
                       other="+1 512-757-6000")  # fmt: skip
    assert ac.send_webhook(url, call, valid=False) == 401
    assert connector.pull(MAILBOX, None).activities == ()
    assert ac.send_webhook(url, call) == 200
    (got,) = connector.pull(MAILBOX, None).activities
    assert isinstance(got, Call) and got.call_id == str(call["id"])
    assert got.participants[0].phone == "+15127576000"
    assert ac.send_webhook(url, call, event="call.created") == 200  # accepted, not a call yet
    assert connector.pull(MAILBOX, None).activities == ()


def test_missed_calls_and_recording_links_follow_the_settings(ac: AircallSandbox) -> None:
    ac.reset()
    user = ac.add_user(MAILBOX)
    start = NOW - timedelta(days=1)
    ac.add_call(user, start=start, direction="inbound", other="+15127576000",
                missed="agents_did_not_answer", duration=0)  # fmt: skip
    ac.add_call(user, start=start + timedelta(minutes=1), direction="outbound",
                other="+15127576000", recording="https://rec.example/1.mp3")  # fmt: skip
    logged = make(ac, FakeTime(NOW)).pull(MAILBOX, None)
    calls = [a for a in logged.activities if isinstance(a, Call)]
    assert [c.disposition for c in calls] == ["missed", "answered"]
    assert all(c.recording_url is None for c in calls)  # off by default
    linked = make(ac, FakeTime(NOW), missed_calls="skip", recording_links=True)
    batch = linked.pull(MAILBOX, None)
    # The dashboard page of the call, not the file URL that expires in 10 minutes.
    assert [c.recording_url for c in batch.activities if isinstance(c, Call)] == [
        ac.calls[1]["asset"]
    ]
    assert ac.calls[1]["asset"] != "https://rec.example/1.mp3"
    assert len(batch.skips) == 1


def test_a_call_in_progress_is_taken_when_it_ends_and_nothing_passes_it(
    ac: AircallSandbox,
) -> None:
    ac.reset()
    user = ac.add_user(MAILBOX)
    start = NOW - timedelta(hours=2)
    ac.add_call(user, start=start, direction="outbound", other="+15127576000", duration=60)
    ongoing = ac.add_call(user, start=start + timedelta(minutes=5), direction="inbound",
                          other="+15127576001", status="answered")  # fmt: skip
    ac.add_call(user, start=start + timedelta(minutes=9), direction="outbound",
                other="+15127576002", duration=30)  # fmt: skip
    connector = make(ac, FakeTime(NOW))
    first = connector.pull(MAILBOX, None)
    assert [c.call_id for c in first.activities] == [str(ac.calls[0]["id"])]  # type: ignore[attr-defined]
    assert not first.more
    again = connector.pull(MAILBOX, first.next_cursor)
    assert again.activities == ()  # still in progress: not written with no duration
    ac.end_call(ongoing["id"], duration=2_400)
    done = connector.pull(MAILBOX, again.next_cursor)
    taken = {c.call_id: c for c in done.activities if isinstance(c, Call)}
    assert list(taken) == [str(ongoing["id"]), str(ac.calls[2]["id"])]
    assert taken[str(ongoing["id"])].duration_seconds == 2_400


def test_the_service_port_routes_webhooks_to_the_connector(
    ac: AircallSandbox, tmp_path: Any
) -> None:
    from syncd.service.metrics import Metrics
    from syncd.service.scheduler import webhook_receivers
    from syncd.service.web import Readiness, WebApp
    from syncd.state import Store

    ac.reset()
    connector = make(ac, FakeTime(NOW))
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    app = WebApp(store, Metrics(store), Readiness(), webhooks=webhook_receivers({"ac": connector}))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        user = ac.add_user(MAILBOX)
        call = ac.add_call(user, start=NOW - timedelta(minutes=1), direction="inbound",
                           other="+1 512-757-6000")  # fmt: skip
        assert ac.send_webhook(f"{base}/webhooks/ac", call, valid=False) == 401
        assert ac.send_webhook(f"{base}/webhooks/nobody", call) == 404
        assert connector.pull(MAILBOX, None).activities == ()
        assert ac.send_webhook(f"{base}/webhooks/ac", call) == 200
        (got,) = connector.pull(MAILBOX, None).activities
        assert got.call_id == str(call["id"])
    finally:
        server.shutdown()
        store.close()
