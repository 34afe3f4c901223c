"""Fixtures: a Google sandbox per test, with the Salesforce helpers importable."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runner"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))

from sandbox.google import GoogleSandbox


@pytest.fixture
def google() -> Iterator[GoogleSandbox]:
    """A fresh Google sandbox: every test counts requests and units from zero."""
    with GoogleSandbox() as sandbox:
        yield sandbox
