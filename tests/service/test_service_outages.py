"""``syncd run`` through outages of what it depends on: it stays up, says so, and resumes.

- Salesforce refuses the daemon at start (the token endpoint answers ``invalid_grant``, as
  during an org's maintenance or a consent hiccup): the process stays up, /healthz answers,
  /readyz is 503 naming the directory; once Salesforce answers again the next interval loads
  the directory, /readyz turns 200 and the mailbox is synced.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from service_helpers import SECRET_ENV, free_port, start_org

DRAIN_LIMIT = 30.0


def fetch(url: str) -> tuple[int, str]:
    """GET ``url``: (status, body); status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback http
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError:
        return 0, ""


def until(
    what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes], limit: float
) -> None:
    """Poll ``check`` until true or ``limit`` seconds; the daemon must stay up meanwhile."""
    deadline = time.monotonic() + limit
    while not check():
        assert proc.poll() is None, f"syncd run exited ({proc.returncode}) waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # polling an external process, not a simulated delay


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
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncd.cli", "run", "-c", str(org.config)],
        env=os.environ | {SECRET_ENV: sb.client_secret},
        stderr=stderr,
        stdout=subprocess.DEVNULL,
    )
    try:
        until("/healthz", lambda: fetch(f"{base}/healthz")[0] == 200, proc, 20)
        # a few capture firings come and go while Salesforce still refuses
        until("sign-in attempts", lambda: sb.faults.pending <= 100_000 - 3, proc, 20)
        status, body = fetch(f"{base}/readyz")
        assert status == 503
        assert "directory" in json.loads(body)["reason"]
        assert sb.count("Task") == 0

        sb.faults.clear()
        until("readiness", lambda: fetch(f"{base}/readyz")[0] == 200, proc, 20)
        until("the first pass", lambda: sb.count("Task") == 1, proc, 20)
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
