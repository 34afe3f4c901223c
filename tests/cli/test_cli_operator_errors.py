"""Operator mistakes and operational failures: one line with the cause and the fix, no trace.

- an empty config fails ``check-config`` for what run/sync need, and ``sync``/``run --once``
  on it exit 2 before creating a state file;
- ``status`` reads the local store without any secret in the environment;
- a Google token file readable by others fails ``check-config`` (as it would fail ``sync``);
- warnings stay beside errors, and problems come in file order;
- a store that refuses writes (full disk) ends ``sync`` with one line and exit 1; the traceback
  only with ``--debug``.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from service_helpers import SECRET_ENV, start_org

from syncd.cli import main


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syncd.toml"
    path.write_text(text)
    return path


def test_an_empty_config_fails_check_config_and_creates_no_state_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    empty = write(tmp_path, "")
    assert main(["check-config", "-c", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "salesforce: missing" in err and "connectors: no enabled" in err
    for command in (["sync"], ["run", "--once"], ["backfill", "--since", "2026-01-01"]):
        assert main([*command, "-c", str(empty)]) == 2
        assert "2 configuration problems" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [empty]  # no ./syncd.db, no lock file


def test_status_reads_the_store_without_any_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SYNCD_TEST_UNSET_SECRET", raising=False)
    config = write(
        tmp_path,
        f'[state]\nurl = "sqlite:///{tmp_path / "s.db"}"\n\n[salesforce]\n'
        'login_url = "https://acme.my.salesforce.com"\nauth = "client_credentials"\n'
        'client_id = "x"\nclient_secret_env = "SYNCD_TEST_UNSET_SECRET"\n',
    )
    assert main(["status", "-c", str(config), "--json"]) == 0
    for command in (["unmatched", "list"], ["deadletter", "list"]):
        assert main([*command, "-c", str(config), "--json"]) == 0
    assert main(["sync", "-c", str(config)]) == 2  # capturing does need it
    assert "SYNCD_TEST_UNSET_SECRET is not set" in capsys.readouterr().err


def test_token_files_warnings_and_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SYNCD_TEST_UNSET_SECRET", raising=False)
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    (tokens / "ana@ourco.com.json").write_text("{}")
    (tokens / "ana@ourco.com.json").chmod(0o644)
    config = write(
        tmp_path,
        '[salesforce]\nlogin_url = "https://a.my.salesforce.com"\n'
        f'ca_bundle = "{tmp_path / "none.pem"}"\nauth = "client_credentials"\nclient_id = "x"\n'
        'client_secret_env = "SYNCD_TEST_UNSET_SECRET"\n\n[service]\nlisten = "0.0.0.0:9464"\n\n'
        '[[connectors]]\ntype = "gmail"\nname = "g"\nmailboxes = ["ana@ourco.com"]\n'
        f'oauth_tokens_dir = "{tokens}"\n',
    )
    assert main(["check-config", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    order = [
        "salesforce.ca_bundle (line 3)",
        "salesforce.client_secret_env (line 6)",
        "connectors[0].oauth_tokens_dir (line 15)",
        "warnings:",
        "service.listen (line 9)",
    ]
    assert [err.index(what) for what in order] == sorted(err.index(what) for what in order), err
    assert "chmod 600" in err


def test_a_store_that_refuses_writes_ends_sync_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    org = start_org(tmp_path)
    monkeypatch.setenv(SECRET_ENV, org.sb.client_secret)
    try:
        assert main(["db", "upgrade", "-c", str(org.config)]) == 0
        with sqlite3.connect(org.state) as db:  # as a full disk does: every insert fails
            db.execute(
                "CREATE TRIGGER full BEFORE INSERT ON runs"
                " BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END"
            )
        capsys.readouterr()
        assert main(["sync", "-c", str(org.config)]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and errors[0].startswith("error: the state store's disk is full")
        assert main(["--debug", "sync", "-c", str(org.config)]) == 1
        assert "Traceback" in capsys.readouterr().err
    finally:
        org.sb.stop()
