"""Fixtures for the Outlook connectors: the shared fake clock and a Salesforce org with a
runner (helpers live in uniquely named modules: ``graph_helpers``, ``graph_crm``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from graph_crm import Crm, open_crm
from graph_helpers import NOW, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """The clock the Graph sandbox and the client share, at ``graph_helpers.NOW``."""
    return FakeClock(NOW)


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[Crm]:
    with open_crm(tmp_path) as crm:
        yield crm
