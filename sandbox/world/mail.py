"""The demo world's mailboxes: plausible mail between reps, contacts, leads and strangers.

Each message is delivered to the mailbox of every rep among its participants, so a thread
with a colleague on cc sits in several mailboxes under the same Message-ID, as it would in a
real company. Every message carries the category it was made for; the counts per category are
what a capture pass over the mailboxes should report (see :class:`MailLedger`).

Categories: ``customer`` (threads with contacts), ``lead`` (threads with unconverted leads),
``internal`` (only colleagues), ``newsletter`` (List-Unsubscribe/List-Id), ``automated``
(no-reply senders, Auto-Submitted), ``role`` (info@ at a customer), ``personal`` (free-mail
senders who are not contacts) and ``unknown`` (people at companies the org does not know).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from email.policy import compat32
from email.utils import format_datetime, formataddr
from pathlib import Path

from sandbox.world import names
from sandbox.world.org import Account, Org, Person

_FROM_LINE = re.compile(rb"(?m)^(>*From )")


@dataclass
class MailLedger:
    """Which message went where: the expected counts of the world's mail."""

    delivered: Counter[str] = field(default_factory=Counter)
    distinct: Counter[str] = field(default_factory=Counter)
    #: Message-ID → the mailboxes holding it.
    copies: dict[str, list[str]] = field(default_factory=dict)
    threads: Counter[str] = field(default_factory=Counter)
    #: Message-ID → the category it was made for.
    category: dict[str, str] = field(default_factory=dict)

    @property
    def messages_delivered(self) -> int:
        """Messages across every mailbox (a message in three mailboxes counts three times)."""
        return sum(self.delivered.values())

    @property
    def shared_message_ids(self) -> list[str]:
        """Message-IDs present in more than one mailbox."""
        return sorted(mid for mid, boxes in self.copies.items() if len(boxes) > 1)


class MailWriter:
    """Builds messages and files them into the reps' mailboxes."""

    def __init__(self, rng: random.Random, now: datetime, reps: list[Person]) -> None:
        self.rng = rng
        self.now = now
        self.reps = {r.email: r for r in reps}
        self.boxes: dict[str, list[tuple[datetime, str, bytes]]] = {r.email: [] for r in reps}
        self.ledger = MailLedger()

    def _message_id(self, sender: Person) -> str:
        return f"<{self.rng.getrandbits(64):016x}.{self.rng.randrange(10**6)}@{_domain(sender)}>"

    def send(
        self,
        category: str,
        sender: Person,
        to: list[Person],
        when: datetime,
        subject: str,
        body: str,
        *,
        cc: Sequence[Person] = (),
        parent: Message | None = None,
        headers: dict[str, str] | None = None,
    ) -> Message:
        """Build one message and deliver it to every rep taking part."""
        # compat32 headers are plain strings: building ~300 messages stays cheap, and the
        # values are ASCII and already formatted, so nothing needs the modern header classes.
        msg = Message(policy=compat32)
        msg["From"] = formataddr((sender.name, sender.email))
        msg["To"] = ", ".join(formataddr((p.name, p.email)) for p in to)
        if cc:
            msg["Cc"] = ", ".join(formataddr((p.name, p.email)) for p in cc)
        msg["Subject"] = subject
        msg["Date"] = format_datetime(min(when, self.now - timedelta(minutes=5)))
        msg["Message-ID"] = self._message_id(sender)
        if parent is not None:
            refs = f"{parent.get('References', '')} {parent['Message-ID']}".strip()
            msg["In-Reply-To"] = parent["Message-ID"]
            msg["References"] = refs
        for name, value in (headers or {}).items():
            msg[name] = value
        msg["MIME-Version"] = "1.0"
        msg["Content-Type"] = 'text/plain; charset="utf-8"'
        msg["Content-Transfer-Encoding"] = "7bit"
        msg.set_payload(body)
        data = _FROM_LINE.sub(rb">\1", msg.as_bytes())
        boxes = sorted({p.email for p in (sender, *to, *cc) if p.email in self.reps})
        for box in boxes:
            self.boxes[box].append((when, sender.email, data))
        mid = msg["Message-ID"]
        self.ledger.copies[mid] = boxes
        self.ledger.category[mid] = category
        self.ledger.delivered[category] += len(boxes)
        self.ledger.distinct[category] += 1
        return msg

    def thread(
        self,
        category: str,
        rep: Person,
        other: list[Person],
        subject: str,
        opening: str,
        *,
        cc: Sequence[Person] = (),
        replies: int = 1,
        inbound_first: bool = False,
    ) -> None:
        """A thread of ``1 + replies`` messages alternating between ``rep`` and ``other``."""
        self.ledger.threads[category] += 1
        when = self.now - timedelta(days=self.rng.randrange(2, 60), hours=self.rng.randrange(24))
        parent: Message | None = None
        outbound = not inbound_first
        for n in range(1 + replies):
            sender, to = (rep, other) if outbound else (other[0], [rep, *other[1:]])
            body = opening if n == 0 else self.rng.choice(names.REPLIES)
            text = f"Hi {to[0].first},\n\n{body}\n\nBest,\n{sender.first}\n"
            prefix = "Re: " if n else ""
            parent = self.send(
                category, sender, to, when, prefix + subject, text, cc=cc, parent=parent
            )
            when += timedelta(hours=self.rng.randrange(1, 30))
            outbound = not outbound

    def write(self, directory: Path, only: set[str] | None = None) -> dict[str, Path]:
        """One mbox file per rep with mail (those in ``only`` when given), in date order.

        Returns mailbox → path.
        """
        paths: dict[str, Path] = {}
        for box, items in sorted(self.boxes.items()):
            if not items or (only is not None and box not in only):
                continue
            path = directory / f"{box.partition('@')[0]}.mbox"
            with path.open("wb") as fh:
                for when, sender, data in sorted(items, key=lambda i: (i[0], i[2])):
                    fh.write(f"From {sender} {when.strftime('%a %b %d %H:%M:%S %Y')}\n".encode())
                    fh.write(data.rstrip(b"\n") + b"\n\n")
            paths[box] = path
        return paths


