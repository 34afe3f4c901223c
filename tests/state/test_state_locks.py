"""Advisory locks for org-wide jobs: one holder at a time, across Store instances."""

from __future__ import annotations

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
