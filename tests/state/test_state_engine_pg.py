"""PostgreSQL connections are bounded in time: connecting, and a peer that vanishes mid-query."""

from __future__ import annotations

from sqlalchemy.engine import URL

from syncd.state.engine import PG_CONNECT_TIMEOUT, PG_TCP, make_engine


def parameters(url: URL) -> dict[str, str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            return dict(raw.info.get_parameters())  # what libpq was given for this connection
    finally:
        engine.dispose()


def test_connections_use_a_connect_timeout_and_tcp_keepalives(pg_url: URL) -> None:
    got = parameters(pg_url)
    assert got["connect_timeout"] == str(PG_CONNECT_TIMEOUT)
    for key, value in PG_TCP.items():
        assert got[key] == str(value), key


def test_the_url_overrides_them(pg_url: URL) -> None:
    url = pg_url.update_query_dict({"keepalives_idle": "7", "connect_timeout": "2"})
    got = parameters(url)
    assert got["keepalives_idle"] == "7" and got["connect_timeout"] == "2"
    assert got["tcp_user_timeout"] == str(PG_TCP["tcp_user_timeout"])
