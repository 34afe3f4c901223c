"""Gmail at scale and under pressure: request and quota budgets, rate limits, auth, errors."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google_helpers import FakeClock, deliver_mail, gmail_connector, headers

from connectors.base import ConnectorContext
from connectors.gmail import GmailConnector, GmailSettings
from sandbox.google import GoogleSandbox
from syncd.capture.keys import meeting_key
from syncd.config import CaptureConfig
from syncd.errors import AuthExpired, ConfigError, CursorExpired
from syncd.model import Direction, Email, Meeting

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
REP = "rep@ourco.com"


def pull_all(connector: GmailConnector, cursor: str | None) -> tuple[list[Email], str, int]:
    found: list[Email] = []
    skipped = 0
    for _ in range(1000):
        batch = connector.pull(REP, cursor)
        found += [a for a in batch.activities if isinstance(a, Email)]
        skipped += len(batch.skips)
        assert batch.next_cursor is not None
        cursor = batch.next_cursor
        if not batch.more:
            return found, cursor, skipped
    raise AssertionError("never finished")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def sandbox(clock: FakeClock) -> GoogleSandbox:
    with GoogleSandbox(clock=clock) as sb:
        sb.add_user(REP)
        yield sb


#: The must-show is 10,000 messages in <=250 requests (benchmarks/google_sync.py runs it and
#: records it in docs/benchmarks.md); the suite runs the same budget scaled to 1,000 messages
#: (<= 1 request per 40 messages) to stay fast, or 10,000 with SYNCD_GOOGLE_FULL_SCALE=1.
SCALE = 10_000 if os.environ.get("SYNCD_GOOGLE_FULL_SCALE") else 1_000


def test_a_large_mailbox_within_request_and_quota_budgets(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    deliver_mail(sandbox, REP, 0, SCALE, NOW - timedelta(hours=1))
    # The per-minute limit scaled like the mailbox, so the sync must run into it.
    sandbox.quota.limits["gmail"] = 15_000 * SCALE // 10_000
    connector = gmail_connector(sandbox, tmp_path, (REP,), clock, sleep=clock.sleep)
    sandbox.reset_counters()
    emails, cursor, skipped = pull_all(connector, None)
    requests = sum(sandbox.requests.values())
    assert len({e.key for e in emails}) == SCALE and skipped == 0
    # 5 units a message exceed the minute's limit: the sandbox refused parts with 429 and the
    # connector waited (on the fake clock) as Retry-After said, then fetched only those.
    assert clock.slept, "the per-minute quota was never reached"
    # One batch per 50 gets, one list per page of ids (GmailConnector.page_size), token +
    # profile, and at most one refused batch per wait; <=250 required for 10,000 messages.
    pages = -(-SCALE // GmailConnector.page_size)
    bound = -(-SCALE // 50) + pages + 2 + len(clock.slept)
    assert requests <= bound, sandbox.requests
    if SCALE == 10_000:
        assert requests <= 250
    assert sandbox.quota.used[REP] / SCALE <= 5.1
    assert connector.quota_used(REP) == sandbox.quota.used[REP]

    deliver_mail(sandbox, REP, SCALE, 100, NOW)
    sandbox.reset_counters()
    new, _, _ = pull_all(connector, cursor)
    assert len(new) == 100 and not {e.key for e in new} & {e.key for e in emails}
    assert sum(sandbox.requests.values()) <= 5, sandbox.requests


def test_rate_limits_are_retried_honouring_retry_after(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    deliver_mail(sandbox, REP, 0, 30, NOW - timedelta(hours=1))
    connector = gmail_connector(sandbox, tmp_path, (REP,), clock, sleep=clock.sleep)
    connector.pull(REP, None, limit=1)  # token and profile out of the way
    sandbox.inject_rate_limit(REP, 2, status=429, wait=7)
    sandbox.inject_rate_limit(REP, 1, status=403, wait=11)
    emails, _, _ = pull_all(connector, None)
    assert len(emails) == 30
    assert 7 in clock.slept and 11 in clock.slept


def test_server_errors_are_retried_and_401_refreshes_the_token(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    deliver_mail(sandbox, REP, 0, 5, NOW - timedelta(hours=1))
    connector = gmail_connector(sandbox, tmp_path, (REP,), clock, sleep=clock.sleep)
    sandbox.fail_next = [503, 500]
    first, _, _ = pull_all(connector, None)
    assert len(first) == 5 and len(clock.slept) == 2
    tokens = sandbox.requests["token"]
    sandbox.auth.expire_access_tokens()
    again, _, _ = pull_all(connector, None)
    assert [e.key for e in again] == [e.key for e in first]
    assert sandbox.requests["token"] == tokens + 1


def test_an_expired_history_id_raises_cursor_expired(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    connector = gmail_connector(sandbox, tmp_path, (REP,), clock)
    _, cursor, _ = pull_all(connector, None)
    sandbox.gmail.expire_history(REP)
    with pytest.raises(CursorExpired):
        connector.pull(REP, cursor)


def test_spam_trash_drafts_and_chats_are_never_captured_and_sent_is_outbound(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    when = NOW - timedelta(days=2)
    for i, label in enumerate(["SPAM", "TRASH", "DRAFT", "CHAT"]):
        sandbox.gmail.deliver(REP, headers(i, REP, when), when=when, labels=[label])
    sent = headers(9, REP, when, sender="Me <me-alias@elsewhere.example>", to="x@globex.com")
    sandbox.gmail.deliver(REP, sent, when=when, labels=["SENT"])
    connector = gmail_connector(sandbox, tmp_path, (REP,), clock)
    emails, cursor, _ = pull_all(connector, None)
    assert [e.message_id for e in emails] == ["gm-9@globex.com"]
    assert emails[0].direction == Direction.OUTBOUND
    for i, label in enumerate(["SPAM", "TRASH", "DRAFT", "CHAT"]):
        sandbox.gmail.deliver(REP, headers(20 + i, REP, NOW), when=NOW, labels=[label])
    later, _, _ = pull_all(connector, cursor)
    assert later == []


def test_only_the_backfill_window_is_listed(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    deliver_mail(sandbox, REP, 0, 3, NOW - timedelta(days=200))
    deliver_mail(sandbox, REP, 3, 4, NOW - timedelta(days=1))
    connector = gmail_connector(sandbox, tmp_path, (REP,), clock)
    emails, _, _ = pull_all(connector, None)
    assert sorted(e.message_id for e in emails) == [f"gm-{i}@globex.com" for i in range(3, 7)]


def test_per_user_refresh_tokens_need_mode_0600(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    deliver_mail(sandbox, REP, 0, 2, NOW - timedelta(days=1))
    info = sandbox.auth.authorized_user(REP, ["https://www.googleapis.com/auth/gmail.metadata"])
    token = tmp_path / f"{REP}.json"
    token.write_text(json.dumps(info), encoding="utf-8")
    token.chmod(0o644)
    settings = GmailSettings(
        type="gmail", name="g", mailboxes=(REP,), oauth_tokens_dir=str(tmp_path),
        api_endpoint=f"{sandbox.url}/", ca_bundle=sandbox.ca_bundle,
    )  # fmt: skip
    context = ConnectorContext(clock=clock, capture=CaptureConfig(internal_domains=["ourco.com"]))
    with pytest.raises(ConfigError) as caught:
        GmailConnector(settings, context, sleep=clock.sleep).pull(REP, None)
    assert caught.value.problems[0].path == "connectors.g.oauth_tokens_dir"
    assert info["refresh_token"] not in str(caught.value)
    token.chmod(0o600)
    connector = GmailConnector(settings, context, sleep=clock.sleep)
    assert len(connector.pull(REP, None).activities) == 2
    # A revoked refresh token is AuthExpired (pause the mailbox), never a crash or a retry loop.
    sandbox.auth.revoke_refresh_token(info["refresh_token"])
    sandbox.auth.expire_access_tokens()
    with pytest.raises(AuthExpired):
        connector.pull(REP, None)


def test_settings_need_exactly_one_way_in() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        GmailSettings(type="gmail", name="g")


def test_mailboxes_clients_share_one_parsed_discovery_document(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    # Each client parsing its own copy cost ~0.5 MB a mailbox: ~1 GB for 1,000 reps' mail and
    # calendars. Every mailbox's client must read the one copy, and still work on its own.
    reps = [f"rep{i}@ourco.com" for i in range(5)]
    for rep in reps:
        sandbox.add_user(rep)
        deliver_mail(sandbox, rep, 0, 2, NOW - timedelta(hours=1))
    connector = gmail_connector(sandbox, tmp_path, tuple(reps), clock)
    for rep in reps:
        batch = connector.pull(rep, None)
        assert {a.mailbox for a in batch.activities} == {rep}
    documents = {id(connector._service(rep)[0]._rootDesc) for rep in reps}
    assert len(documents) == 1


def test_full_sync_lists_without_q_and_cuts_the_window_by_internal_date(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    # The emulator refuses q under gmail.metadata (as Gmail does): a connector sending q would
    # never complete a first sync. Old mail delivered last must still be cut by internalDate,
    # and the listing must stop at the window's edge, not page through years of mail.
    deliver_mail(sandbox, REP, 0, 30, NOW - timedelta(days=1))
    deliver_mail(sandbox, REP, 30, 900, NOW - timedelta(days=400))
    connector = gmail_connector(sandbox, tmp_path, (REP,), clock)
    sandbox.reset_counters()
    found: list[Email] = []
    cursor = None
    for _ in range(10):
        batch = connector.pull(REP, cursor, limit=20)
        found += [a for a in batch.activities if isinstance(a, Email)]
        cursor = batch.next_cursor
        if not batch.more:
            break
    assert sorted(e.message_id for e in found) == sorted(f"gm-{i}@globex.com" for i in range(30))
    assert sandbox.methods["gmail.users.messages.list"] == 2  # 20 new, then 10 new + 10 old
    assert cursor is not None and cursor.startswith("gmail:1:hist:")


INVITE = (
    "From: Alice <alice@globex.com>\r\nTo: rep@ourco.com\r\nSubject: Invitation: Review\r\n"
    "Message-ID: <inv-9@globex.com>\r\nDate: Mon, 09 Mar 2026 09:00:00 +0000\r\n"
    'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n'
    "--b\r\nContent-Type: text/plain\r\n\r\nJoin us.\r\n"
    "--b\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\n"
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:review-9@globex.com\r\n"
    "DTSTAMP:20260309T090000Z\r\nDTSTART:20260312T140000Z\r\nDTEND:20260312T150000Z\r\n"
    "SUMMARY:Review\r\nORGANIZER:mailto:alice@globex.com\r\nATTENDEE:mailto:rep@ourco.com\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n--b--\r\n"
)


@pytest.mark.parametrize("scope", ["metadata", "readonly"])
def test_an_invitation_is_a_meeting_where_the_scope_lets_its_part_be_read(
    sandbox: GoogleSandbox, clock: FakeClock, tmp_path: Path, scope: str
) -> None:
    when = NOW - timedelta(days=1)
    sandbox.gmail.deliver(REP, [], when=when, raw=INVITE.encode())
    deliver_mail(sandbox, REP, 0, 3, NOW - timedelta(hours=1))  # plain text: no extra get
    connector = gmail_connector(sandbox, tmp_path, (REP,), clock)
    connector.settings = connector.settings.model_copy(update={"scope": scope})
    sandbox.reset_counters()
    batch = connector.pull(REP, None)
    kinds = sorted(str(a.kind) for a in batch.activities)
    if scope == "metadata":  # headers only: Gmail never gives the part under this scope
        assert kinds == ["email"] * 4
        assert sandbox.quota.calls["gmail.users.messages.get"] == 4
    else:
        assert kinds == ["email"] * 3 + ["meeting"]
        (meeting,) = [a for a in batch.activities if isinstance(a, Meeting)]
        assert meeting.key == meeting_key("review-9@globex.com")
        assert sandbox.quota.calls["gmail.users.messages.get"] == 5  # one more, 5 units
