"""Helpers for the Graph tests: a fake clock the sandbox and the client share, and connectors.

The client's sleep advances the same clock the sandbox reads, so a Retry-After is honoured
without sleeping for real, and the sandbox can tell whether a request came too early.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from connectors.base import ConnectorContext
from connectors.outlook_mail import OutlookMailConnector, OutlookMailSettings
from sandbox.graph import GraphSandbox
from syncd.config import CaptureConfig
from syncd.config.types import SecretRef

#: The moment the Graph tests' fake clock starts at (the ``clock`` fixture of conftest).
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


class FakeClock:
    """A thread-safe clock that only moves when someone sleeps on it."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self._now += timedelta(seconds=max(0.0, seconds))


def app_token(sandbox: GraphSandbox) -> str:
    """An app-only access token from the sandbox's token endpoint, fetched with requests."""
    answer = requests.post(
        f"{sandbox.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    return str(answer.json()["access_token"])


def secret_env(sandbox: GraphSandbox) -> SecretRef:
    """The sandbox's client secret, by reference through an environment variable."""
    name = f"SYNCD_TEST_GRAPH_SECRET_{abs(hash(sandbox.client_id))}"
    os.environ[name] = sandbox.client_secret
    return SecretRef(env=name, key="connectors.outlook.client_secret_env")


def graph_settings(sandbox: GraphSandbox, **extra: Any) -> dict[str, Any]:
    """The ``[[connectors]]`` keys common to both Outlook connectors, pointing at ``sandbox``."""
    base: dict[str, Any] = {
        "tenant_id": sandbox.tenant,
        "client_id": sandbox.client_id,
        "authority_host": sandbox.url,
        "graph_url": sandbox.graph_url,
        "ca_bundle": sandbox.ca_bundle,
    }
    if "certificate_key" not in extra:
        base["client_secret"] = secret_env(sandbox)
    return base | extra


def mail_connector(
    sandbox: GraphSandbox, clock: FakeClock, mailboxes: tuple[str, ...], **extra: Any
) -> OutlookMailConnector:
    """An outlook_mail connector on ``sandbox`` with the fake clock and sleep."""
    capture = extra.pop("capture", CaptureConfig())
    settings = OutlookMailSettings(
        type="outlook_mail",
        name=extra.pop("name", "outlook"),
        mailboxes=mailboxes,
        **graph_settings(sandbox, **extra),
    )
    context = ConnectorContext(clock=clock.now, capture=capture)
    return OutlookMailConnector(settings, context, sleep=clock.sleep)


def calendar_connector(
    sandbox: GraphSandbox, clock: FakeClock, mailboxes: tuple[str, ...], **extra: Any
) -> Any:
    """An outlook_calendar connector on ``sandbox`` with the fake clock and sleep."""
    from connectors.outlook_calendar import OutlookCalendarConnector, OutlookCalendarSettings

    capture = extra.pop("capture", CaptureConfig())
    settings = OutlookCalendarSettings(
        type="outlook_calendar",
        name=extra.pop("name", "outlook-calendar"),
        mailboxes=mailboxes,
        **graph_settings(sandbox, **extra),
    )
    context = ConnectorContext(clock=clock.now, capture=capture)
    return OutlookCalendarConnector(settings, context, sleep=clock.sleep)


def outlook_toml(
    sandbox: GraphSandbox, secret_env: str, mailboxes: tuple[str, ...], **keys: str
) -> str:
    """A ``[[connectors]]`` outlook_mail table for a syncd.toml pointing at ``sandbox``."""
    extra = "".join(f'{key} = "{value}"\n' for key, value in keys.items())
    listed = ", ".join(f'"{m}"' for m in mailboxes)
    return f"""
[[connectors]]
type = "outlook_mail"
name = "outlook"
{extra}tenant_id = "{sandbox.tenant}"
client_id = "{sandbox.client_id}"
client_secret_env = "{secret_env}"
authority_host = "{sandbox.url}"
graph_url = "{sandbox.graph_url}"
ca_bundle = "{sandbox.ca_bundle}"
mailboxes = [{listed}]
"""
