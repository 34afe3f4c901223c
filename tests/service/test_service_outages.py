"""``syncd run`` through outages of what it depends on: it stays up, says so, and resumes.

- Salesforce refuses the daemon at start (the token endpoint answers ``invalid_grant``, as
  during an org's maintenance or a consent hiccup): the process stays up, /healthz answers,
  /readyz is 503 naming the directory, the status page's banner names the cause and the fix;
  once Salesforce answers again the next interval loads the directory, /readyz turns 200, the
  banner is gone and the mailbox is synced.
- The PostgreSQL state store becomes unreachable (a loopback TCP proxy in front of it drops
  every connection and refuses new ones, as in a failover): the daemon stays up, /healthz
  answers, /readyz is 503 naming the store, capture rounds fail without killing it; when the
  store is back the next interval syncs new mail and /readyz is 200 again. A SIGTERM while the
  store is down still drains and exits 0 in time (the leases then expire). No subject or
  participant address reaches the logs.
- The store's host goes silent (connections accepted, never answered, as an old primary's
  address after a failover): connecting gives up after a bounded time, so a SIGTERM still
  drains in time and /readyz answers 503 instead of hanging.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_helpers import (
    PARTICIPANTS,
    SUBJECTS,
    add_mail,
    fetch,
    free_port,
    message,
    start_daemon,
    start_org,
    until,
    use_state_url,
)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from syncd.state import Store

PG_ENV = "SYNCD_TEST_POSTGRES_URL"

DRAIN_LIMIT = 30.0


def stop(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """SIGTERM: (exit code, seconds the drain took)."""
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=DRAIN_LIMIT + 5)
    return rc, time.monotonic() - began


def test_salesforce_refusing_at_start_is_not_ready_then_syncs(tmp_path: Path) -> None:
    port = free_port()
    org = start_org(tmp_path, interval="1s", listen=f"127.0.0.1:{port}")
    sb, base = org.sb, f"http://127.0.0.1:{port}"
    sb.faults.inject("oauth_error", times=100_000)  # every sign-in refused until cleared
    stderr = (tmp_path / "stderr.log").open("wb")
    proc = start_daemon(org, stderr)
    try:
        until("/healthz", lambda: fetch(f"{base}/healthz")[0] == 200, proc, 20)
        # a few capture firings come and go while Salesforce still refuses
        until("sign-in attempts", lambda: sb.faults.pending <= 100_000 - 3, proc, 20)
        status, body = fetch(f"{base}/readyz")
        assert status == 503
        assert "directory" in json.loads(body)["reason"]
        assert sb.count("Task") == 0
        # The status page names the cause and the fix before any pass has run.
        status, page = fetch(f"{base}/")
        assert status == 200 and 'id="outages"' in page
        assert "Salesforce refuses to sign syncd in" in page and "LoginRefused" in page
        assert "connected app" in page  # the fix
        assert sb.client_secret not in page

        sb.faults.clear()
        until("readiness", lambda: fetch(f"{base}/readyz")[0] == 200, proc, 20)
        until("the first pass", lambda: sb.count("Task") == 1, proc, 20)
        # recovered (the pass that wrote it has finished): no banner
        until("the banner to go", lambda: 'id="outages"' not in fetch(f"{base}/")[1], proc, 20)
        rc, drained = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr.close()
        sb.stop()
    logs = (tmp_path / "stderr.log").read_text()
    assert rc == 0, logs[-3000:]
    assert drained < DRAIN_LIMIT
    assert sb.client_secret not in logs


class TcpProxy:
    """A loopback TCP forwarder to ``target`` that can drop its connections and refuse more."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._up = threading.Event()
        self._up.set()
        self._silent = False
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self.refused = 0
        self._closed = False
        threading.Thread(target=self._accept, name="pg-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                with self._lock:
                    self.refused += 1
                    if self._silent:  # accepted, then never a byte: a host gone silent
                        self._open.append(client)
                        continue
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every connection; refuse new ones until :meth:`restore`."""
        self._up.clear()
        with self._lock:
            socks, self._open = self._open, []
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def silence(self) -> None:
        """Drop every connection; accept new ones but never answer (a failed-over host)."""
        self._silent = True
        self.cut()

    def restore(self) -> None:
        """Forward new connections again."""
        self._silent = False
        self._up.set()

    def close(self) -> None:
        """Stop listening and drop everything."""
        self._closed = True
        self.cut()
        self._listener.close()


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """(base URL, a fresh schema) on SYNCD_TEST_POSTGRES_URL; skips visibly without it."""
    raw = os.environ.get(PG_ENV)
    if not raw:
        pytest.skip(f"the state store outage test needs {PG_ENV}")
    schema = f"syncd_outage_{secrets.token_hex(4)}"
    base = make_url(raw).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.render_as_string(hide_password=False), schema
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def test_state_store_outage_daemon_stays_up_and_resumes(
    tmp_path: Path, pg_schema: tuple[str, str]
) -> None:
    raw, schema = pg_schema
    base = make_url(raw)
    proxy = TcpProxy((base.host or "127.0.0.1", base.port or 5432))
    through = base.set(host="127.0.0.1", port=proxy.port).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    direct = base.update_query_dict({"options": f"-csearch_path={schema}"})
    port = free_port()
    org = start_org(tmp_path, interval="1s", listen=f"127.0.0.1:{port}")
    sb, web = org.sb, f"http://127.0.0.1:{port}"
    use_state_url(org, through.render_as_string(hide_password=False))
    stderr = (tmp_path / "stderr.log").open("wb")
    proc = start_daemon(org, stderr)
    try:
        until("readiness", lambda: fetch(f"{web}/readyz")[0] == 200, proc, 30)
        until("the first pass", lambda: sb.count("Task") == 1, proc, 20)

        proxy.cut()
        until("/readyz to notice", lambda: fetch(f"{web}/readyz")[0] == 503, proc, 20)
        # the capture job keeps trying (and failing) at its interval while the store is down
        until("rounds against the dead store", lambda: proxy.refused >= 6, proc, 30)
        status, body = fetch(f"{web}/readyz")
        assert status == 503 and "state store" in json.loads(body)["reason"]
        assert fetch(f"{web}/healthz")[0] == 200

        proxy.restore()
        add_mail(org.mbox, [message(PARTICIPANTS[0], "ana@ourco.com", "<3@globex.com>", "Re")])
        until("a pass after the outage", lambda: sb.count("Task") == 2, proc, 30)
        until("readiness again", lambda: fetch(f"{web}/readyz")[0] == 200, proc, 20)
        status, metrics = fetch(f"{web}/metrics")
        assert 'syncd_errors_total{error_class="OperationalError"}' in metrics  # counted

        proxy.cut()  # and stop while the store is down
        until("/readyz to notice again", lambda: fetch(f"{web}/readyz")[0] == 503, proc, 20)
        rc, drained = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr.close()
        proxy.close()
        sb.stop()
    logs = (tmp_path / "stderr.log").read_text()
    assert rc == 0, logs[-3000:]
    assert drained < DRAIN_LIMIT
    for private in (*SUBJECTS, *PARTICIPANTS, sb.client_secret):
        assert private not in logs
    with Store.open(direct) as store:
        assert store.ledger.count() == 2 == sb.count("Task")


def test_a_store_error_mid_batch_logs_no_message_content(
    tmp_path: Path, pg_schema: tuple[str, str]
) -> None:
    """A database error while a batch commits names the statement, never its values.

    The unmatched queue is locked by someone else (a DBA's maintenance, a migration) and the
    daemon's lock_timeout ends its insert of an unmatched email: the error is logged and kept
    in the run's row, but neither may carry the email's subject or participants (the insert's
    parameters), which database error messages quote by default.
    """
    raw, schema = pg_schema
    url = make_url(raw).update_query_dict({"options": f"-csearch_path={schema}"})
    impatient = make_url(raw).update_query_dict(
        {"options": f"-csearch_path={schema} -clock_timeout=300"}
    )
    port = free_port()
    org = start_org(tmp_path, interval="1s", listen=f"127.0.0.1:{port}")
    sb = org.sb
    use_state_url(org, impatient.render_as_string(hide_password=False))
    Store.open(url).close()  # the schema's tables, so the test can lock one
    locker = create_engine(url)
    stderr = (tmp_path / "stderr.log").open("wb")
    proc: subprocess.Popen[bytes] | None = None
    try:
        with locker.begin() as conn:
            conn.execute(text("LOCK TABLE unmatched IN ACCESS EXCLUSIVE MODE"))
            proc = start_daemon(org, stderr)
            running = proc

            def failed_runs() -> list[str]:
                with locker.connect() as look:
                    rows = look.execute(
                        text("SELECT error_message FROM runs WHERE status = 'error'")
                    )
                    return [str(m) for (m,) in rows]

            until("a pass failing on the locked table", lambda: bool(failed_runs()), running, 30)
            messages = failed_runs()
        rc, _ = stop(running)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr.close()
        locker.dispose()
        sb.stop()
    logs = (tmp_path / "stderr.log").read_text()
    assert rc == 0, logs[-3000:]
    assert "LockNotAvailable" in logs  # the error was logged
    assert any("unmatched" in m for m in messages)  # and recorded, naming the statement
    for private in (*SUBJECTS, *PARTICIPANTS):
        assert private not in logs
        assert not any(private in m for m in messages)


def test_a_silent_store_host_does_not_hold_up_a_stop(
    tmp_path: Path, pg_schema: tuple[str, str]
) -> None:
    raw, schema = pg_schema
    base = make_url(raw)
    proxy = TcpProxy((base.host or "127.0.0.1", base.port or 5432))
    through = base.set(host="127.0.0.1", port=proxy.port).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    port = free_port()
    org = start_org(tmp_path, interval="1s", listen=f"127.0.0.1:{port}")
    sb, web = org.sb, f"http://127.0.0.1:{port}"
    use_state_url(org, through.render_as_string(hide_password=False))
    stderr = (tmp_path / "stderr.log").open("wb")
    proc = start_daemon(org, stderr)
    try:
        until("readiness", lambda: fetch(f"{web}/readyz")[0] == 200, proc, 30)
        until("the first pass", lambda: sb.count("Task") == 1, proc, 20)
        proxy.silence()
        # the next capture firing reconnects into the silence
        until("a connection into the silence", lambda: proxy.refused >= 1, proc, 20)
        began = time.monotonic()
        status, _ = fetch(f"{web}/readyz")  # answers (the client gives up after 5 s)
        assert status in (0, 503)
        rc, drained = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr.close()
        proxy.close()
        sb.stop()
    logs = (tmp_path / "stderr.log").read_text()
    assert rc == 0, logs[-3000:]
    assert drained < DRAIN_LIMIT, drained
    assert time.monotonic() - began < DRAIN_LIMIT + 5
