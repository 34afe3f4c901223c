"""Fixtures for the Outlook connectors: helper paths, and a Salesforce org with a runner."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
for folder in ("connectors", "salesforce", "runner", "google"):
    sys.path.insert(0, str(HERE.parent / folder))

from capture_helpers import Org, directory_users, seed  # noqa: E402
from graph_helpers import NOW, FakeClock  # noqa: E402
from sf_helpers import make_client, org_with_key_field  # noqa: E402

from syncd.capture.privacy import PrivacyRules  # noqa: E402
from syncd.capture.runner import Runner  # noqa: E402
from syncd.config import CaptureConfig  # noqa: E402
from syncd.salesforce.directory import Directory  # noqa: E402
from syncd.salesforce.writer import ActivityWriter  # noqa: E402
from syncd.state import Store  # noqa: E402


@dataclass
class Crm:
    """A seeded sandbox org, the state store and a runner writing to the org."""

    sandbox: Any
    org: Org
    store: Store
    runner: Runner

    def records(self, sobject: str) -> list[dict[str, Any]]:
        return list(self.sandbox.records(sobject))


@pytest.fixture
def clock() -> FakeClock:
    """The clock the Graph sandbox and the client share, at ``graph_helpers.NOW``."""
    return FakeClock(NOW)


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[Crm]:
    with org_with_key_field() as sandbox:
        org = seed(sandbox)
        client = make_client(sandbox)
        store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
        directory = Directory.load(client)
        capture = CaptureConfig(internal_domains=["ourco.com"])
        rules = PrivacyRules.from_capture(capture, directory_users(directory))
        runner = Runner(store, ActivityWriter(client), directory, rules)
        yield Crm(sandbox, org, store, runner)
        store.close()
        client.close()
