"""A real sandbox org over HTTPS for the Salesforce tests, and clients for it.

One sandbox per test module (starting one costs a TLS CA and a server thread); tests that
inject faults clear them afterwards. Clients use a no-op sleep so retries never wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sf_helpers import org_with_key_field


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    """A running sandbox org with Activity.Syncd_Key__c defined."""
    with org_with_key_field() as sb:
        yield sb


@pytest.fixture
def org(sandbox: Any) -> Iterator[Any]:
    """The module's sandbox with counters reset before and faults cleared after a test."""
    sandbox.faults.clear()
    sandbox.reset_counters()
    yield sandbox
    sandbox.faults.clear()
