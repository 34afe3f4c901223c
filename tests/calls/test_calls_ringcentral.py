"""RingCentral: the contract over real HTTPS to the emulator, JWT auth, and the Heavy limit kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from contract import NOW, ConnectorContract, fixed_clock, keys, pull_all
from dialer_helpers import FakeTime

from connectors import base
from connectors._phone import MinuteLimiter
from connectors.base import Connector, ConnectorContext
from connectors.ringcentral import RingCentralConnector, RingCentralSettings
from sandbox.dialers.base import Window
from sandbox.dialers.ringcentral import RingCentralSandbox
from syncd.config import CaptureConfig
from syncd.errors import AuthExpired
from syncd.model import Call, SkipReason

MAILBOX = "rep@acme.example"
_ENV_SECRET, _ENV_JWT = "SYNCD_TEST_RC_SECRET", "SYNCD_TEST_RC_JWT"


@pytest.fixture(scope="module")
def rc() -> Iterator[RingCentralSandbox]:
    with RingCentralSandbox() as sb:
        yield sb  # type: ignore[misc]


@pytest.fixture(autouse=True)
def _secrets(rc: RingCentralSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_ENV_SECRET, rc.client_secret)
    monkeypatch.setenv(_ENV_JWT, rc.jwt)


def make(
    rc: RingCentralSandbox,
    fake: FakeTime,
    clock: Callable[[], datetime] = fixed_clock,
    **extra: Any,
) -> RingCentralConnector:
    rc.clock = fake.now
    settings = RingCentralSettings(
        type="ringcentral", name="rc", server_url=rc.url, client_id=rc.client_id,
        client_secret_env=_ENV_SECRET, jwt_env=_ENV_JWT,
        ca_bundle=rc.ca_bundle, **({"mailbox": MAILBOX} | extra),
    )  # fmt: skip
    capture = CaptureConfig(default_region="US", backfill_days=90)
    return RingCentralConnector(
        settings, ConnectorContext(clock=clock, capture=capture),
        sleep=fake.sleep, monotonic=fake.monotonic,
    )  # fmt: skip


def add_calls(rc: RingCentralSandbox, ext: str, first: int, n: int) -> None:
    for i in range(first, first + n):
        rc.add_call(
            ext, start=NOW - timedelta(days=30) + timedelta(minutes=i), direction="Outbound",
            other=f"+1512757{i % 10000:04d}", duration=30 + i % 50,
        )  # fmt: skip


class TestRingCentralContract(ConnectorContract):
    MAILBOX = MAILBOX

    @pytest.fixture(autouse=True)
    def _sandbox(self, rc: RingCentralSandbox) -> None:
        self.rc = rc
        rc.reset()

    def make_connector(self, tmp_path: Path, clock: Callable[[], datetime]) -> Connector:
        self.rc.reset()
        self.ext = self.rc.add_user(MAILBOX, "Rep")
        self.rc.add_user("other@acme.example", "Other")
        return make(self.rc, FakeTime(NOW), clock)

    def deliver(self, connector: Connector, mailbox: str, n: int) -> None:
        count = len(self.rc.calls)
        add_calls(self.rc, self.ext, count, n)

    def deliver_malformed(self, connector: Connector, mailbox: str) -> None:
        record = self.rc.add_call(
            self.ext, start=NOW - timedelta(days=29), direction="Outbound", other="+15125550000"
        )
        record["direction"] = "Sideways"

    def garbage_cursors(self) -> list[str]:
        return [*super().garbage_cursors(), "rc:1:x:", "rc:2:5:"]


def test_registered_under_its_type() -> None:
    assert base.get("ringcentral") is RingCentralConnector


def test_a_2000_call_backfill_stays_under_the_heavy_limit(rc: RingCentralSandbox) -> None:
    rc.reset()
    ext = rc.add_user(MAILBOX, "Rep")
    add_calls(rc, ext, 0, 2000)
    fake = FakeTime(NOW)
    # 100 a page: 20 Heavy requests for the listing, twice the limit of one minute.
    connector = make(rc, fake, clock=fake.now, per_page=100)
    batches, _ = pull_all(connector, MAILBOX, None, limit=250)
    calls = [a for b in batches for a in b.activities]
    assert len(calls) == len({c.key for c in calls}) == 2000
    assert [c.occurred_at for c in calls] == sorted(c.occurred_at for c in calls)
    assert rc.count("GET /restapi/v1.0/account/~/call-log") == 20
    assert rc.breaches == []
    # It kept under the limit by waiting, not by luck: at least one full window was waited.
    assert connector.limiter.waited >= 60
    assert all(isinstance(c, Call) and c.mailbox == MAILBOX for c in calls)


def test_x_rate_limit_remaining_zero_is_honoured_even_with_a_lax_client_limit(
    rc: RingCentralSandbox,
) -> None:
    rc.reset()
    ext = rc.add_user(MAILBOX, "Rep")
    add_calls(rc, ext, 0, 300)
    fake = FakeTime(NOW)
    connector = make(rc, fake, clock=fake.now, per_page=20, heavy_limit=1000)
    batches, _ = pull_all(connector, MAILBOX, None)
    assert len(keys(batches)) == 300
    assert rc.count("GET /restapi/v1.0/account/~/call-log") == 15
    assert rc.breaches == []
    assert connector.limiter.waited >= 60  # the server's "0 remaining" made it wait


def test_the_emulator_answers_the_eleventh_request_with_429_and_records_it(
    rc: RingCentralSandbox,
) -> None:
    # The contrast: a client that ignores the limit is refused and the breach is seen.
    rc.reset()
    rc.clock = FakeTime(NOW).now
    session = requests.Session()
    session.trust_env = False
    token = session.post(
        f"{rc.url}/restapi/oauth/token", auth=(rc.client_id, rc.client_secret),
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": rc.jwt},
        verify=rc.ca_bundle,
    ).json()["access_token"]  # fmt: skip
    answers = [
        session.get(f"{rc.url}/restapi/v1.0/account/~/call-log", verify=rc.ca_bundle,
                    headers={"Authorization": f"Bearer {token}"})
        for _ in range(11)
    ]  # fmt: skip
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert answers[9].headers["X-Rate-Limit-Remaining"] == "0"
    assert int(answers[10].headers["Retry-After"]) == 60
    assert len(rc.breaches) == 1 and rc.breaches[0].group == "heavy"
    bad = session.get(f"{rc.url}/restapi/v1.0/account/~/call-log?since=x", verify=rc.ca_bundle,
                      headers={"Authorization": "Bearer nope"})  # fmt: skip
    assert bad.status_code == 401


def test_a_429_is_waited_out_as_retry_after_says(rc: RingCentralSandbox) -> None:
    rc.reset()
    ext = rc.add_user(MAILBOX, "Rep")
    add_calls(rc, ext, 0, 3)
    fake = FakeTime(NOW)
    connector = make(rc, fake)
    rc.fail_next(429, headers={"Retry-After": "37"}, body={"errorCode": "CMN-301"})
    batch = connector.pull(MAILBOX, None)
    assert len(batch.activities) == 3
    assert fake.slept == [37.0]


def test_an_expired_token_is_renewed_once_and_a_bad_jwt_pauses(
    rc: RingCentralSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    rc.reset()
    ext = rc.add_user(MAILBOX, "Rep")
    add_calls(rc, ext, 0, 2)
    connector = make(rc, FakeTime(NOW))
    first = connector.pull(MAILBOX, None, limit=1)
    rc.expire_tokens()
    again = connector.pull(MAILBOX, None)  # a fresh listing, with a new token
    assert len(again.activities) == 2 and len(first.activities) == 1
    assert rc.count("POST /restapi/oauth/token") == 2
    monkeypatch.setenv(_ENV_JWT, "eyJ-not-the-credential")
    with pytest.raises(AuthExpired) as caught:
        make(rc, FakeTime(NOW)).pull(MAILBOX, None)
    assert "eyJ-not-the-credential" not in str(caught.value)


def test_missed_calls_rule_and_rep_filtering(rc: RingCentralSandbox) -> None:
    rc.reset()
    mine = rc.add_user(MAILBOX, "Rep")
    theirs = rc.add_user("other@acme.example", "Other")
    start = NOW - timedelta(days=2)
    rc.add_call(mine, start=start, direction="Inbound", other="+15127576000", result="Missed")
    rc.add_call(mine, start=start + timedelta(minutes=1), direction="Inbound",
                other="+15127576000")  # fmt: skip
    rc.add_call(theirs, start=start, direction="Outbound", other="+15127576001")
    company = make(rc, FakeTime(NOW)).pull(MAILBOX, None)
    assert len(company.activities) == 3  # pulled as the company unit: every rep's calls
    assert {a.mailbox for a in company.activities} == {MAILBOX, "other@acme.example"}
    skipping = make(rc, FakeTime(NOW), missed_calls="skip", mailbox="phones")
    only_mine = skipping.pull(MAILBOX, None)  # pulled for one rep's mailbox
    assert [a.mailbox for a in only_mine.activities] == [MAILBOX]
    assert [s.reason for s in only_mine.skips] == [SkipReason.MISSED_CALL]


def test_the_limiter_waits_only_when_a_window_is_full() -> None:
    fake = FakeTime(NOW)
    limiter = MinuteLimiter(3, clock=fake.monotonic, sleep=fake.sleep)
    for _ in range(3):
        limiter.acquire()
    assert fake.slept == []
    limiter.acquire()
    assert fake.slept == [60.0]
    fake.sleep(60)
    limiter.acquire()
    limiter.acquire()
    assert fake.slept == [60.0, 60]


def test_the_directory_is_paged_past_1000_extensions_and_reread_for_a_new_rep(
    rc: RingCentralSandbox,
) -> None:
    rc.reset()
    for n in range(1_204):
        rc.add_user(f"agent{n}@acme.example")
    late = rc.add_user("late@acme.example")  # the 1,205th: on the second page
    rc.add_call(late, start=NOW - timedelta(days=1), direction="Inbound", other="+15127576000")
    connector = make(rc, FakeTime(NOW))
    first = connector.pull(MAILBOX, None)
    assert [a.mailbox for a in first.activities] == ["late@acme.example"]
    assert rc.count("GET /restapi/v1.0/account/~/extension") == 2
    newcomer = rc.add_user("newcomer@acme.example")  # hired after the directory was read
    rc.add_call(newcomer, start=NOW - timedelta(hours=1), direction="Outbound",
                other="+15127576001")  # fmt: skip
    second = connector.pull(MAILBOX, first.next_cursor)
    assert [a.mailbox for a in second.activities] == ["newcomer@acme.example"]


def test_the_medium_and_auth_groups_are_kept_under_their_limits(rc: RingCentralSandbox) -> None:
    rc.reset()
    gone = rc.add_user("left@acme.example")
    rc.add_call(gone, start=NOW - timedelta(days=1), direction="Inbound", other="+15127576000")
    del rc.extensions[gone]  # a call of an extension since removed: each pull reads again
    fake = FakeTime(NOW)
    # The Heavy group out of the way, so nothing but these two groups paces the pulls.
    rc.heavy = Window("heavy", 10_000, 60.0)
    connector = make(rc, fake, heavy_limit=10_000)
    try:
        for _ in range(45):  # 45 directory reads: more than Medium's 40 a minute
            connector.pull(MAILBOX, None)
        for _ in range(7):  # 7 new tokens: more than Auth's 5 a minute
            rc.expire_tokens()
            connector.pull(MAILBOX, None)
    finally:
        rc.heavy = Window("heavy", 10, 60.0)
    assert [b for b in rc.breaches if b.group in ("medium", "auth")] == []
    assert rc.count("POST /restapi/oauth/token") == 8
    assert connector.medium.waited > 0 and connector.auth.waited > 0


def test_a_recording_says_where_it_lives_not_a_content_uri_that_needs_a_token(
    rc: RingCentralSandbox,
) -> None:
    rc.reset()
    ext = rc.add_user(MAILBOX)
    record = rc.add_call(ext, start=NOW - timedelta(days=1), direction="Inbound",
                         other="+15127576000", recorded=True)  # fmt: skip
    (call,) = make(rc, FakeTime(NOW), recording_links=True).pull(MAILBOX, None).activities
    assert isinstance(call, Call) and call.recording_url is not None
    assert call.recording_url.startswith("in RingCentral (Call Log")
    assert record["recording"]["id"] in call.recording_url
    assert "contentUri" not in call.recording_url and "https://" not in call.recording_url
