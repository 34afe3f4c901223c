"""Fixtures: the same store tests on SQLite (a tmp file) and PostgreSQL (a fresh schema each).

PostgreSQL comes from SYNCD_TEST_POSTGRES_URL; without it those cases skip with a reason.
Each PostgreSQL test gets its own schema (``syncd_test_<run>_<n>``) selected through
``options=-csearch_path=…`` in the URL, so concurrent runs never see each other's rows; the
schema is dropped afterwards. Time comes from a fake clock the test moves by hand.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from syncd.state import Store
from syncd.state.engine import normalise_url

PG_ENV = "SYNCD_TEST_POSTGRES_URL"
_RUN = secrets.token_hex(4)
_counter = itertools.count()


class FakeClock:
    """An aware UTC clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC))


@pytest.fixture(scope="session")
def pg_base_url() -> URL:
    raw = os.environ.get(PG_ENV)
    if not raw:
        pytest.skip(f"PostgreSQL store tests need {PG_ENV} (e.g. postgresql+psycopg://…)")
    return normalise_url(raw)


@pytest.fixture
def pg_url(pg_base_url: URL) -> Iterator[URL]:
    """A URL whose connections use a brand-new, empty schema."""
    schema = f"syncd_test_{_RUN}_{next(_counter)}"
    admin = create_engine(pg_base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_base_url.update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> URL:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return make_url(f"sqlite:///{tmp_path / 'state.db'}")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url: URL, clock: FakeClock) -> Iterator[Store]:
    opened = Store.open(db_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()
