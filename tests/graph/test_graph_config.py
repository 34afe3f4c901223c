"""The Outlook connectors from configuration: registry, secrets by reference, demo seeding."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from contract import pull_all
from graph_helpers import FakeClock, calendar_connector, mail_connector

from connectors import base
from connectors.outlook_calendar import OutlookCalendarConnector
from connectors.outlook_mail import OutlookMailConnector, OutlookMailSettings
from sandbox.graph import GraphSandbox
from sandbox.graph.seed import seed_demo
from syncd.config.types import SecretRef
from syncd.errors import CursorExpired

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_types_resolve_and_secrets_are_references() -> None:
    assert base.get("outlook_mail") is OutlookMailConnector
    assert base.get("outlook_calendar") is OutlookCalendarConnector
    settings = OutlookMailSettings.model_validate(
        {
            "type": "outlook_mail",
            "name": "m365",
            "tenant_id": "t",
            "client_id": "c",
            "client_secret_env": "SYNCD_M365_SECRET",
            "mailboxes": ["rep@ourco.com"],
        }
    )
    assert settings.client_secret == SecretRef(env="SYNCD_M365_SECRET")
    assert settings.folders == ("inbox", "sentitems")
    connector = OutlookMailConnector(settings)
    assert "SYNCD_M365_SECRET" not in repr(connector.client)  # the client shows its app id only
    assert connector.mailboxes() == ["rep@ourco.com"]


def test_folders_from_toml_are_an_array() -> None:
    # TOML gives a list; the strict config must take it (it once answered "must be an array").
    settings = OutlookMailSettings.model_validate(
        {"type": "outlook_mail", "name": "m365", "tenant_id": "t", "client_id": "c",
         "client_secret_env": "S", "folders": ["inbox", "archive"]}
    )  # fmt: skip
    assert settings.folders == ("inbox", "archive")


def test_seed_demo_is_deterministic_and_syncs() -> None:
    clock = FakeClock(NOW)
    reps = ["ana@ourco.com", "ben@ourco.com"]
    contacts = ["alice@globex.com", "bob@globex.com"]
    counts = []
    subjects = []
    for _ in range(2):
        with GraphSandbox(clock=clock.now) as sandbox:
            counts.append(seed_demo(sandbox, reps, contacts, random.Random(7), now=NOW))
            mail = mail_connector(sandbox, clock, tuple(reps))
            cal = calendar_connector(sandbox, clock, tuple(reps))
            got = []
            for rep in reps:
                for connector in (mail, cal):
                    batches, _ = pull_all(connector, rep, None)
                    got += sorted(a.key for b in batches for a in b.activities)
            subjects.append(got)
    assert counts[0] == counts[1] == {"messages": 40, "meetings": 8}
    assert subjects[0] == subjects[1] and len(subjects[0]) == 48


def test_an_expired_calendar_delta_raises_cursor_expired() -> None:
    clock = FakeClock(NOW)
    with GraphSandbox(clock=clock.now) as sandbox:
        rep = "ana@ourco.com"
        seed_demo(sandbox, [rep], ["alice@globex.com"], random.Random(1), now=NOW)
        connector = calendar_connector(sandbox, clock, (rep,))
        _, cursor = pull_all(connector, rep, None)
        sandbox.mailbox(rep).expire_tokens()
        with pytest.raises(CursorExpired):
            connector.pull(rep, cursor)
        again, _ = pull_all(connector, rep, None)
        assert len([a for b in again for a in b.activities]) == 4
