"""Wiring: one configuration → store, Salesforce client, directory, connectors and runner.

Each part is built once, and only when a command needs it.

Commands (``sync``, ``backfill``, ``explain``, the daemon) share this so they behave the same.

This is also where the connector types meet the config: :func:`load_config` and
:func:`check_config` hand the loader the registry's settings models (``syncd.config`` imports
nothing of ``connectors``), and :class:`App` builds connectors from the same registry.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from connectors.base import Connector, ConnectorContext, Registry, builtins
from syncd import config as config_loader
from syncd.capture.normalize_call import to_e164
from syncd.capture.org_rules import OrgRules, rep_zones
from syncd.capture.privacy import PrivacyRules
from syncd.capture.runner import PassResult, Runner
from syncd.config import Config, ConnectorSettings
from syncd.errors import ConfigError, Problem
from syncd.state import Store

if TYPE_CHECKING:
    from syncd.alerts.slack import SlackDelivery
    from syncd.salesforce.client import SalesforceClient
    from syncd.salesforce.directory import Directory
    from syncd.salesforce.writer import ActivityWriter

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def load_config(path: str | os.PathLike[str], types: Registry | None = None) -> Config:
    """The config at ``path`` validated against ``types`` (the production connectors if None)."""
    return config_loader.load_config(path, (types or builtins()).settings_models())


def check_config(
    path: str | os.PathLike[str],
    types: Registry | None = None,
    *,
    secrets: bool = True,
    runnable: bool = False,
) -> tuple[Config, list[Problem]]:
    """:func:`load_config` plus the outside checks; returns the config and the warnings.

    ``secrets=False`` for commands that only read the local store; ``runnable=True`` for
    check-config, run, sync and backfill (an empty config has nothing to run).
    """
    models = (types or builtins()).settings_models()
    return config_loader.check_config(path, models, secrets=secrets, runnable=runnable)


@dataclass
class App:
    """The parts of syncd for one configuration."""

    config: Config
    clock: Callable[[], datetime] = _utc_now
    sleep: Callable[[float], None] | None = None
    #: The connector types to build from (the same the config was loaded with).
    types: Registry = field(default_factory=builtins)
    #: The command holding a SQLite store's single-process lock; None for read-only commands.
    hold: str | None = "syncd"
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @cached_property
    def store(self) -> Store:
        """The state store, migrated."""
        store = Store.open(self.config.state.url, hold=self.hold)
        self._closers.append(store.close)
        return store

    @cached_property
    def salesforce(self) -> SalesforceClient:
        """The Salesforce client (signs in on first use)."""
        from syncd.salesforce.client import SalesforceClient

        if self.config.salesforce is None:
            raise ConfigError([Problem("salesforce", "this command needs a [salesforce] table")])
        kwargs = {"sleep": self.sleep} if self.sleep is not None else {}
        client = SalesforceClient.from_config(self.config.salesforce, **kwargs)
        self._closers.append(client.close)
        return client

    @cached_property
    def directory(self) -> Directory:
        """The org's users, contacts, leads, accounts and open opportunities, in memory."""
        from syncd.salesforce.directory import Directory

        region = self.config.capture.default_region
        return Directory.load(self.salesforce, phone_key=partial(to_e164, region=region))

    @cached_property
    def writer(self) -> ActivityWriter:
        """Upserts by key through sObject Collections."""
        from syncd.salesforce.writer import ActivityWriter

        return ActivityWriter(self.salesforce)

    @cached_property
    def slack_delivery(self) -> SlackDelivery | None:
        """Slack alert delivery from ``[alerts.slack]``, or None when alerts are not configured."""
        from syncd.alerts.slack import SlackDelivery

        slack = self.config.alerts.slack
        if slack is None:
            return None
        kwargs: dict[str, Any] = {"api_url": slack.api_url}
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        return SlackDelivery.from_config(slack, **kwargs)

    def user_emails(self) -> list[str]:
        """Active Salesforce users' addresses (internal people; default mailboxes)."""
        return sorted({u.email for u in self.directory.users.values() if u.email})

    @cached_property
    def rules(self) -> PrivacyRules:
        """The privacy filter's rules, knowing the org's users."""
        return PrivacyRules.from_capture(self.config.capture, self.user_emails())

    @cached_property
    def org_rules(self) -> OrgRules:
        """What the org decides about records: each rep's day, multi-day events, email's record."""
        from syncd.salesforce.org_features import email_as, shared_activities

        salesforce = self.config.salesforce
        return OrgRules(
            zone_of=rep_zones(self.directory, timezone=self.config.service.timezone),
            multiday_events=bool(salesforce and salesforce.multiday_events),
            shared_activities=shared_activities(self.salesforce),
            email_as=email_as(salesforce.email_as if salesforce else "Task", self.salesforce),
        )

    @cached_property
    def runner(self) -> Runner:
        """The capture runner."""
        return Runner(
            self.store,
            self.writer,
            self.directory,
            self.rules,
            policy=self.config.capture.opportunity_policy,
            org=self.org_rules,
        )

    def connector(self, name: str, *, since: datetime | None = None) -> Connector:
        """The configured connector called ``name`` (its window from ``since`` when given)."""
        settings = self.config.connectors_by_name.get(name)
        if settings is None:
            known = ", ".join(sorted(self.config.connectors_by_name)) or "none"
            raise ConfigError([Problem("--connector", f"no connector named {name!r} ({known})")])
        return self._build(settings, since)

    def connectors(
        self, only: str | None = None, *, since: datetime | None = None
    ) -> list[Connector]:
        """Every enabled connector, or just ``only``; ``since`` overrides the backfill window."""
        if only is not None:
            return [self.connector(only, since=since)]
        return [self._build(s, since) for s in self.config.connectors if s.enabled]

    def _build(self, settings: ConnectorSettings, since: datetime | None = None) -> Connector:
        context = ConnectorContext(
            clock=self.clock,
            capture=self.config.capture,
            # Read on first use, not now: building a connector must not need Salesforce (the
            # daemon starts, serves /healthz and retries while Salesforce is unreachable).
            users=self.user_emails if self.config.salesforce is not None else None,
            since=since,
            sleep=self.sleep or time.sleep,
        )
        return self.types[settings.type](settings, context)

    def mailboxes(self, connector: Connector) -> list[str]:
        """The connector's mailboxes; ``"salesforce_users"`` means every active user."""
        if connector.settings.mailboxes == "salesforce_users":
            return self.user_emails()
        return connector.mailboxes()

    def units(
        self, only_connector: str | None = None, only_mailbox: str | None = None
    ) -> Iterator[tuple[Connector, str]]:
        """(connector, mailbox) pairs to sync."""
        for connector in self.connectors(only_connector):
            for mailbox in self.mailboxes(connector):
                if only_mailbox is None or mailbox == only_mailbox:
                    yield connector, mailbox

    def sync(
        self,
        only_connector: str | None = None,
        only_mailbox: str | None = None,
        *,
        stopped: list[tuple[str, Exception]] | None = None,
    ) -> list[PassResult]:
        """Re-match the unmatched queue against the fresh directory, then one pass per unit.

        With a ``stopped`` list, an outage confined to one mailbox or one connector (its
        credentials refused, a mailbox an access policy leaves out: :func:`scope_of`) is
        appended to it as ``(scope, error)`` and the other units go on; a connector-wide one
        skips that connector's other mailboxes. An org-wide cause (Salesforce refusing the
        sign-in or every write, the budget spent) and any other failure are raised at once.
        """
        from syncd.service.outages import SALESFORCE, scope_of, stops

        self.rematch()
        results: list[PassResult] = []
        paused: set[str] = set()
        for connector, mailbox in self.units(only_connector, only_mailbox):
            if connector.name in paused:
                continue
            try:
                results.append(self.runner.run(connector, mailbox))
            except Exception as exc:
                scope = scope_of(exc, f"{connector.name}/{mailbox}")
                if stopped is None or not stops(exc) or scope == SALESFORCE:
                    raise
                stopped.append((scope, exc))
                if scope == connector.name:
                    paused.add(connector.name)
        return results

    def rematch(self, limit: int = 5000) -> Counter[str]:
        """Write queued unmatched items that the current directory now matches."""
        window = self.clock() - timedelta(days=self.config.capture.backfill_days)
        outcomes = self.runner.rematch(self.store.unmatched.due(limit=limit), window_start=window)
        if outcomes:
            log.info("unmatched queue re-matched", extra={"outcomes": dict(outcomes)})
        return outcomes

    def close(self) -> None:
        """Close what was opened, newest first."""
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
