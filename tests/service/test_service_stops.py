"""Outages that stop work are said once when they start and once when they end.

In-process daemon rounds (``Service.capture_job``) against the sandbox org:

- Salesforce refuses the sign-in: five rounds log ONE error line with the fix and no
  traceback, raise one ops alert (``syncd_ops_alerts``), and the first good round logs one
  "recovered";
- the key field's grant is removed (field-level security): the round fails the unit without
  a dead letter, tries one unit only while stopped, and after ``setup`` the next round writes
  what waited;
- ``syncd run --once`` with a wrong secret exits non-zero in a few lines, no traceback;
- the web server's request log carries no ANSI colour codes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from service_helpers import SECRET_ENV, add_mail, free_port, message, start_org
from sf_helpers import make_client

from syncd.app import App, load_config
from syncd.salesforce.setup import run_setup
from syncd.service.scheduler import Service
from syncd.service.web import WebServer


def _stops(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The lines an operator sees about an outage starting (DEBUG ones are not)."""
    return [r for r in caplog.records if "stopped" in r.getMessage() and r.levelno > 10]


def test_a_refused_sign_in_is_logged_once_alerted_once_and_its_recovery_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    org = start_org(tmp_path, interval="1s")
    monkeypatch.setenv(SECRET_ENV, org.sb.client_secret)
    org.sb.faults.inject("oauth_error", times=100_000)
    caplog.set_level(logging.DEBUG)
    try:
        with App(load_config(org.config)) as app:
            service = Service(app, listen="")
            now = [0.0]
            service.outages.clock = lambda: now[0]
            signed_in_by_setup = org.sb.calls["oauth"]
            for _ in range(5):
                service.capture_job("archive")
                now[0] += 1.0
            # Paused, not hammered: tried at 0, 1 and 3 s (pauses of 1 s, then 2, then 4).
            assert org.sb.calls["oauth"] - signed_in_by_setup == 3
            now[0] += 600.0
            service.capture_job("archive")
            assert org.sb.calls["oauth"] - signed_in_by_setup == 4
            stops = _stops(caplog)
            assert len(stops) == 1 and stops[0].levelno == logging.ERROR
            assert "fix:" in stops[0].getMessage() and "doctor" in stops[0].getMessage()
            assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.INFO]
            assert service.outages.scopes() == ["salesforce"]
            alerts = service.metrics.ops_alerts.labels("salesforce", "LoginRefused")
            assert alerts._value.get() == 1
            assert org.sb.count("Task") == 0

            org.sb.faults.clear()
            now[0] += 600.0
            service.capture_job("archive")
            service.capture_job("archive")
            recovered = [r for r in caplog.records if r.getMessage() == "salesforce recovered"]
            assert len(recovered) == 1 and service.outages.scopes() == []
            assert org.sb.count("Task") == 1
    finally:
        org.sb.stop()


def test_writes_refused_by_field_level_security_wait_and_land_after_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    org = start_org(tmp_path, interval="1s")
    monkeypatch.setenv(SECRET_ENV, org.sb.client_secret)
    (assignment,) = [r for r in org.sb.records("PermissionSetAssignment") if not r["IsDeleted"]]
    org.sb.delete("PermissionSetAssignment", assignment["Id"])
    caplog.set_level(logging.DEBUG)
    try:
        with App(load_config(org.config)) as app:
            service = Service(app, listen="")
            now = [0.0]
            service.outages.clock = lambda: now[0]
            reports = []
            for _ in range(3):
                reports.append(service.capture_job("archive"))
                now[0] += 600.0  # past every pause: each round tries again
            assert all(r.failed == ["archive/ana@ourco.com"] for r in reports), reports
            stops = _stops(caplog)
            assert len(stops) == 1 and "syncd setup salesforce" in stops[0].getMessage()
            assert not [r for r in caplog.records if r.exc_info]
            assert app.store.dead_letters.list(limit=10) == []
            assert org.sb.count("Task") == 0

            run_setup(make_client(org.sb))
            add_mail(org.mbox, [message("alice@globex.com", "ana@ourco.com", "<3@g>", "Later")])
            report = service.capture_job("archive")
            assert report.done == ["archive/ana@ourco.com"] and not report.failed
            assert org.sb.count("Task") == 2
            assert service.outages.scopes() == []
    finally:
        org.sb.stop()


def test_run_once_with_a_wrong_secret_exits_non_zero_in_a_few_lines(tmp_path: Path) -> None:
    org = start_org(tmp_path, interval="1s", listen=f"127.0.0.1:{free_port()}")
    try:
        env_secret = "wrong-" + "x" * 20
        proc = subprocess.run(
            [sys.executable, "-m", "syncd.cli", "run", "--once", "-c", str(org.config)],
            env={**os.environ, SECRET_ENV: env_secret},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        org.sb.stop()
    logs = proc.stdout + proc.stderr
    assert proc.returncode == 1, logs[-2000:]
    assert "Traceback" not in logs and env_secret not in logs
    assert len(logs.splitlines()) < 15, logs


def test_the_request_log_has_no_colour_codes(caplog: pytest.LogCaptureFixture) -> None:
    def app(_environ: dict[str, object], start_response: object) -> list[bytes]:
        start_response("404 NOT FOUND", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return [b"no"]

    caplog.set_level(logging.DEBUG, logger="syncd.service.web")
    server = WebServer(app, "127.0.0.1:0").start()
    try:
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{server.url}/nothing?token=abc", timeout=10)  # noqa: S310
    finally:
        server.stop()
    lines = [r.getMessage() for r in caplog.records if "/nothing" in r.getMessage()]
    assert lines == ["GET /nothing 404"]
    assert not any("\x1b[" in r.getMessage() for r in caplog.records)
