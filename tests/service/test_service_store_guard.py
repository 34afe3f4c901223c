"""One process per SQLite store, its identity checked on every commit, readiness that writes.

- A second ``syncd run`` on the file a running one holds, and a ``syncd sync`` beside it,
  refuse at once naming the holder's pid and host; ``syncd status`` still reads.
- The state file deleted under the daemon: the next commit fails with ``StoreReplaced`` and
  the daemon stops with exit 1 and a clear line instead of writing on.
- A store that refuses writes (full disk): /readyz says 503 and ``syncd_store_up`` is 0.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from service_helpers import (
    SECRET_ENV,
    add_mail,
    fetch,
    free_port,
    message,
    start_daemon,
    start_org,
    until,
)


def syncd(org_config: Path, secret: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd.cli", *args, "-c", str(org_config)],
        env=os.environ | {SECRET_ENV: secret},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_second_process_on_a_sqlite_store_refuses_naming_the_holder(tmp_path: Path) -> None:
    port = free_port()
    org = start_org(tmp_path, interval="1h", listen=f"127.0.0.1:{port}")
    stderr = (tmp_path / "stderr.log").open("wb")
    proc = start_daemon(org, stderr)
    try:
        until("readiness", lambda: fetch(f"http://127.0.0.1:{port}/readyz")[0] == 200, proc, 30)
        for command in (["run"], ["sync"]):
            second = syncd(org.config, org.sb.client_secret, *command)
            assert second.returncode == 1, second.stderr
            assert f"pid {proc.pid} on host " in second.stderr
            assert "PostgreSQL" in second.stderr and "Traceback" not in second.stderr
        status = syncd(org.config, org.sb.client_secret, "status", "--json")
        assert status.returncode == 0, status.stderr  # reading beside the holder is fine
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        org.sb.stop()
    # the holder is gone: the lock went with it
    assert syncd(org.config, org.sb.client_secret, "status").returncode == 0


def test_the_state_file_deleted_under_the_daemon_stops_it(tmp_path: Path) -> None:
    port = free_port()
    org = start_org(tmp_path, interval="1s", listen=f"127.0.0.1:{port}")
    stderr_path = tmp_path / "stderr.log"
    proc = start_daemon(org, stderr_path.open("wb"))
    try:
        until("the first pass", lambda: org.sb.count("Task") == 1, proc, 30)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{org.state}{suffix}").unlink(missing_ok=True)
        add_mail(org.mbox, [message("alice@globex.com", "ana@ourco.com", "<9@globex.com>", "Re")])
        assert proc.wait(timeout=60) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
        org.sb.stop()
    log = stderr_path.read_text()
    assert "stopping: the state store" in log and "was deleted while syncd was running" in log


def test_readyz_and_store_up_turn_red_when_the_store_refuses_writes(tmp_path: Path) -> None:
    port = free_port()
    org = start_org(tmp_path, interval="1h", listen=f"127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}"
    proc = start_daemon(org, (tmp_path / "stderr.log").open("wb"))
    try:
        until("readiness", lambda: fetch(f"{base}/readyz")[0] == 200, proc, 30)
        assert "syncd_store_up 1.0" in fetch(f"{base}/metrics")[1]
        # The store refuses writes (as on a full disk): the probe's write fails.
        with sqlite3.connect(org.state) as db:
            db.execute(
                "CREATE TRIGGER disk_full BEFORE UPDATE ON store_identity"
                " BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END"
            )
        status, body = fetch(f"{base}/readyz")
        assert status == 503
        assert json.loads(body)["reason"].startswith("the state store cannot commit (")
        assert "syncd_store_up 0.0" in fetch(f"{base}/metrics")[1]
        with sqlite3.connect(org.state) as db:
            db.execute("DROP TRIGGER disk_full")
        assert fetch(f"{base}/readyz")[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        org.sb.stop()
