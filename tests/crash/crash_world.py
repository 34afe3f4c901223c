"""The crash test's world: a seeded org in its own sandbox process, mbox files, a config.

Everything the test later checks is computed here, independently of syncd's pipeline: the
expected set of ``Syncd_Key__c`` values is the hash of each generated Message-ID through
``syncd.capture.keys.message_key``, minus the messages built to be skipped or left unmatched.

The sandbox runs in its own process (``python -m sandbox serve --seed DIR``) so that killing
syncd never loses what Salesforce holds; it is queried here with plain ``requests`` (its own
session, ``trust_env = False`` so REQUESTS_CA_BUNDLE cannot override the test CA).

The ``syncd run`` chaos test (test_run_chaos.py) reuses the seed CSVs, the mail and the config,
with the sandbox in its own process's threads (it injects faults), plus what a running daemon
meets: call-log files dropped in a folder and mail appended while it runs.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

import sandbox.process
from sandbox.salesforce.values import make_id
from syncd.capture.keys import call_key, message_key

INTERNAL_DOMAIN = "ourco.example"
SECRET_ENV = "SYNCD_CRASH_SF_SECRET"
#: Seeded ids start far above the counter the sandbox uses for the records it makes itself.
_ID_BASE = 5_000_000


@dataclass
class Mailbox:
    """One mbox file of one rep, as the connector ``name`` imports it."""

    name: str
    owner: str
    path: Path
    messages: int = 0


@dataclass
class World:
    """What was generated, and what the org must hold once every pass has finished."""

    mailboxes: list[Mailbox]
    expected_keys: set[str]
    skipped: int
    unmatched_keys: set[str]
    shared_keys: set[str]
    total_messages: int
    reps: list[str] = field(default_factory=list)


def write_seed(folder: Path, rng: random.Random, *, reps: int, accounts: int) -> list[str]:
    """Write User, Account and Contact CSVs; return the contacts' addresses."""
    folder.mkdir(parents=True, exist_ok=True)
    users = [
        {"Username": f"rep{i}@{INTERNAL_DOMAIN}", "Email": f"rep{i}@{INTERNAL_DOMAIN}",
         "LastName": f"Rep{i}", "IsActive": "true"}
        for i in range(reps)
    ]  # fmt: skip
    account_rows = []
    contacts = []
    for i in range(accounts):
        account_id = make_id("001", _ID_BASE + i)
        account_rows.append({"Id": account_id, "Name": f"Account {i}", "Website": f"acct{i}.com"})
        for j in range(rng.randint(2, 5)):
            contacts.append(
                {
                    "LastName": f"Contact{i}-{j}",
                    "Email": f"c{j}@acct{i}.com",
                    "AccountId": account_id,
                }
            )
    _write_csv(folder / "User.csv", users)
    _write_csv(folder / "Account.csv", account_rows)
    _write_csv(folder / "Contact.csv", contacts)
    return [c["Email"] for c in contacts]


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _message(sender: str, to: str, mid: str, subject: str, when: datetime, extra: str) -> bytes:
    # Written by hand (not via mailbox.mbox) so 5,000 messages cost milliseconds.
    stamp = when.strftime("%a %b %d %H:%M:%S %Y")
    return (
        f"From {sender} {stamp}\n"
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nMessage-ID: {mid}\n"
        f"Date: {format_datetime(when)}\n{extra}"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nbody\n\n"
    ).encode()


def write_mail(
    folder: Path,
    rng: random.Random,
    contacts: list[str],
    *,
    reps: int,
    total: int,
    shared: int,
    bulk: int,
    strangers: int,
    now: datetime,
) -> World:
    """Write one mbox per rep, ``total`` messages in all.

    ``shared`` messages sit in two reps' files (one record each); ``bulk`` carry
    List-Unsubscribe (skipped as bulk mail); ``strangers`` come from personal-domain senders
    nobody knows (unmatched). Every other message is from a seeded contact to its rep.
    """
    boxes = [
        Mailbox(f"box{i}", f"rep{i}@{INTERNAL_DOMAIN}", folder / f"rep{i}.mbox")
        for i in range(reps)
    ]
    chunks: list[list[bytes]] = [[] for _ in boxes]
    expected: set[str] = set()
    unmatched: set[str] = set()
    shared_keys: set[str] = set()
    unique = total - shared
    kinds = ["bulk"] * bulk + ["stranger"] * strangers + ["contact"] * (unique - bulk - strangers)
    rng.shuffle(kinds)
    sharing = set(rng.sample([i for i, k in enumerate(kinds) if k == "contact"], shared))
    for n, kind in enumerate(kinds):
        mid = f"<crash-{n}-{rng.getrandbits(32):08x}@mail.example>"
        when = now - timedelta(days=1 + rng.random() * 20)
        box = rng.randrange(reps)
        owner = boxes[box].owner
        extra = ""
        if kind == "bulk":
            sender = f"news@acct{rng.randrange(10)}.com"
            extra = "List-Unsubscribe: <mailto:unsubscribe@list.example>\n"
        elif kind == "stranger":
            sender = f"stranger{n}@gmail.com"
            unmatched.add(_key(mid))
        else:
            sender = rng.choice(contacts)
            expected.add(_key(mid))
        chunks[box].append(_message(sender, owner, mid, f"Deal note {n}", when, extra))
        if n in sharing:
            shared_keys.add(_key(mid))
            other = (box + 1 + rng.randrange(reps - 1)) % reps
            to = f"{owner}, {boxes[other].owner}"
            chunks[other].append(_message(sender, to, mid, f"Deal note {n}", when, extra))
    for box, parts in zip(boxes, chunks, strict=True):
        box.path.write_bytes(b"".join(parts))
        box.messages = len(parts)
    return World(
        mailboxes=boxes,
        expected_keys=expected,
        skipped=bulk,
        unmatched_keys=unmatched,
        shared_keys=shared_keys,
        total_messages=sum(b.messages for b in boxes),
        reps=[b.owner for b in boxes],
    )


