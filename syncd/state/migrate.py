"""Apply the Alembic migrations from code: ``upgrade(url)`` is ``alembic upgrade head``.

There is no ``alembic.ini``: the Config is built here with ``script_location`` pointing at the
``migrations`` directory next to this file, which works from a source tree, an editable install
and a wheel alike. The open connection is handed to ``migrations/env.py`` through
``config.attributes`` so the engine settings of ``engine.py`` apply to migrations too.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import URL

from syncd.state.engine import make_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Several workers may start at once against one PostgreSQL: they queue on this lock, and the
# later ones find the schema already at head.
_MIGRATION_LOCK = int.from_bytes(hashlib.blake2b(b"syncd:migrate", digest_size=8).digest(), "big")
MIGRATION_LOCK_KEY = _MIGRATION_LOCK - (1 << 64) if _MIGRATION_LOCK >= 1 << 63 else _MIGRATION_LOCK


def alembic_config() -> Config:
    """Return the Alembic Config for syncd's migrations, built without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this version of syncd."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_engine(engine: Engine) -> None:
    """Bring the database behind ``engine`` to the newest revision, in one transaction."""
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        before = MigrationContext.configure(connection).get_current_revision()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
    if before != after:
        log.info("state store migrated from %s to %s", before or "empty", after)


def upgrade(url: str | URL) -> None:
    """Run ``alembic upgrade head`` against ``url`` (what ``syncd db upgrade`` calls)."""
    engine = make_engine(url)
    try:
        upgrade_engine(engine)
    finally:
        engine.dispose()
