"""Shared fixtures for the sandbox tests: a started Salesforce sandbox and a client of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sfsandbox_helpers import FakeClock, connect
from simple_salesforce import Salesforce

from sandbox.salesforce import SalesforceSandbox


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 18, 15, 30, tzinfo=UTC))


@pytest.fixture(scope="module")
def sandbox(clock: FakeClock) -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox(clock=clock) as sb:
        yield sb


@pytest.fixture(scope="module")
def sf(sandbox: SalesforceSandbox) -> Salesforce:
    return connect(sandbox)
