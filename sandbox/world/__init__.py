"""A seeded demo world: a Salesforce org in the sandbox, reps' mailboxes and calendars.

``build_world(sandbox, directory, seed=7)`` inserts Northwind's org (reps and managers as
Users, accounts with websites, contacts, leads, open and closed opportunities with contact
roles and history) into a :class:`~sandbox.salesforce.SalesforceSandbox`, writes one mbox file
per rep into ``directory`` and returns the calendar feed and the counts a capture pass over it
should produce. The same seed gives the same world (dates follow ``now``).

With ``google=`` and ``graph=`` emulators the reps are split between providers (see
:mod:`sandbox.world.providers`): their mail and meetings are filed there instead, and only the
mbox reps get a file; with ``phone=`` (a dialer emulator) the reps also call the contacts
that have a phone number. The expected counts are the same whichever provider holds an item.

Modules: ``org`` (Salesforce records), ``mail`` (mbox threads), ``meetings`` (calendar
events), ``providers`` (filing into the emulators), ``names`` (word lists).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.world.mail import build_mail
from sandbox.world.meetings import build_meetings
from sandbox.world.org import build_org
from sandbox.world.providers import MBOX, assign_providers, file_world

#: The demo company's own mail domain.
DOMAIN = "northwind.example"

#: Mail categories that become Tasks, and those a capture pass leaves unmatched.
WRITTEN_MAIL = ("customer", "lead")
UNMATCHED_MAIL = ("personal", "unknown")
#: Mail and meeting category → the skip reason the privacy filter gives it.
SKIP_REASONS = {
    "internal": "internal_only",
    "newsletter": "bulk_mail",
    "automated": "automated",
    "role": "role_sender",
}


@dataclass(frozen=True)
class World:
    """What :func:`build_world` made, and what capturing it should produce."""

    directory: Path
    domain: str
    #: Rep mailbox address → its mbox file.
    mailboxes: dict[str, Path]
    #: Rep mailbox address → calendar events (neutral dicts) for a MemoryConnector.
    meetings: dict[str, list[dict[str, Any]]]
    #: Records inserted into the org, by kind.
    org: dict[str, int]
    #: Expected counts (see :meth:`expected`).
    mail_delivered: dict[str, int]
    mail_distinct: dict[str, int]
    #: Message-IDs in more than one mailbox, and every Message-ID's category.
    shared_message_ids: tuple[str, ...]
    message_category: dict[str, str]
    meetings_delivered: dict[str, int]
    meetings_distinct: dict[str, int]
    #: Rep → mail provider (google, microsoft, mbox); empty when every rep is on mbox.
    providers: dict[str, str] = field(default_factory=dict)
    #: Provider → reps, messages and events filed there.
    provider_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Message-ID → the rep mailboxes holding it.
    mail_copies: dict[str, list[str]] = field(default_factory=dict)
    #: Calls seeded into the phone system (0 without one).
    calls: int = 0

    @property
    def messages_delivered(self) -> int:
        """Messages across every mailbox, each copy counted."""
        return sum(self.mail_delivered.values())

    def shared_written_ids(self) -> list[str]:
        """Message-IDs in several mailboxes that should each become exactly one Task."""
        return [m for m in self.shared_message_ids if self.message_category[m] in WRITTEN_MAIL]

    def expected(self) -> dict[str, Any]:
        """The outcome counts one capture pass over the world should report."""
        skipped = {
            reason: self.mail_delivered.get(category, 0)
            for category, reason in SKIP_REASONS.items()
        }
        skipped["no_external_attendee"] = self.meetings_delivered.get("internal", 0)
        skipped["private_event"] = self.meetings_delivered.get("private", 0)
        skipped["declined"] = self.meetings_delivered.get("declined_copy", 0)
        emails = sum(self.mail_distinct.get(c, 0) for c in WRITTEN_MAIL)
        meetings = self.meetings_distinct.get("customer", 0) + self.meetings_distinct.get(
            "declined", 0
        )
        meeting_copies = self.meetings_delivered.get("customer", 0) + self.meetings_delivered.get(
            "declined", 0
        )
        return {
            "written": {"email": emails, "meeting": meetings},
            "already_written": {
                "email": sum(self.mail_delivered.get(c, 0) for c in WRITTEN_MAIL) - emails,
                "meeting": meeting_copies
                - self.meetings_delivered.get("declined_copy", 0)
                - meetings,
            },
            "unmatched": sum(self.mail_delivered.get(c, 0) for c in UNMATCHED_MAIL),
            "skipped": {k: v for k, v in skipped.items() if v},
        }

    def summary(self) -> dict[str, Any]:
        """Counts only (no addresses): the org, the mail and the meetings."""
        return {
            "org": dict(self.org),
            # Every rep's mailbox, whichever provider holds it (mbox files alone otherwise).
            "mailboxes": len(self.providers) or len(self.mailboxes),
            "messages_delivered": self.messages_delivered,
            "messages_distinct": sum(self.mail_distinct.values()),
            "messages_in_several_mailboxes": len(self.shared_message_ids),
            "mail_by_category": dict(self.mail_delivered),
            "calendars": len(self.meetings),
            "meeting_copies": sum(len(v) for v in self.meetings.values()),
            "meetings_distinct": sum(self.meetings_distinct.values()),
            "providers": {p: dict(c) for p, c in sorted(self.provider_counts.items())},
            "calls": self.calls,
        }


def build_world(
    sandbox: Any,
    directory: Path,
    *,
    seed: int = 7,
    now: datetime | None = None,
    google: Any = None,
    graph: Any = None,
    phone: Any = None,
) -> World:
    """Fill ``sandbox`` with the demo org and the reps' mail, meetings and calls.

    Without ``google``/``graph`` every rep's mail is an mbox file in ``directory``; with both,
    reps are split between the providers. ``phone`` is a dialer emulator for calls.
    """
    rng = random.Random(seed)  # demo data, not security: a seeded PRNG is the point
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    org = build_org(sandbox, rng, now, domain=DOMAIN)
    mail = build_mail(org, rng, now)
    directory.mkdir(parents=True, exist_ok=True)
    calendars = build_meetings(org, rng, now)
    providers: dict[str, str] = {}
    provider_counts: dict[str, dict[str, int]] = {}
    if google is not None and graph is not None:
        providers = assign_providers([r.email for r in org.reps])
        mbox_reps = {r for r, p in providers.items() if p == MBOX}
        paths = mail.write(directory, only=mbox_reps)
        provider_counts = file_world(
            providers, mail.boxes, calendars.feed, google=google, graph=graph
        )
    else:
        paths = mail.write(directory)
    calls = 0
    if phone is not None:
        from sandbox.dialers.demo import seed_demo

        phones = [str(c["Phone"]) for c in sandbox.records("Contact") if c.get("Phone")]
        # A generator of its own, so adding calls leaves the rest of the world unchanged.
        calls = seed_demo(
            phone, [r.email for r in org.reps], phones, random.Random(seed + 1), now=now
        )
    return World(
        directory=directory,
        domain=DOMAIN,
        mailboxes=paths,
        meetings=calendars.feed,
        org=org.counts,
        mail_delivered=dict(mail.ledger.delivered),
        mail_distinct=dict(mail.ledger.distinct),
        shared_message_ids=tuple(mail.ledger.shared_message_ids),
        message_category=dict(mail.ledger.category),
        meetings_delivered=dict(calendars.delivered),
        meetings_distinct=dict(calendars.distinct),
        providers=providers,
        provider_counts=provider_counts,
        mail_copies={m: list(b) for m, b in mail.ledger.copies.items()},
        calls=calls,
    )


__all__ = ["DOMAIN", "World", "build_world"]
