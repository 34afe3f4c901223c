"""Helpers for the Google tests: a sandbox, connectors wired to it, deterministic mail."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import ConnectorContext
from connectors.gmail import GmailConnector, GmailSettings
from connectors.google_calendar import GoogleCalendarConnector, GoogleCalendarSettings
from sandbox.google import GoogleSandbox
from syncd.config import CaptureConfig, SecretRef


class FakeClock:
    """A clock that only moves when slept on: sandbox quota windows and retries share it."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def key_file(sandbox: GoogleSandbox, directory: Path) -> Path:
    """The service account's key JSON written 0600 in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "sa.json"
    path.write_text(json.dumps(sandbox.service_account()), encoding="utf-8")
    path.chmod(0o600)
    return path


def gmail_connector(
    sandbox: GoogleSandbox,
    directory: Path,
    mailboxes: tuple[str, ...],
    clock: Callable[[], datetime],
    *,
    sleep: Callable[[float], None] | None = None,
    internal: tuple[str, ...] = ("ourco.com", "acme.example"),
    name: str = "gmail",
) -> GmailConnector:
    settings = GmailSettings(
        type="gmail",
        name=name,
        mailboxes=mailboxes,
        service_account_key=SecretRef(file=key_file(sandbox, directory)),
        api_endpoint=f"{sandbox.url}/",
        ca_bundle=sandbox.ca_bundle,
    )
    context = ConnectorContext(clock=clock, capture=CaptureConfig(internal_domains=list(internal)))
    return GmailConnector(settings, context, sleep=sleep or _no_sleep)


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected real wait of {seconds}s")


def headers(
    i: int,
    mailbox: str,
    when: datetime,
    *,
    sender: str | None = None,
    to: str | None = None,
) -> list[tuple[str, str]]:
    """The headers of the i-th deterministic message."""
    return [
        ("From", sender or f"Buyer {i} <buyer{i % 7}@globex.com>"),
        ("To", to or mailbox),
        ("Subject", f"Proposal round {i}"),
        ("Date", format_datetime(when.astimezone(UTC))),
        ("Message-ID", f"<gm-{i}@globex.com>"),
    ]


def deliver_mail(sandbox: GoogleSandbox, mailbox: str, start: int, n: int, base: datetime,
                 **kw: Any) -> list[str]:  # fmt: skip
    """Deliver messages ``start``..``start+n-1``, dated a minute apart before ``base``."""
    ids = []
    for i in range(start, start + n):
        when = base - timedelta(minutes=(start + n - i))
        ids.append(sandbox.gmail.deliver(mailbox, headers(i, mailbox, when, **kw), when=when))
    return ids


def calendar_connector(
    sandbox: GoogleSandbox,
    directory: Path,
    mailboxes: tuple[str, ...],
    clock: Callable[[], datetime],
    *,
    sleep: Callable[[float], None] | None = None,
    internal: tuple[str, ...] = ("ourco.com", "acme.example"),
    since: datetime | None = None,
    lookahead_days: int = 30,
) -> GoogleCalendarConnector:
    settings = GoogleCalendarSettings(
        type="google_calendar",
        name="gcal",
        mailboxes=mailboxes,
        service_account_key=SecretRef(file=key_file(sandbox, directory)),
        api_endpoint=f"{sandbox.url}/calendar/v3/",
        ca_bundle=sandbox.ca_bundle,
        lookahead_days=lookahead_days,
    )
    context = ConnectorContext(
        clock=clock, capture=CaptureConfig(internal_domains=list(internal)), since=since
    )
    return GoogleCalendarConnector(settings, context, sleep=sleep or _no_sleep)


def meeting(
    i: int, mailbox: str, when: datetime, *, minutes: int = 30, zone: str = "Europe/Paris",
    guests: tuple[str, ...] = ("buyer@globex.com",), **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    """The i-th deterministic meeting in Google's event shape, in ``zone``'s wall clock."""
    local = when.astimezone(ZoneInfo(zone))
    end = local + timedelta(minutes=minutes)
    return {
        "id": f"mtg{i:05d}",
        "iCalUID": f"mtg-{i}@google.com",
        "summary": f"Review {i}",
        "start": {"dateTime": local.isoformat(), "timeZone": zone},
        "end": {"dateTime": end.isoformat(), "timeZone": zone},
        "organizer": {"email": mailbox},
        "attendees": [{"email": mailbox, "responseStatus": "accepted", "self": True}]
        + [{"email": g, "responseStatus": "needsAction"} for g in guests],
    } | extra