def _key(message_id: str) -> str:
    key = message_key(message_id)
    assert key is not None
    return key


def write_config(
    path: Path,
    state_url: str,
    sb: dict[str, Any],
    world: World,
    *,
    interval: str | None = None,
    email_as: str = "Task",
) -> None:
    """A syncd config: the state store, the sandbox org, one mbox connector per rep.

    ``interval``: each connector's ``interval`` (``syncd run``); unset, the default applies.
    ``email_as``: ``salesforce.email_as``, written always (these tests count email Tasks).
    """
    lines = [
        f'[state]\nurl = "{state_url}"\n',
        "[salesforce]",
        f'login_url = "{sb["url"]}"',
        'auth = "client_credentials"',
        f'client_id = "{sb["client_id"]}"',
        f'client_secret_env = "{SECRET_ENV}"',
        f'ca_bundle = "{sb["ca_bundle"]}"',
        f'email_as = "{email_as}"',
        "",
        "[capture]",
        f'internal_domains = ["{INTERNAL_DOMAIN}"]\n',
    ]
    for box in world.mailboxes:
        lines += [
            "[[connectors]]",
            'type = "mbox"',
            f'name = "{box.name}"',
            f'path = "{box.path}"',
            f'mailbox = "{box.owner}"',
            *([f'interval = "{interval}"'] if interval else []),
            "",
        ]
    path.write_text("\n".join(lines))


class SandboxProcess(sandbox.process.SandboxProcess):
    """The org in its own process (:mod:`sandbox.process`), and what the crash tests ask it."""

    def __init__(self, seed: Path) -> None:
        super().__init__(seed, timeout=10)

    def touched_since(self, when: datetime, sobject: str = "Task") -> set[str]:
        """Keys of records created or updated (an upsert replay updates) at or after ``when``."""
        stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # A formatted timestamp and a fixed object name, not outside input: nothing to inject.
        soql = f"SELECT Syncd_Key__c FROM {sobject} WHERE LastModifiedDate >= {stamp}"  # noqa: S608
        return {r["Syncd_Key__c"] for r in self.query(soql)[1]}

    def count(self, sobject: str) -> int:
        """``SELECT COUNT() FROM sobject``."""
        return self.query(f"SELECT COUNT() FROM {sobject}")[0]  # noqa: S608

    def keyed(self, sobject: str) -> list[tuple[str, str]]:
        """Every record of ``sobject`` as (``Syncd_Key__c``, Id), duplicates kept."""
        records = self.query(f"SELECT Id, Syncd_Key__c FROM {sobject}")[1]  # noqa: S608
        return [(r["Syncd_Key__c"], r["Id"]) for r in records]

    def ever_updated(self, sobject: str) -> int:
        """Records of ``sobject`` changed after their creation (LastModifiedDate moved)."""
        rows = self.query(f"SELECT CreatedDate, LastModifiedDate FROM {sobject}")[1]  # noqa: S608
        return sum(1 for r in rows if r["CreatedDate"] != r["LastModifiedDate"])


def syncd_env(secret: str) -> dict[str, str]:
    """The environment for a syncd subprocess: ours, plus the client secret by name."""
    return os.environ | {SECRET_ENV: secret}


def syncd_command(*args: str) -> list[str]:
    """``python -m syncd.cli ARGS`` with this interpreter."""
    return [sys.executable, "-m", "syncd.cli", *args]


# -- calls (``call_files``) and mail delivered while a daemon runs (the ``syncd run`` chaos test)

CALL_PROVIDER = "pbx"
#: The call-log columns, named as ``[connectors.columns]`` maps them.
CALL_COLUMNS = {
    "call_id": "ID", "started_at": "Start", "duration_seconds": "Secs", "direction": "Dir",
    "from": "From", "to": "To", "user_address": "Agent", "disposition": "Result",
}  # fmt: skip
_OUR_LINE = "+1 415 555 0100"


