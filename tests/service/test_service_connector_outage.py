"""``syncd run`` when a tenant revokes the app's secret: the connector pauses, says so once.

The daemon (a subprocess) captures two Outlook mailboxes from the Graph sandbox (msal +
requests over loopback HTTPS) into the Salesforce sandbox. The admin rotates the app's client
secret (Entra answers ``invalid_client``, and every access token issued is dropped):

- one ERROR line with the fix, one ops alert (``syncd_ops_alerts{scope="outlook"}``), the
  ``syncd_outage`` gauge at 1, no traceback;
- the connector is paused: each retry (1 s, 2 s, 4 s …) asks for one token, not one per
  mailbox, and the alert is not raised again;
- the status page shows a banner naming the cause and the fix (also as headless Chromium
  renders it, when installed), both units "error", and ``syncd status --json`` carries the
  outage;
- the old secret works again: one INFO "recovered", the gauge at 0, the mail that came
  meanwhile is written, the banner is gone;
- an ApplicationAccessPolicy then leaves one mailbox out: only that unit stops (one ERROR line,
  one alert for ``outlook/<mailbox>``, its row "error", the other's "ok" and its mail written),
  and it resumes when the policy lets it in again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "graph"))

from graph_helpers import outlook_toml
from service_helpers import fetch, free_port, start_daemon, start_org, until
from test_service_browser import render

from sandbox.graph import GraphSandbox
from sandbox.graph.seed import add_message

GRAPH_ENV = "SYNCD_TEST_SERVICE_GRAPH_SECRET"
ANA, CAL = "ana@ourco.com", "cal@ourco.com"


def _mail(graph: GraphSandbox, rep: str, n: int) -> None:
    add_message(
        graph,
        rep,
        message_id=f"renewal-{n}-{rep}@globex.com",
        sender="alice@globex.com",
        to=[rep],
        subject="Renewal terms",
        received=datetime.now(UTC) - timedelta(days=1, minutes=n),
    )


def _metric(body: str, name: str, scope: str) -> float:
    found = re.search(rf'^{name}\{{[^}}]*scope="{re.escape(scope)}"[^}}]*\}} (\S+)$', body, re.M)
    return float(found.group(1)) if found else -1.0


def test_a_revoked_tenant_secret_pauses_the_connector_alerts_once_and_resumes(
    tmp_path: Path,
) -> None:
    port = free_port()
    org = start_org(tmp_path, interval="1s", listen=f"127.0.0.1:{port}")
    sb, web = org.sb, f"http://127.0.0.1:{port}"
    graph = GraphSandbox().start()
    sb.insert("User", [{"Username": CAL, "Email": CAL, "LastName": "C"}])
    for rep in (ANA, CAL):
        _mail(graph, rep, 0)
    # The mbox connector of the helper org stays; an Outlook connector with two mailboxes joins.
    org.config.write_text(
        org.config.read_text() + outlook_toml(graph, GRAPH_ENV, (ANA, CAL), interval="1s")
    )
    secret = graph.client_secret
    os.environ[GRAPH_ENV] = secret
    stderr = (tmp_path / "stderr.log").open("wb")
    proc = start_daemon(org, stderr)

    try:
        until("both mailboxes", lambda: sb.count("Task") >= 3, proc, 30)  # mbox 1 + outlook 2
        written = sb.count("Task")

        graph.client_secret = "rotated-by-the-admin"
        graph.expire_access_tokens()
        _mail(graph, ANA, 1)
        tokens = graph.requests["token"]

        def alerts() -> float:
            return _metric(fetch(f"{web}/metrics")[1], "syncd_ops_alerts_total", "outlook")

        until("the ops alert", lambda: alerts() == 1.0, proc, 20)
        # Paused, tried again after 1 s and 2 s: one token request each, never one per mailbox.
        until("two retries", lambda: graph.requests["token"] - tokens >= 3, proc, 20)
        assert alerts() == 1.0
        metrics = fetch(f"{web}/metrics")[1]
        assert _metric(metrics, "syncd_outage", "outlook") == 1.0
        status, page = fetch(f"{web}/")
        assert status == 200 and 'id="outages"' in page
        assert "outlook: the vendor refuses the connector&#x27;s credentials" in page
        assert "AuthExpired" in page and "Fix: check the credentials" in page
        for rep in (ANA, CAL):
            row = next(r for r in page.split("<tr>") if f"<td>{rep}</td>" in r and "outlook" in r)
            assert 'class="state error"' in row
        assert secret not in page and "rotated-by-the-admin" not in page
        chromium = shutil.which("chromium")
        if chromium is not None:  # the banner as a browser builds it (skipped without Chromium)
            dom = render(chromium, f"{web}/", tmp_path / "chrome", tmp_path / "outage.png")
            banner = re.search(r'<div id="outages" role="alert">(.*?)</div>', dom, re.S)
            assert banner is not None and "outlook: the vendor refuses" in banner[1]
            assert (tmp_path / "outage.png").stat().st_size > 1000
        out = subprocess.run(
            [sys.executable, "-m", "syncd.cli", "status", "-c", str(org.config), "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        outages = json.loads(out)["outages"]
        # The store knows the units whose pass was refused (status runs in its own process).
        assert {(o["scope"].partition("/")[0], o["error_class"]) for o in outages} == {
            ("outlook", "AuthExpired")
        }
        assert sb.count("Task") == written

        graph.client_secret = secret  # the admin puts the secret back
        until("the waiting mail", lambda: sb.count("Task") == written + 1, proc, 30)
        until(
            "the gauge",
            lambda: _metric(fetch(f"{web}/metrics")[1], "syncd_outage", "outlook") == 0.0,
            proc,
            10,
        )
        assert 'id="outages"' not in fetch(f"{web}/")[1]

        # An access policy leaves one mailbox out: only that unit waits, the other goes on.
        graph.deny_access(CAL)
        for rep in (ANA, CAL):
            _mail(graph, rep, 2)
        cal = f"outlook/{CAL}"
        until("the other mailbox's mail", lambda: sb.count("Task") == written + 2, proc, 30)
        until(
            "the mailbox's alert",
            lambda: _metric(fetch(f"{web}/metrics")[1], "syncd_ops_alerts_total", cal) == 1.0,
            proc,
            20,
        )
        page = fetch(f"{web}/")[1]
        assert "outlook: the vendor refuses the app this mailbox" in page
        rows = {
            rep: next(r for r in page.split("<tr>") if f"<td>{rep}</td>" in r and "outlook" in r)
            for rep in (ANA, CAL)
        }
        assert 'class="state error"' in rows[CAL] and 'class="state ok"' in rows[ANA]
        graph.access_denied.clear()  # the admin adds it to the policy's group
        until("the mailbox's waiting mail", lambda: sb.count("Task") == written + 3, proc, 30)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=35)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr.close()
        graph.stop()
        sb.stop()
        os.environ.pop(GRAPH_ENV, None)
    logs = (tmp_path / "stderr.log").read_text()
    assert rc == 0, logs[-3000:]
    stopped = [line for line in logs.splitlines() if "outlook stopped:" in line]
    assert len(stopped) == 1 and "ERROR" in stopped[0] and "fix:" in stopped[0], stopped
    assert "invalid_client" in stopped[0]
    assert len([line for line in logs.splitlines() if "outlook recovered" in line]) == 1
    denied = [line for line in logs.splitlines() if f"outlook/{CAL} stopped:" in line]
    assert len(denied) == 1 and "ApplicationAccessPolicy" in denied[0], denied
    assert len([line for line in logs.splitlines() if f"outlook/{CAL} recovered" in line]) == 1
    assert "Traceback" not in logs
    assert secret not in logs and sb.client_secret not in logs
