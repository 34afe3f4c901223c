"""Gmail's quotas all at once: per user, per project, concurrent; paced, never refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google_helpers import FakeClock, deliver_mail, key_file

from connectors._google_quota import TokenBucket
from connectors.base import ConnectorContext
from connectors.gmail import GmailConnector, GmailSettings
from sandbox.google import GoogleSandbox
from sandbox.google.quota import Quota
from syncd.config import SecretRef
from syncd.errors import RateLimited
from syncd.model import Email

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
REPS = [f"rep{i}@ourco.com" for i in range(4)]
USER_LIMIT, PROJECT_LIMIT = 1_000, 2_000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def sandbox(clock: FakeClock) -> GoogleSandbox:
    with GoogleSandbox(clock=clock) as sb:
        sb.quota.limits |= {"gmail": USER_LIMIT, "gmail_project": PROJECT_LIMIT}
        for rep in REPS:
            sb.add_user(rep)
        yield sb


def _connector(
    sb: GoogleSandbox, key: Path, name: str, reps: list[str], clock: FakeClock
) -> GmailConnector:
    settings = GmailSettings(
        type="gmail", name=name, mailboxes=tuple(reps), service_account_key=SecretRef(file=key),
        api_endpoint=f"{sb.url}/", ca_bundle=sb.ca_bundle,
        quota_user_per_minute=USER_LIMIT, quota_project_per_minute=PROJECT_LIMIT,
    )  # fmt: skip
    context = ConnectorContext(clock=clock)
    return GmailConnector(settings, context, sleep=clock.sleep)


def test_mailboxes_of_two_connectors_share_the_project_minute_without_a_refusal(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    # 4 mailboxes x 150 messages ≈ 3,100 units: past the project's 2,000 a minute, and each
    # mailbox's 766 units close to its own 1,000. Two connectors, one project: one budget.
    for rep in REPS:
        deliver_mail(sandbox, rep, 0, 150, NOW - timedelta(hours=1))
    key = key_file(sandbox, tmp_path)
    connectors = [_connector(sandbox, key, "a", REPS[:2], clock),
                  _connector(sandbox, key, "b", REPS[2:], clock)]  # fmt: skip
    cursors: dict[str, str | None] = dict.fromkeys(REPS)
    found: dict[str, set[str]] = {rep: set() for rep in REPS}
    pending = set(REPS)
    while pending:  # round-robin, a page of 50 at a time, as interleaved units would run
        for rep in sorted(pending):
            connector = connectors[0] if rep in REPS[:2] else connectors[1]
            batch = connector.pull(rep, cursors[rep], limit=50)
            found[rep] |= {a.key for a in batch.activities if isinstance(a, Email)}
            cursors[rep] = batch.next_cursor
            if not batch.more:
                pending.discard(rep)
    assert all(len(keys) == 150 for keys in found.values())
    assert sandbox.quota.refused == {}, sandbox.quota.refused  # 0 failed requests
    assert sum(c.pacer.waited for c in connectors) > 60  # paced: ~3,100 units at 2,000/min
    assert sandbox.quota.peak_project <= PROJECT_LIMIT
    assert sandbox.quota.peak_user <= USER_LIMIT


def test_quota_answers_are_retried_then_give_the_mailbox_back(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    deliver_mail(sandbox, REPS[0], 0, 10, NOW - timedelta(hours=1))
    connector = _connector(sandbox, key_file(sandbox, tmp_path), "a", REPS[:1], clock)
    connector.pull(REPS[0], None, limit=1)
    sandbox.inject_rate_limit(REPS[0], 200, status=403, wait=1)
    with pytest.raises(RateLimited):  # transient: the runner gives the mailbox back
        connector.pull(REPS[0], None)


def test_the_emulator_refuses_by_user_by_project_and_by_concurrency(clock: FakeClock) -> None:
    quota = Quota(clock)
    quota.limits |= {"gmail": 10, "gmail_project": 15}
    method = "gmail.users.messages.get"  # 5 units
    assert quota.charge("gmail", method, "a") is None
    assert quota.charge("gmail", method, "a") is None
    user = quota.charge("gmail", method, "a")
    assert user is not None and (user.status, user.reason) == (403, "userRateLimitExceeded")
    assert quota.charge("gmail", method, "b") is None
    project = quota.charge("gmail", method, "b")
    assert project is not None and (project.status, project.reason) == (403, "rateLimitExceeded")
    clock.sleep(60)  # a new minute
    assert quota.charge("gmail", method, "b") is None
    quota.concurrent_per_user = 2
    assert quota.enter("gmail", "a") is None and quota.enter("gmail", "a") is None
    busy = quota.enter("gmail", "a")
    assert busy is not None and (busy.status, busy.reason) == (429, "rateLimitExceeded")
    assert busy.message == "Too many concurrent requests for user"
    quota.leave("gmail", "a")
    assert quota.enter("gmail", "a") is None
    assert quota.refused == {"userRateLimitExceeded": 1, "rateLimitExceeded": 1, "concurrent": 1}


def test_a_bucket_starts_afresh_when_its_clock_goes_back() -> None:
    # A reservation reached far below zero, then a clock an hour earlier (another connector's,
    # or a stepped system clock): waits must not grow until that clock catches up.
    bucket = TokenBucket(6_000, NOW + timedelta(hours=1))
    assert bucket.reserve(5_000, NOW + timedelta(hours=1)) > 0
    assert bucket.reserve(5, NOW) == 0
