"""``syncd run`` in a subprocess against a sandbox org: interval passes, endpoints, SIGTERM drain.

The daemon syncs an mbox mailbox on a 2-second interval (a message appended later is written by
a later pass), serves /healthz, /readyz, /metrics and / without secrets, subjects or participant
addresses, and on SIGTERM in the middle of a slow batch finishes that batch, commits it (the
ledger matches the org's Tasks exactly) and exits 0 well within 30 seconds. A later pass then
writes the rest, each message once.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from service_helpers import (
    SECRET_ENV,
    add_mail,
    assert_nothing_private,
    fetch,
    free_port,
    message,
    start_daemon,
    start_org,
    until,
)

from syncd.state import Store

log = logging.getLogger(__name__)

DRAIN_LIMIT = 30.0


def test_run_syncs_on_interval_serves_endpoints_and_drains_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    org = start_org(tmp_path, interval="2s", listen=f"127.0.0.1:{port}")
    sb, base = org.sb, f"http://127.0.0.1:{port}"
    env = os.environ | {SECRET_ENV: sb.client_secret}
    stderr = (tmp_path / "stderr.log").open("wb")
    proc = start_daemon(org, stderr)
    try:
        until("readiness", lambda: fetch(f"{base}/readyz")[0] == 200, proc, 20)
        until("the first pass", lambda: sb.count("Task") == 1, proc, 20)

        # a message arriving later is picked up by a later run of the interval job
        add_mail(org.mbox, [message("alice@globex.com", "ana@ourco.com", "<3@globex.com>", "Re")])
        until("the next interval's pass", lambda: sb.count("Task") == 2, proc, 15)

        status, health = fetch(f"{base}/healthz")
        assert (status, health.strip()) == (200, "ok")
        status, ready = fetch(f"{base}/readyz")
        assert status == 200 and json.loads(ready) == {"ready": True}
        status, metrics = fetch(f"{base}/metrics")
        assert status == 200
        assert (
            'syncd_outcomes_total{connector="archive",mailbox="ana@ourco.com",'
            'outcome="written"} 2.0' in metrics
        )
        assert "syncd_unmatched_items 1.0" in metrics
        assert 'syncd_activities_written_total{connector="archive",kind="email"} 2.0' in metrics
        assert 'syncd_passes_total{connector="archive",result="ok"}' in metrics
        assert "syncd_salesforce_api_remaining" in metrics
        status, page = fetch(f"{base}/")
        assert status == 200 and "archive" in page and 'class="state ok"' in page
        for body in (health, ready, metrics, page):
            assert_nothing_private(body, sb.client_secret)

        # SIGTERM while a slow batch is being written: it finishes and commits, then exit 0
        add_mail(
            org.mbox,
            [
                message("alice@globex.com", "ana@ourco.com", f"<d{i}@globex.com>", f"Drain {i}")
                for i in range(600)
            ],
        )
        sb.faults.inject("slow", path="composite/sobjects", times=100, seconds=0.4)
        until("a batch in flight", lambda: sb.count("Task") > 2, proc, 20)
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=DRAIN_LIMIT + 5)
        drained = time.monotonic() - began
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr.close()
    logs = (tmp_path / "stderr.log").read_text()
    assert rc == 0, logs[-2000:]
    assert drained < DRAIN_LIMIT
    log.info("drain took %.2f s", drained)
    assert "draining" in logs and "drained" in logs
    assert sb.client_secret not in logs

    # the batch in flight was committed: every Task written is in the ledger, no more, no less
    tasks = sb.count("Task")
    assert 2 < tasks < 602  # stopped between batches, not at the end
    with Store.open(f"sqlite:///{org.state}") as store:
        assert store.ledger.count() == tasks
        assert not store.leases.all() or all(x.holder is None for x in store.leases.all())

    # the rest comes on the next pass, each message once
    sb.faults.clear()
    done = subprocess.run(
        [sys.executable, "-m", "syncd.cli", "run", "--once", "-c", str(org.config)],
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert sb.count("Task") == 602
    keys = [t["Syncd_Key__c"] for t in sb.records("Task")]
    assert len(set(keys)) == len(keys)
    sb.stop()
