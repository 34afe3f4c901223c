"""The crash test's world: a seeded org in its own sandbox process, mbox files, a config.

Everything the test later checks is computed here, independently of syncd's pipeline: the
expected set of ``Syncd_Key__c`` values is the hash of each generated Message-ID through
``syncd.capture.keys.email_key``, minus the messages built to be skipped or left unmatched.

The sandbox runs in its own process (``python -m sandbox serve --seed DIR``) so that killing
syncd never loses what Salesforce holds; it is queried here with plain ``requests`` (its own
session, ``trust_env = False`` so REQUESTS_CA_BUNDLE cannot override the test CA).
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import requests

from sandbox.salesforce.values import make_id
from syncd.capture.keys import email_key

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
    key = email_key(message_id)
    assert key is not None
    return key


def write_config(path: Path, state_url: str, sb: dict[str, Any], world: World) -> None:
    """A syncd config: SQLite state, the sandbox org, one mbox connector per rep."""
    lines = [
        f'[state]\nurl = "{state_url}"\n',
        "[salesforce]",
        f'login_url = "{sb["url"]}"',
        'auth = "client_credentials"',
        f'client_id = "{sb["client_id"]}"',
        f'client_secret_env = "{SECRET_ENV}"',
        f'ca_bundle = "{sb["ca_bundle"]}"\n',
        "[capture]",
        f'internal_domains = ["{INTERNAL_DOMAIN}"]\n',
    ]
    for box in world.mailboxes:
        lines += [
            "[[connectors]]",
            'type = "mbox"',
            f'name = "{box.name}"',
            f'path = "{box.path}"',
            f'mailbox = "{box.owner}"\n',
        ]
    path.write_text("\n".join(lines))


class SandboxProcess:
    """``python -m sandbox serve --seed DIR`` in its own process, and a REST client of it."""

    def __init__(self, seed: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--seed", str(seed)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox did not start (exit {self.proc.wait(10)})")
        described = json.loads(line)
        self.info: dict[str, Any] = described["salesforce"] | {"ca_bundle": described["ca_bundle"]}
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = self.info["ca_bundle"]
        self._token: str | None = None

    def _auth(self) -> dict[str, str]:
        if self._token is None:
            reply = self.session.post(
                f"{self.info['url']}/services/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.info["client_id"],
                    "client_secret": self.info["client_secret"],
                },
                timeout=10,
            )
            reply.raise_for_status()
            self._token = reply.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def query(self, soql: str) -> tuple[int, list[dict[str, Any]]]:
        """Run SOQL, following every page; return (totalSize, records)."""
        base = f"{self.info['url']}/services/data/v{self.info['api_version']}"
        reply = self.session.get(
            f"{base}/query", params={"q": soql}, headers=self._auth(), timeout=30
        )
        reply.raise_for_status()
        page = reply.json()
        records = list(page["records"])
        total = int(page["totalSize"])
        while not page.get("done", True):
            reply = self.session.get(
                f"{self.info['url']}{page['nextRecordsUrl']}", headers=self._auth(), timeout=30
            )
            reply.raise_for_status()
            page = reply.json()
            records.extend(page["records"])
        return total, records

    def task_count(self) -> int:
        """``SELECT COUNT() FROM Task``."""
        return self.query("SELECT COUNT() FROM Task")[0]

    def tasks(self) -> list[tuple[str, str]]:
        """Every Task as (``Syncd_Key__c``, Id), duplicates kept."""
        records = self.query("SELECT Id, Syncd_Key__c FROM Task")[1]
        return [(r["Syncd_Key__c"], r["Id"]) for r in records]

    def touched_since(self, when: datetime) -> set[str]:
        """Keys of Tasks created or updated (an upsert replay updates) at or after ``when``."""
        stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # A formatted timestamp, not outside input: nothing to inject.
        soql = f"SELECT Syncd_Key__c FROM Task WHERE LastModifiedDate >= {stamp}"  # noqa: S608
        return {r["Syncd_Key__c"] for r in self.query(soql)[1]}

    def stop(self) -> None:
        """SIGTERM, then wait (it exits 0 on SIGTERM)."""
        self.session.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def syncd_env(secret: str) -> dict[str, str]:
    """The environment for a syncd subprocess: ours, plus the client secret by name."""
    return os.environ | {SECRET_ENV: secret}


def syncd_command(*args: str) -> list[str]:
    """``python -m syncd.cli ARGS`` with this interpreter."""
    return [sys.executable, "-m", "syncd.cli", *args]
