"""Alembic environment for syncd's state store, driven from code (there is no alembic.ini).

``syncd.state.migrate`` builds the Config and hands over an open connection in
``config.attributes["connection"]``; the migration then runs inside that connection's
transaction. Offline (``--sql``) mode renders for the URL in ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from syncd.state.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; later revisions get batch mode for free.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is None:
        raise RuntimeError("run migrations through syncd.state.upgrade(url), not the alembic CLI")
    _run(given)
