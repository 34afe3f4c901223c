"""The command line as an operator uses it: exit codes, messages, JSON output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from syncd import __version__
from syncd.cli import main
from syncd.demo.world import EXAMPLE_CONFIG, dummy_environment

ROOT = Path(__file__).resolve().parents[2]
SYNCD = [sys.executable, "-m", "syncd.cli"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syncd.toml"
    path.write_text(text)
    return path


def test_version_and_help_from_the_installed_entry_point() -> None:
    out = subprocess.run([*SYNCD, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"syncd {__version__}"
    help_text = subprocess.run(
        [*SYNCD, "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("check-config", "status", "db", "demo"):
        assert command in help_text


def test_check_config_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
[state]
url = "sqlite:///x.db"

[service]
log_format = "xml"

[salesforce]
auth = "client_credentials"
client_id = "abc"
client_secret = "inline-secret-value"

[[connectors]]
type = "gmial"
name = "mail"

[[connectors]]
type = "mbox"
name = "mem"
interval = "soon"
colour = "blue"
""",
    )
    proc = subprocess.run(
        [*SYNCD, "check-config", "-c", str(config)], capture_output=True, text=True
    )
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr
    for path in (
        "service.log_format",
        "salesforce.client_secret",
        "connectors[0].type",
        "connectors[1].interval",
        "connectors[1].colour",
    ):
        assert path in err, f"{path} missing from:\n{err}"
    assert "inline-secret-value" not in err + proc.stdout


def test_check_config_refuses_the_test_only_memory_connector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = '[[connectors]]\ntype = "memory"\nname = "mem"\n'
    text += '[[connectors]]\ntype = "mbx"\nname = "box"\n'
    assert main(["check-config", "-c", str(write(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    # The same error as a typo, which is answered with the closest production type.
    assert "connectors[0].type (line 2): unknown connector type 'memory' (known: " in err
    assert "connectors[1].type (line 5): unknown connector type 'mbx'; did you mean 'mbox'?" in err
    for line in err.splitlines():
        if "known: " in line:
            assert "memory" not in line.split("known: ", 1)[1]


def test_check_config_on_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    assert main(["check-config", "-c", str(tmp_path / "nope.toml")]) == 2


def test_example_config_passes_with_its_variables_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in dummy_environment(EXAMPLE_CONFIG).items():
        monkeypatch.setenv(name, value)
    assert main(["check-config", "-c", str(EXAMPLE_CONFIG)]) == 0


def test_db_upgrade_then_status_json_on_a_fresh_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "state.db"
    config = write(tmp_path, f'[state]\nurl = "sqlite:///{db}"\n')
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    assert db.exists()
    capsys.readouterr()
    assert main(["status", "-c", str(config), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["units"] == []
    assert status["unmatched_total"] == 0
    assert status["dead_letters_open"] == 0


def test_demo_prints_json_serves_the_slack_view_and_exits_0(tmp_path: Path) -> None:
    # Run from an empty directory: the demo must leave nothing behind in the caller's cwd.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    env["HOME"] = str(tmp_path / "home")
    proc = subprocess.Popen(
        [*SYNCD, "demo", "--json", "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()  # exactly one JSON object on stdout
        summary = json.loads(line)
        url = None
        for err_line in proc.stderr:
            if "http://127.0.0.1:" in err_line:
                url = err_line.split()[-1]
                break
        assert url is not None, "the demo did not say where the Slack view is"
        session = requests.Session()
        session.trust_env = False
        page = session.get(url, timeout=10)
        assert page.status_code == 200
        assert "Next step" in page.text
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert rest == ""
    written = summary["written"]
    assert min(written["email"], written["meeting"], written["call"]) > 0
    assert summary["dead_letters"] == 0
    assert summary["rules"]["alerts_sent"] > 0
    # every connector type the demo configures wrote or saw something
    assert len(summary["by_connector_type"]) == 6
    assert "@" not in line and "Re:" not in line  # counts only: no addresses, no subjects
    assert list(tmp_path.iterdir()) == []
