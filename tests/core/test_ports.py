"""The collaborator Protocols: each concrete class satisfies its own, call for call."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncd.ports import DirectoryView, SalesforceApi, StateStore, Writer
from syncd.salesforce.auth import SalesforceCredentials
from syncd.salesforce.client import ClientOptions, SalesforceClient
from syncd.salesforce.directory import Directory
from syncd.salesforce.writer import ActivityWriter
from syncd.state import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


def _client() -> SalesforceClient:
    credentials = SalesforceCredentials(auth="client_credentials", client_id="c", client_secret="s")
    return SalesforceClient(credentials, ClientOptions(login_url="https://login.example"))


def _methods(protocol: type) -> list[str]:
    return [
        name
        for name, value in vars(protocol).items()
        if inspect.isfunction(value) and not name.startswith("_")
    ]


def _params(function: Any) -> list[tuple[str, Any, Any]]:
    return [
        (p.name, p.kind, p.default)
        for p in inspect.signature(function).parameters.values()
        if p.name != "self"
    ]


@pytest.mark.parametrize(
    ("protocol", "make"),
    [
        (Writer, lambda store: ActivityWriter(_client())),
        (DirectoryView, lambda store: Directory()),
        (StateStore, lambda store: store),
        (SalesforceApi, lambda store: _client()),
    ],
    ids=["writer", "directory", "state-store", "salesforce-api"],
)
def test_the_concrete_class_satisfies_its_protocol(protocol: type, make: Any, store: Store) -> None:
    concrete = make(store)
    assert isinstance(concrete, protocol)
    for name in _methods(protocol):
        mine = inspect.unwrap(getattr(type(concrete), name))
        assert _params(mine) == _params(getattr(protocol, name)), f"{protocol.__name__}.{name}"


def test_a_class_missing_a_member_does_not_satisfy_the_protocol() -> None:
    class HalfWriter:
        def upsert(self, sobject: str, rows: list[dict[str, Any]]) -> None: ...

    assert not isinstance(HalfWriter(), Writer)