def _domain(person: Person) -> str:
    return person.email.rpartition("@")[2]


def _stranger(rng: random.Random, domain: str) -> Person:
    first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
    return Person(first, last, f"{names.local_part(first, last)}@{domain}")


def build_mail(org: Org, rng: random.Random, now: datetime) -> MailWriter:
    """Every category of mail for every rep (see the module docstring)."""
    w = MailWriter(rng, now, org.reps)
    by_owner: dict[str, list[Account]] = {}
    for account in org.accounts:
        by_owner.setdefault(account.owner.email, []).append(account)
    for rep in org.reps:
        others = [r for r in org.reps if r is not rep]
        manager = org.managers[org.reps.index(rep) % len(org.managers)]
        for account in rng.sample(
            by_owner.get(rep.email, []), min(3, len(by_owner.get(rep.email, [])))
        ):
            contacts = rng.sample(account.contacts, 2)
            subject, opening = rng.choice(names.CUSTOMER_TOPICS)
            cc: list[Person] = []
            if rng.random() < 0.35:  # a colleague (solution engineer, say) on the thread
                cc.append(rng.choice(others))
            if rng.random() < 0.3:
                cc.append(contacts[1])
            w.thread(
                "customer",
                rep,
                [contacts[0]],
                subject.format(product=rng.choice(names.PRODUCTS).lower()),
                opening,
                cc=cc,
                replies=rng.randrange(1, 4),
                inbound_first=rng.random() < 0.3,
            )
        # Internal only: colleagues and the manager, never a customer.
        w.thread(
            "internal",
            rep,
            [rng.choice(others), manager],
            rng.choice(names.INTERNAL_TOPICS),
            "Can we go through the open deals before Friday?",
            replies=rng.randrange(0, 2),
        )
        for address, sender_name, subject in rng.sample(names.NEWSLETTERS, 2):
            sender = Person(sender_name, "", address)
            when = now - timedelta(days=rng.randrange(1, 50))
            w.send(
                "newsletter",
                sender,
                [rep],
                when,
                subject,
                "Read this week's issue online.\n",
                headers={
                    "List-Unsubscribe": f"<mailto:unsubscribe@{_domain(sender)}>",
                    "List-Id": f"<weekly.{_domain(sender)}>",
                },
            )
        address, subject = rng.choice(names.AUTOMATED)
        w.send(
            "automated",
            Person("Notifications", "", address),
            [rep],
            now - timedelta(days=rng.randrange(1, 50)),
            subject,
            "This message was sent automatically.\n",
            headers={"Auto-Submitted": "auto-generated"},
        )
    _strangers(w, org, rng, now)
    return w


def _strangers(w: MailWriter, org: Org, rng: random.Random, now: datetime) -> None:
    """Mail to leads, from role addresses, personal addresses and unknown companies."""
    for i, lead in enumerate(org.leads[::2]):
        rep = org.reps[(2 * i) % len(org.reps)]  # leads are owned round-robin
        w.thread(
            "lead",
            rep,
            [lead],
            "Introduction to Northwind",
            "Thanks for your interest in Northwind.",
        )
    for _ in range(6):
        account = org.accounts[rng.randrange(len(org.accounts))]
        sender = Person("Info", "", f"info@{account.domain}")
        when = now - timedelta(days=rng.randrange(1, 50))
        w.send(
            "role",
            sender,
            [account.owner],
            when,
            "Office closed for the holidays",
            "See you in January.\n",
        )
    for i in range(8):
        domain = names.PERSONAL_DOMAINS[i % len(names.PERSONAL_DOMAINS)]
        sender = _stranger(rng, domain)
        rep = org.reps[rng.randrange(len(org.reps))]
        w.thread(
            "personal",
            rep,
            [sender],
            "Quick question",
            "Are you hiring for the sales team?",
            replies=0,
            inbound_first=True,
        )
    for i in range(10):
        company = names.UNKNOWN_COMPANIES[i % len(names.UNKNOWN_COMPANIES)]
        sender = _stranger(rng, f"{names.slug(company)}.example")
        rep = org.reps[rng.randrange(len(org.reps))]
        w.thread(
            "unknown",
            rep,
            [sender],
            f"Partnership idea from {company}",
            "Would you be open to a short call?",
            replies=0,
            inbound_first=True,
        )
