"""Helpers for the Salesforce tests: clients of a sandbox org in each auth mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from syncd.salesforce.client import ClientOptions, SalesforceClient, SalesforceCredentials


def no_sleep(_seconds: float) -> None:
    """Retries under test never wait for real."""


class SleepLog:
    """A sleep that records what it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def credentials(
    sb: Any, auth: str = "client_credentials", **override: Any
) -> SalesforceCredentials:
    """Credentials for the sandbox in one of the three auth modes."""
    fields: dict[str, Any] = {"auth": auth, "client_id": sb.client_id}
    if auth == "client_credentials":
        fields["client_secret"] = sb.client_secret
    elif auth == "password":
        fields.update(
            client_secret=sb.client_secret,
            username=sb.username,
            password=sb.password,
            security_token=sb.security_token,
        )
    else:
        fields.update(username=sb.username, private_key=sb.jwt_private_key_pem)
    fields.update(override)
    return SalesforceCredentials(**fields)


def make_client(
    sb: Any,
    auth: str = "client_credentials",
    *,
    reserve: float = 0.2,
    sleep: Any = no_sleep,
    **override: Any,
) -> SalesforceClient:
    """A client of the sandbox org."""
    options = ClientOptions(
        login_url=sb.url, ca_bundle=str(sb.ca_bundle), api_reserve=reserve, timeout=10.0
    )
    return SalesforceClient(credentials(sb, auth, **override), options, sleep=sleep)


def start_sandbox(**kwargs: Any) -> Any:
    """Start a sandbox org, or skip (visibly) while the emulator is not there yet."""
    module = pytest.importorskip("sandbox.salesforce")
    if not hasattr(module, "SalesforceSandbox"):
        pytest.skip("sandbox.salesforce has no SalesforceSandbox yet")
    return module.SalesforceSandbox(**kwargs).start()


@contextmanager
def org_with_key_field(**kwargs: Any) -> Iterator[Any]:
    """A started sandbox org with Activity.Syncd_Key__c created; stopped on exit."""
    from syncd.salesforce.setup import run_setup

    sb = start_sandbox(**kwargs)
    try:
        client = make_client(sb)
        run_setup(client)
        client.close()
        yield sb
    finally:
        sb.stop()


def salesforce_toml(sb: Any, secret_env: str) -> str:
    """The ``[salesforce]`` table of a syncd.toml for sandbox ``sb`` (client credentials)."""
    return f"""
[salesforce]
login_url = "{sb.url}"
auth = "client_credentials"
client_id = "{sb.client_id}"
client_secret_env = "{secret_env}"
ca_bundle = "{sb.ca_bundle}"
email_as = "Task"
"""
