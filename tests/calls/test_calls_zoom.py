"""Zoom Phone: the contract over HTTPS to the emulator, month windows, OAuth and 429s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from contract import NOW, ConnectorContract, fixed_clock, keys, pull_all
from dialer_helpers import FakeTime

from connectors import base
from connectors.base import Connector, ConnectorContext
from connectors.zoom_phone import ZoomPhoneConnector, ZoomPhoneSettings
from sandbox.dialers.zoom import ZoomPhoneSandbox
from syncd.capture.keys import call_key
from syncd.config import CaptureConfig
from syncd.errors import AuthExpired, Permanent
from syncd.model import Call

MAILBOX = "rep@acme.example"
_SECRET_ENV = "SYNCD_TEST_ZOOM_SECRET"


@pytest.fixture(scope="module")
def zp() -> Iterator[ZoomPhoneSandbox]:
    with ZoomPhoneSandbox() as sb:
        yield sb  # type: ignore[misc]


@pytest.fixture(autouse=True)
def _secret(zp: ZoomPhoneSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_SECRET_ENV, zp.client_secret)


def make(
    zp: ZoomPhoneSandbox, fake: FakeTime, clock: Callable[[], datetime] = fixed_clock, **extra: Any
) -> ZoomPhoneConnector:
    zp.clock = fake.now
    fields: dict[str, Any] = {
        "mailbox": MAILBOX,
        "ca_bundle": zp.ca_bundle,
        "account_id": zp.account_id,
    } | extra
    settings = ZoomPhoneSettings(
        type="zoom_phone",
        name="zoom",
        oauth_url=zp.url,
        api_url=zp.url,
        client_id=zp.client_id,
        client_secret_env=_SECRET_ENV,
        **fields,
    )
    capture = CaptureConfig(default_region="US", backfill_days=90)
    return ZoomPhoneConnector(
        settings,
        ConnectorContext(clock=clock, capture=capture),
        sleep=fake.sleep,
        monotonic=fake.monotonic,
    )


class TestZoomPhoneContract(ConnectorContract):
    MAILBOX = MAILBOX

    @pytest.fixture(autouse=True)
    def _sandbox(self, zp: ZoomPhoneSandbox) -> None:
        self.zp = zp

    def make_connector(self, tmp_path: Path, clock: Callable[[], datetime]) -> Connector:
        self.zp.reset()
        self.ext = self.zp.add_user(MAILBOX, "Rep")
        return make(self.zp, FakeTime(NOW), clock, page_size=4)

    def deliver(self, connector: Connector, mailbox: str, n: int) -> None:
        first = len(self.zp.calls)
        for i in range(first, first + n):
            self.zp.add_call(
                self.ext,
                start=NOW - timedelta(days=10, hours=-i),
                direction="outbound",
                other=f"+1512757{i:04d}",
            )

    def deliver_malformed(self, connector: Connector, mailbox: str) -> None:
        call = self.zp.add_call(
            self.ext, start=NOW - timedelta(days=11), direction="outbound", other="+15125550000"
        )
        call["direction"] = "sideways"

    def garbage_cursors(self) -> list[str]:
        return [*super().garbage_cursors(), "zp:1:x:", "zp:2:1:"]


def test_registered_under_its_type() -> None:
    assert base.get("zoom_phone") is ZoomPhoneConnector


def test_a_90_day_backfill_walks_month_windows_and_keeps_each_call_once(
    zp: ZoomPhoneSandbox,
) -> None:
    zp.reset()
    ext = zp.add_user(MAILBOX)
    for day in range(0, 88, 2):  # a call every other day across the whole window
        zp.add_call(
            ext,
            start=NOW - timedelta(days=day, hours=1),
            direction="inbound",
            other="(512) 757-6000",
            result="answered" if day % 4 else "no_answer",
        )
    connector = make(zp, FakeTime(NOW), page_size=5)
    batches, _ = pull_all(connector, MAILBOX, None, limit=100)
    calls = [a for b in batches for a in b.activities if isinstance(a, Call)]
    assert len(calls) == len(set(keys(batches))) == 44
    # The emulator refuses ranges wider than a month; every request stayed inside one.
    assert zp.count("GET /v2/phone/call_history") >= 3
    assert {c.participants[0].phone for c in calls} == {"+15127576000"}
    assert sorted({c.disposition for c in calls}) == ["answered", "no_answer"]


def test_429_retry_after_and_token_renewal(zp: ZoomPhoneSandbox) -> None:
    zp.reset()
    ext = zp.add_user(MAILBOX)
    zp.add_call(ext, start=NOW - timedelta(days=1), direction="outbound", other="+15127576000")
    fake = FakeTime(NOW)
    connector = make(zp, fake)
    zp.fail_next(429, headers={"Retry-After": "2"})
    assert len(connector.pull(MAILBOX, None).activities) == 1
    assert fake.slept == [2.0]
    zp.expire_tokens()
    assert len(connector.pull(MAILBOX, None).activities) == 1
    assert zp.count("POST /oauth/token") == 2


def test_a_wrong_account_pauses_the_connector(zp: ZoomPhoneSandbox) -> None:
    with pytest.raises(AuthExpired):
        make(zp, FakeTime(NOW), account_id="someone-else").pull(MAILBOX, None)


def test_call_history_items_are_keyed_by_their_call_history_uuid(zp: ZoomPhoneSandbox) -> None:
    zp.reset()
    ext = zp.add_user(MAILBOX)
    record = zp.add_call(
        ext, start=NOW - timedelta(days=1), direction="inbound", other="+15127576000"
    )
    batch = make(zp, FakeTime(NOW)).pull(MAILBOX, None)
    assert [a.key for a in batch.activities] == [
        call_key("zoom_phone", record["call_history_uuid"])
    ]


def test_a_tenant_still_answering_call_logs_is_read_by_call_id(zp: ZoomPhoneSandbox) -> None:
    zp.reset()
    zp.legacy_call_logs = True
    try:
        ext = zp.add_user(MAILBOX)
        record = zp.add_call(
            ext, start=NOW - timedelta(days=1), direction="inbound", other="+15127576000"
        )
        batch = make(zp, FakeTime(NOW)).pull(MAILBOX, None)
    finally:
        zp.legacy_call_logs = False
    assert [a.key for a in batch.activities] == [call_key("zoom_phone", record["call_id"])]


def test_a_page_without_its_array_stops_the_pass_instead_of_reading_nothing(
    zp: ZoomPhoneSandbox,
) -> None:
    zp.reset()
    ext = zp.add_user(MAILBOX)
    zp.add_call(ext, start=NOW - timedelta(days=1), direction="inbound", other="+15127576000")
    zp.fail_next(200, body={"calls": [], "next_page_token": "", "page_size": 300})
    with pytest.raises(Permanent, match="call_history"):
        make(zp, FakeTime(NOW)).pull(MAILBOX, None)


def test_a_recorded_call_says_where_its_recording_lives_not_a_download_url(
    zp: ZoomPhoneSandbox,
) -> None:
    zp.reset()
    ext = zp.add_user(MAILBOX)
    record = zp.add_call(
        ext, start=NOW - timedelta(days=1), direction="inbound", other="+15127576000", recorded=True
    )
    (call,) = make(zp, FakeTime(NOW), recording_links=True).pull(MAILBOX, None).activities
    assert isinstance(call, Call) and call.recording_url is not None
    assert (
        call.recording_url.startswith("in Zoom Phone (") and record["call_id"] in call.recording_url
    )
