"""Fixtures: a fresh sandbox org per test and a capture runner wired to it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))

from capture_helpers import NOW, Capture, directory_users, seed
from sf_helpers import make_client, org_with_key_field

from connectors.base import ConnectorContext
from connectors.memory import MemoryConnector, MemorySettings
from syncd.capture.privacy import PrivacyRules
from syncd.capture.runner import Runner
from syncd.config import CaptureConfig
from syncd.salesforce.directory import Directory
from syncd.salesforce.writer import ActivityWriter
from syncd.state import Store


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A fresh org per test: every test counts records and calls from zero."""
    with org_with_key_field() as sb:
        yield sb


@pytest.fixture
def capture(sandbox: Any, tmp_path: Path) -> Iterator[Capture]:
    org = seed(sandbox)
    client = make_client(sandbox)
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    directory = Directory.load(client)
    rules = PrivacyRules.from_capture(
        CaptureConfig(internal_domains=["ourco.com"]), directory_users(directory)
    )
    runner = Runner(store, ActivityWriter(client), directory, rules)
    context = ConnectorContext(clock=lambda: NOW)
    connector = MemoryConnector(MemorySettings(type="memory", name="mem"), context)
    sandbox.reset_counters()
    yield Capture(sandbox, org, store, runner, connector, client)
    store.close()
    client.close()
