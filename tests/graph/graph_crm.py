"""A seeded Salesforce sandbox org with a state store and a capture runner, for the Outlook
tests (the ``crm`` fixture builds one; test modules import :class:`Crm` from here, never from
a conftest, whose module name every test directory shares)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TESTS = Path(__file__).resolve().parents[1]
for _folder in ("connectors", "salesforce", "runner", "google"):
    if str(_TESTS / _folder) not in sys.path:
        sys.path.insert(0, str(_TESTS / _folder))

from capture_helpers import Org, directory_users, seed  # noqa: E402
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


@contextmanager
def open_crm(folder: Path) -> Iterator[Crm]:
    """A seeded org with its store in ``folder``; closed on exit."""
    with org_with_key_field() as sandbox:
        org = seed(sandbox)
        client = make_client(sandbox)
        store = Store.open(f"sqlite:///{folder / 'state.db'}")
        directory = Directory.load(client)
        capture = CaptureConfig(internal_domains=["ourco.com"])
        rules = PrivacyRules.from_capture(capture, directory_users(directory))
        runner = Runner(store, ActivityWriter(client), directory, rules)
        try:
            yield Crm(sandbox, org, store, runner)
        finally:
            store.close()
            client.close()
