"""The status page in headless Chromium, from a real pass against the sandbox; no secrets shown.

Skips visibly when Debian's ``chromium`` is not installed. The screenshot is kept in
``tests/artifacts/status.png``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from service_helpers import SECRET_ENV, assert_nothing_private, start_org

from syncd.app import App
from syncd.config import check_config
from syncd.service.scheduler import Service
from syncd.service.web import WebServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def test_status_page_renders_in_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    org = start_org(tmp_path)
    monkeypatch.setenv(SECRET_ENV, org.sb.client_secret)
    config, _ = check_config(org.config)
    with App(config) as app:
        service = Service(app, listen="")
        service.run_once()
        web = WebServer(service.web_app, "127.0.0.1:0").start()
        try:
            ARTIFACTS.mkdir(exist_ok=True)
            flags = [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", f"--user-data-dir={tmp_path / 'chrome'}",
                "--window-size=1280,900",
            ]  # fmt: skip
            dom = subprocess.run(
                [chromium, *flags, "--dump-dom", f"{web.url}/"],
                capture_output=True, text=True, timeout=90, check=True,
            ).stdout  # fmt: skip
            shot = ARTIFACTS / "status.png"
            subprocess.run(
                [chromium, *flags, f"--screenshot={shot}", f"{web.url}/"],
                capture_output=True, timeout=90, check=True,
            )  # fmt: skip
        finally:
            web.stop()
    org.sb.stop()
    assert "syncd status" in dom
    assert "archive" in dom and "ana@ourco.com" in dom
    assert 'class="state ok"' in dom
    assert 'id="unmatched">unmatched: <b>1</b>' in dom
    assert_nothing_private(dom, org.sb.client_secret)
    assert shot.stat().st_size > 1000