def phone_contacts(accounts: int) -> list[dict[str, str]]:
    """One Contact with a phone per seeded account (``+1 512 757 6000 + i``), for the calls."""
    return [
        {
            "LastName": f"Caller{i}",
            "Phone": f"+1 512 757 {6000 + i:04d}",
            "AccountId": make_id("001", _ID_BASE + i),
        }
        for i in range(accounts)
    ]


@dataclass
class CallLog:
    """Call-log files dropped in a folder, and the keys they must produce."""

    folder: Path
    expected_keys: set[str] = field(default_factory=set)
    unmatched_keys: set[str] = field(default_factory=set)
    files: int = 0
    calls: int = 0


def write_call_file(
    log: CallLog,
    rng: random.Random,
    phones: list[str],
    reps: list[str],
    *,
    calls: int,
    strangers: int,
    now: datetime,
) -> Path:
    """Drop one CSV of ``calls`` calls into ``log.folder``, ``strangers`` of them to numbers
    nobody has (unmatched), the rest to ``phones``; written aside and renamed in, so the
    connector never reads half a file."""
    first = log.calls
    strange = set(rng.sample(range(first, first + calls), strangers))
    lines = []
    for n in range(first, first + calls):
        ident = f"call-{n}-{rng.getrandbits(24):06x}"
        if n in strange:
            other = f"+1 646 555 {n % 10_000:04d}"
            log.unmatched_keys.add(call_key(CALL_PROVIDER, ident))
        else:
            other = rng.choice(phones)
            log.expected_keys.add(call_key(CALL_PROVIDER, ident))
        when = now - timedelta(days=1 + rng.random() * 20)
        lines.append(
            {
                "ID": ident, "Start": when.isoformat(), "Secs": str(rng.randint(20, 900)),
                "Dir": "outbound", "From": _OUR_LINE, "To": other, "Agent": rng.choice(reps),
                "Result": "connected",
            }
        )  # fmt: skip
    log.calls += calls
    path = log.folder / f"calls-{log.files:04d}.csv"
    log.files += 1
    aside = path.with_suffix(".part")
    _write_csv(aside, lines)
    aside.replace(path)
    return path


def call_connector_toml(log: CallLog, *, name: str = "pbx", interval: str | None = None) -> str:
    """The ``[[connectors]]`` table of a ``call_files`` connector reading ``log.folder``."""
    lines = [
        "[[connectors]]",
        'type = "call_files"',
        f'name = "{name}"',
        f'path = "{log.folder}"',
        f'provider = "{CALL_PROVIDER}"',
        *([f'interval = "{interval}"'] if interval else []),
        "",
        "[connectors.columns]",
        *(f'{ours} = "{theirs}"' for ours, theirs in CALL_COLUMNS.items()),
        "",
    ]
    return "\n".join(lines)


def mbox_messages(data: bytes) -> list[bytes]:
    """An mbox file's messages, each from its ``From `` line (as :func:`write_mail` writes)."""
    starts = [m.start() for m in re.finditer(rb"^From ", data, re.MULTILINE)]
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]


def append_mbox(path: Path, messages: list[bytes]) -> None:
    """Append whole messages to an mbox: a copy with them is renamed over the file, so a
    reader sees the old file or the new one, never a message half written."""
    aside = path.with_suffix(".part")
    aside.write_bytes(path.read_bytes() + b"".join(messages))
    aside.replace(path)


# -- the state store, read by the crash tests (shared by test_crash_sigkill and test_run_chaos)

PG_ENV = "SYNCD_TEST_POSTGRES_URL"


def ledger_keys(db: Engine) -> set[str]:
    """Ledger keys as the store holds them, read without migrating it (it may be half-made)."""
    try:
        with db.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT key FROM ledger"))}
    except DBAPIError:  # the kill came before the schema existed
        return set()


def ledger_rows(db: Engine) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The ledger as key → Salesforce id, and its sightings as (key, connector)."""
    with db.connect() as conn:
        ledger = {k: i for k, i in conn.execute(text("SELECT key, salesforce_id FROM ledger"))}
        sightings = conn.execute(text("SELECT key, connector FROM ledger_sightings"))
        return ledger, [(k, c) for k, c in sightings]


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """A state URL on a fresh schema of ``SYNCD_TEST_POSTGRES_URL`` (dropped after), or skip.

    A schema of its own (search_path in the URL), so parallel runs never share rows.
    """
    raw = os.environ.get(PG_ENV)
    if not raw:
        pytest.skip(f"the PostgreSQL crash test needs {PG_ENV}")
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(raw, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(raw).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def syncd_status(config: Path, env: dict[str, str]) -> dict[str, Any]:
    """``syncd status --json`` of ``config``, parsed."""
    status = subprocess.run(
        syncd_command("status", "-c", str(config), "--json"),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report: dict[str, Any] = json.loads(status.stdout)
    return report
