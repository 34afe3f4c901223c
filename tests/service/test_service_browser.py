"""The status page in headless Chromium, with real data from a demo run; no secrets, no content.

The demo's world (20 reps on Google, Microsoft, mbox and phone connectors, a seeded org) is
captured and the rules run, exactly as ``syncd demo`` does; then the daemon's web app serves
the page from that state store and Debian's ``chromium --headless --no-sandbox`` renders it.
The rendered DOM must list every (connector, mailbox) unit with its state, the unmatched and
dead-letter totals and the open flags the rules raised, and must not contain any configured
secret, any message subject or any external participant's address. Skips visibly when Chromium
is not installed (``.ci/run`` installs it). The screenshot is kept in
``tests/artifacts/status.png``.
"""

from __future__ import annotations

import mailbox
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sandbox.world.emulators import DemoEmulators
from syncd.app import App, check_config
from syncd.demo.run import run_world
from syncd.service.scheduler import Service
from syncd.service.web import WebServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1400,2600",
]  # fmt: skip


def render(chromium: str, url: str, profile: Path, shot: Path) -> str:
    """The DOM Chromium built for ``url``, and a screenshot of it."""
    flags = [*FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", url],
        capture_output=True, text=True, timeout=90, check=True,
    ).stdout  # fmt: skip
    subprocess.run(
        [chromium, *flags, f"--screenshot={shot}", url], capture_output=True, timeout=90, check=True
    )
    return dom


def subjects(mail_dir: Path) -> set[str]:
    """Every subject in the demo's mbox mailboxes."""
    found: set[str] = set()
    for path in mail_dir.rglob("*.mbox"):
        box = mailbox.mbox(path)
        found.update(str(m["Subject"]) for m in box if m["Subject"])
        box.close()
    return found


def test_status_page_renders_a_demo_run_in_chromium(tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    emulators = DemoEmulators()
    with emulators:
        _world, summary = run_world(emulators, tmp_path)
        secrets = emulators.redact()
        contacts = {
            r["Email"].lower()
            for name in ("Contact", "Lead")
            for r in emulators.salesforce.records(name)
            if r.get("Email")
        }
        config, _ = check_config(tmp_path / "syncd.toml")
        with App(config) as app:
            status = app.store.status()
            open_flags = app.store.flags.list_open()
            service = Service(app, listen="")
            assert service.load_directory()  # as the daemon does on start: ready
            web = WebServer(service.web_app, "127.0.0.1:0").start()
            try:
                ARTIFACTS.mkdir(exist_ok=True)
                shot = ARTIFACTS / "status.png"
                dom = render(chromium, f"{web.url}/", tmp_path / "chrome", shot)
            finally:
                web.stop()

    assert "syncd status" in dom
    assert "· ready ·" in " ".join(dom.split()) and "not ready" not in dom
    units = re.search(r'<table id="units">(.*?)</table>', dom, re.S)
    assert units is not None
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td><span class=\"state (\w+)\"", units[1])
    assert len(rows) == len(status.units) >= 20
    assert {(c, m) for c, m, _ in rows} == {(u.connector, u.mailbox) for u in status.units}
    assert {s for _, _, s in rows} == {"ok"}  # a fresh demo run: every unit synced just now
    assert f'id="unmatched">unmatched: <b>{summary["unmatched"]}</b>' in dom
    assert f"open dead letters: <b>{summary['dead_letters']}</b>" in dom
    assert summary["rules"]["flags"] == len(open_flags) > 0
    flag_rows = re.findall(r"<tr><td>(\w+)</td><td>(006\w+)</td><td>(\w+)</td>", dom)
    assert len(flag_rows) == min(50, len(open_flags))
    assert {r for r, _, _ in flag_rows} <= {f.rule for f in open_flags}
    assert {s for _, _, s in flag_rows} <= {"info", "warning", "critical"}  # words, not levels

    assert secrets and not [s for s in secrets if s in dom]
    texts = subjects(tmp_path / "mail")
    assert texts and not [s for s in texts if s in dom]
    lowered = dom.lower()
    assert contacts and not [a for a in contacts if a in lowered]
    assert shot.stat().st_size > 1000
