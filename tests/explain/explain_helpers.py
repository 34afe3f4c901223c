"""Shared set-up for the explain and backfill CLI tests: a sandbox org and config files."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "salesforce"))

from sf_helpers import start_sandbox

SECRET_ENV = "SYNCD_TEST_EXPLAIN_SF_SECRET"
REP = "ana@ourco.com"


def raw_message(
    sender: str,
    to: str,
    mid: str,
    subject: str,
    *,
    age_days: float = 2,
    extra: str = "",
    body: str = "hello",
) -> str:
    """One RFC 822 message as text (headers, blank line, body)."""
    when = format_datetime(datetime.now(UTC) - timedelta(days=age_days))
    return (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nMessage-ID: {mid}\nDate: {when}\n"
        f"{extra}\n{body}\n"
    )


def write_mbox(path: Path, messages: list[str]) -> None:
    """An mbox file holding ``messages`` (each gets a ``From `` separator line)."""
    with path.open("w", encoding="utf-8") as handle:
        for text in messages:
            handle.write("From sender@example.com Mon Jan  1 00:00:00 2024\n")
            handle.write(text)
            handle.write("\n")


def start_org() -> tuple[Any, str, str, str]:
    """A sandbox with one rep (User), one Account and its Contact; returns (sb, ids…)."""
    sb = start_sandbox()
    (account,) = sb.insert("Account", [{"Name": "Globex", "Website": "globex.com"}])
    (user,) = sb.insert("User", [{"Username": REP, "Email": REP, "LastName": "A"}])
    (contact,) = sb.insert(
        "Contact", [{"LastName": "Alice", "Email": "alice@globex.com", "AccountId": account}]
    )
    return sb, account, user, contact


def write_config(
    tmp_path: Path,
    sb: Any | None,
    mbox: Path,
    *,
    backfill_days: int = 90,
    body: bool = False,
    email_as: str = "Task",
) -> Path:
    """A syncd.toml with an mbox connector; ``sb`` None means no [salesforce] table."""
    salesforce = ""
    if sb is not None:
        salesforce = f"""
[salesforce]
login_url = "{sb.url}"
auth = "client_credentials"
client_id = "{sb.client_id}"
client_secret_env = "{SECRET_ENV}"
ca_bundle = "{sb.ca_bundle}"
email_as = "{email_as}"
"""
    config = tmp_path / "syncd.toml"
    config.write_text(
        f"""
[state]
url = "sqlite:///{tmp_path / "state.db"}"
{salesforce}
[capture]
internal_domains = ["ourco.com"]
backfill_days = {backfill_days}
capture_body = {"true" if body else "false"}

[[connectors]]
type = "mbox"
name = "archive"
path = "{mbox}"
mailbox = "{REP}"
"""
    )
    return config
