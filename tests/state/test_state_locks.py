"""Advisory locks for org-wide jobs: one holder at a time, across Store instances."""

from __future__ import annotations

import secrets

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from syncd.state import Store


def test_only_one_holder_at_a_time(store: Store, db_url: URL):
    with Store.open(db_url) as other:
        with store.try_advisory_lock("rules") as held:
            assert held is True
            with other.try_advisory_lock("rules") as also:
                assert also is False
            # A different job name is a different lock.
            with other.try_advisory_lock("digest") as digest:
                assert digest is True
        # Released on exit: now the other store gets it.
        with other.try_advisory_lock("rules") as later:
            assert later is True


def test_deployments_in_two_schemas_of_one_database_do_not_share_locks(
    pg_url: URL, pg_base_url: URL
) -> None:
    """Advisory locks are per database; two syncd stores in two schemas are two deployments.

    Staging and production in one PostgreSQL database (each its own search_path) run their
    rules at the same cron minute: each must get its own "rules" lock, not skip its run
    because the other deployment holds a lock of the same name.
    """
    schema = f"syncd_test_locks_{secrets.token_hex(4)}"
    admin = create_engine(pg_base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        other_url = pg_base_url.update_query_dict({"options": f"-csearch_path={schema}"})
        with (
            Store.open(pg_url) as staging,
            Store.open(other_url) as production,
            Store.open(pg_url) as same_deployment,
            staging.try_advisory_lock("rules") as held,
        ):
            assert held is True
            with production.try_advisory_lock("rules") as also:
                assert also is True  # another deployment's lock
            with same_deployment.try_advisory_lock("rules") as again:
                assert again is False  # still one holder within a deployment
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
