"""``salesforce.email_as`` on an org without Enhanced Email, through ``syncd.cli.main``.

``"EmailMessage"`` stops ``syncd sync`` and ``syncd run`` (daemon and ``--once``) with exit 2
naming the key and the fix, and ``syncd doctor`` fails its check; ``"auto"`` writes the mail as
a Task and doctor says why.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "explain"))

from explain_helpers import REP, SECRET_ENV, raw_message, start_org, write_config, write_mbox

from syncd.cli import main


@pytest.fixture
def plain_org(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    sb, *_ = start_org()
    sb.disable_enhanced_email()
    monkeypatch.setenv(SECRET_ENV, sb.client_secret)
    try:
        yield sb
    finally:
        sb.stop()


def test_emailmessage_without_enhanced_email_is_a_config_error_and_auto_writes_tasks(
    tmp_path: Path, plain_org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    mbox = tmp_path / "ana.mbox"
    write_mbox(mbox, [raw_message("alice@globex.com", REP, "<x1@globex.com>", "Hi")])
    strict = write_config(tmp_path, plain_org, mbox, email_as="EmailMessage")
    assert main(["setup", "salesforce", "-c", str(strict)]) == 0
    capsys.readouterr()

    assert main(["sync", "-c", str(strict)]) == 2
    err = capsys.readouterr().err
    assert "salesforce.email_as" in err and "Setup → Enhanced Email" in err
    assert plain_org.count("Task") == 0

    assert main(["doctor", "-c", str(strict)]) == 1
    out = capsys.readouterr().out
    assert "problem  salesforce: email written as" in out

    auto = write_config(tmp_path, plain_org, mbox, email_as="auto")
    assert main(["doctor", "-c", str(auto)]) == 0
    assert "each email is a Task: the org has no EmailMessage" in capsys.readouterr().out
    assert main(["sync", "-c", str(auto)]) == 0
    assert plain_org.count("Task") == 1


def test_run_refuses_emailmessage_without_enhanced_email_at_start(
    tmp_path: Path, plain_org: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    mbox = tmp_path / "ana.mbox"
    write_mbox(mbox, [raw_message("alice@globex.com", REP, "<x1@globex.com>", "Hi")])
    strict = write_config(tmp_path, plain_org, mbox, email_as="EmailMessage")
    assert main(["setup", "salesforce", "-c", str(strict)]) == 0
    capsys.readouterr()

    assert main(["run", "--once", "-c", str(strict)]) == 2
    err = capsys.readouterr().err
    assert "salesforce.email_as" in err and "Setup → Enhanced Email" in err
    assert "Traceback" not in err and "directory load failed" not in err

    # The daemon itself: it stops at start instead of staying not ready (it would otherwise
    # run until a signal). Its signal handlers are put back for the rest of the session.
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        assert main(["run", "-c", str(strict)]) == 2
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    err = capsys.readouterr().err
    assert "salesforce.email_as" in err and "Setup → Enhanced Email" in err
    assert "Traceback" not in err
    assert plain_org.count("Task") == 0  # the org has no EmailMessage at all
