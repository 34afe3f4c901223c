"""Migrations: empty → head on both backends, and the migrated schema equals the metadata."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from syncd.state import Store, head_revision, upgrade
from syncd.state.engine import make_engine, normalise_url
from syncd.state.migrate import MIGRATIONS_DIR, alembic_config, current_revision
from syncd.state.schema import metadata

TABLES = {
    "cursors",
    "ledger",
    "ledger_sightings",
    "outcome_counts",
    "unmatched",
    "dead_letters",
    "flags",
    "alert_queue",
    "runs",
    "leases",
}


def test_migrations_are_found_from_the_package_path():
    location = alembic_config().get_main_option("script_location")
    assert location == str(MIGRATIONS_DIR)
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert head_revision() == "0002_store_identity"


def test_upgrade_from_empty_to_head(db_url: URL):
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        assert not set(inspect(engine).get_table_names()) & TABLES

        upgrade(db_url)

        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= TABLES
        # A second upgrade is a no-op, not an error.
        upgrade(db_url)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrated_database_matches_the_metadata(db_url: URL):
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diffs == []
        # Named constraints the naming convention promises (autogenerate does not compare CHECKs).
        checks = {c["name"] for c in inspect(engine).get_check_constraints("flags")}
        assert "ck_flags_state" in checks
        indexes = {i["name"]: i for i in inspect(engine).get_indexes("flags")}
        assert indexes["uq_flags_open"]["unique"]
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_every_table(db_url: URL):
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert not set(inspect(engine).get_table_names()) & TABLES
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_postgres_version_table_lands_in_the_selected_schema(pg_url: URL):
    schema = str(pg_url.query["options"]).removeprefix("-csearch_path=")
    assert schema.startswith("syncd_test_")
    Store.open(pg_url).close()
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT table_schema FROM information_schema.tables "
                    "WHERE table_name IN ('alembic_version', 'ledger') AND table_schema = :s"
                ),
                {"s": schema},
            ).all()
        assert len(found) == 2
    finally:
        engine.dispose()


def test_plain_postgresql_url_is_normalised_to_psycopg(pg_url: URL):
    plain = pg_url.set(drivername="postgresql")
    assert normalise_url(plain.render_as_string(hide_password=False)).drivername == (
        "postgresql+psycopg"
    )
    with Store.open(plain) as store:
        assert store.engine.url.drivername == "postgresql+psycopg"
        assert store.schema_revision() == (head_revision(), head_revision())


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 's.db'}") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_store_open_on_in_memory_sqlite_keeps_one_database():
    with Store.open("sqlite://") as store:
        store.cursors.set("gmail", "a@example.com", "h1")
        assert store.cursors.get("gmail", "a@example.com") == "h1"


def test_workers_starting_together_migrate_once(db_url: URL):
    # Several `syncd run` processes opening one empty database at the same moment.
    start = threading.Barrier(3)

    def open_store() -> tuple[str | None, str | None]:
        start.wait(timeout=30)
        with Store.open(db_url) as store:
            return store.schema_revision()

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = [f.result(timeout=60) for f in [pool.submit(open_store) for _ in range(3)]]
    assert results == [(head_revision(), head_revision())] * 3


def test_opening_waits_for_another_connection_to_let_go_of_a_new_file(tmp_path):
    # A new database file is in rollback-journal mode until someone switches it to WAL, and
    # SQLite refuses that switch at once (no busy timeout) while another connection writes: a
    # second `syncd run` starting while the first creates the file got "database is locked".
    path = tmp_path / "state.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE elsewhere (x INTEGER)")
    threading.Timer(0.3, other.execute, args=["COMMIT"]).start()
    with Store.open(f"sqlite:///{path}") as store:
        assert store.schema_revision()[0] == store.schema_revision()[1]
    other.close()
    fresh = sqlite3.connect(path)
    assert fresh.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    fresh.close()


def test_a_new_sqlite_store_and_its_wal_are_private_to_the_owner(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
        store.cursors.set("c", "m", "x")
    finally:
        os.umask(old)
    try:
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.glob("state.db*")}
    finally:
        store.close()
    assert modes["state.db"] == 0o600 and modes["state.db-wal"] == 0o600, modes
