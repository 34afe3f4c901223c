"""Helpers for the service tests: a sandbox org with one matched and one unmatched sender."""

from __future__ import annotations

import mailbox
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))

from sf_helpers import make_client, start_sandbox

from syncd.salesforce.setup import run_setup

SECRET_ENV = "SYNCD_TEST_SERVICE_SF_SECRET"
#: Content that must never reach an endpoint.
SUBJECTS = ("Confidential merger terms", "Private pricing for Globex")
PARTICIPANTS = ("alice@globex.com", "zoe@stranger.example")


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message(sender: str, to: str, mid: str, subject: str) -> EmailMessage:
    """An RFC 822 message from two days ago."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, to, subject, mid
    msg["Date"] = format_datetime(datetime.now(UTC) - timedelta(days=2))
    msg.set_content("body")
    return msg


def add_mail(path: Path, messages: list[EmailMessage]) -> None:
    """Append to an mbox file."""
    box = mailbox.mbox(path)
    for msg in messages:
        box.add(msg)
    box.flush()
    box.close()


@dataclass
class Org:
    """A started sandbox and a config file pointing at it."""

    sb: Any
    config: Path
    mbox: Path
    state: Path


def start_org(tmp_path: Path, *, interval: str = "2s", listen: str = "127.0.0.1:9464") -> Org:
    """Sandbox org (key field, one account, contact and user), an mbox, and syncd.toml."""
    sb = start_sandbox()
    client = make_client(sb)
    run_setup(client)
    client.close()
    (account,) = sb.insert("Account", [{"Name": "Globex", "Website": "globex.com"}])
    sb.insert("User", [{"Username": "ana@ourco.com", "Email": "ana@ourco.com", "LastName": "A"}])
    sb.insert("Contact", [{"LastName": "Alice", "Email": PARTICIPANTS[0], "AccountId": account}])
    mbox = tmp_path / "ana.mbox"
    add_mail(
        mbox,
        [
            message(PARTICIPANTS[0], "ana@ourco.com", "<1@globex.com>", SUBJECTS[0]),
            message(PARTICIPANTS[1], "ana@ourco.com", "<2@stranger.example>", SUBJECTS[1]),
        ],
    )
    state = tmp_path / "state.db"
    config = tmp_path / "syncd.toml"
    config.write_text(
        f"""
[state]
url = "sqlite:///{state}"

[service]
listen = "{listen}"

[salesforce]
login_url = "{sb.url}"
auth = "client_credentials"
client_id = "{sb.client_id}"
client_secret_env = "{SECRET_ENV}"
ca_bundle = "{sb.ca_bundle}"
email_as = "Task"

[capture]
internal_domains = ["ourco.com"]

[[connectors]]
type = "mbox"
name = "archive"
interval = "{interval}"
path = "{mbox}"
mailbox = "ana@ourco.com"
"""
    )
    return Org(sb, config, mbox, state)


def assert_nothing_private(body: str, secret: str) -> None:
    """No secret, no subject, no external participant address in ``body``."""
    assert secret not in body
    for subject in SUBJECTS:
        assert subject not in body
    for address in PARTICIPANTS:
        assert address not in body


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
    """Poll ``check`` (the daemon's own pace, not a fixed sleep) until true or ``limit``.

    The daemon must stay up meanwhile.
    """
    deadline = time.monotonic() + limit
    while not check():
        assert proc.poll() is None, f"syncd run exited ({proc.returncode}) waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # polling an external process, not a simulated delay


def start_daemon(org: Org, stderr: Any) -> subprocess.Popen[bytes]:
    """``syncd run -c <org's config>`` as a subprocess, its secret in the environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "syncd.cli", "run", "-c", str(org.config)],
        env=os.environ | {SECRET_ENV: org.sb.client_secret},
        stderr=stderr,
        stdout=subprocess.DEVNULL,
    )


def use_state_url(org: Org, url: str) -> None:
    """Point the org's config at another state store."""
    org.config.write_text(
        org.config.read_text().replace(f'url = "sqlite:///{org.state}"', f'url = "{url}"')
    )


class MovableClock:
    """Aware UTC time that moves only when told to (lease expiry without waiting)."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.current

    def advance(self, delta: timedelta) -> None:
        """Move the time on by ``delta``."""
        with self._lock:
            self.current += delta
