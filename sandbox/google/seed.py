"""Demo data for the Google sandbox: Gmail mailboxes and calendars for the demo reps.

``seed_demo(sandbox, reps, contacts, rng, now=...)`` makes every rep a user of the domain and
gives each a few weeks of mail with the contacts (inbound and SENT, some in threads, plus
noise syncd must not capture: SPAM and a draft) and meetings (one-offs, a weekly series of
four, a private one and one the rep declined, which privacy skips). The same ``rng`` seed
gives the same world. ``DemoCounts`` has the capturable totals.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from sandbox.google.server import GoogleSandbox


@dataclass
class DemoCounts:
    """What was seeded, for the demo's expected figures."""

    messages: int = 0
    noise_messages: int = 0
    meetings: int = 0
    by_rep: dict[str, int] = field(default_factory=dict)


def _headers(sender: str, to: str, subject: str, when: datetime, mid: str) -> list[tuple[str, str]]:
    date = format_datetime(when.astimezone(UTC))
    return [("From", sender), ("To", to), ("Subject", subject), ("Date", date),
            ("Message-ID", f"<{mid}>")]  # fmt: skip


def _event(i: int, rep: str, guest: str, start: datetime, minutes: int = 30) -> dict[str, object]:
    end = start + timedelta(minutes=minutes)
    return {
        "id": f"demo{i:06d}",
        "iCalUID": f"demo-{i}@google.com",
        "summary": f"Call with {guest.split('@')[1]}",
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": end.isoformat(), "timeZone": "UTC"},
        "organizer": {"email": rep},
        "attendees": [{"email": rep, "responseStatus": "accepted", "self": True},
                      {"email": guest, "responseStatus": "accepted"}],
    }  # fmt: skip


def seed_demo(
    sandbox: GoogleSandbox,
    reps: list[str],
    contacts: list[str],
    rng: random.Random,
    *,
    now: datetime,
    messages_per_rep: int = 20,
    meetings_per_rep: int = 6,
) -> DemoCounts:
    """Populate mailboxes and calendars for ``reps`` talking to ``contacts``."""
    counts = DemoCounts()
    serial = 0
    for rep in reps:
        sandbox.add_user(rep)
        domain = rep.split("@")[1]
        for _ in range(messages_per_rep):
            serial += 1
            guest = rng.choice(contacts)
            when = now - timedelta(days=rng.randint(1, 28), minutes=rng.randint(0, 600))
            outbound = rng.random() < 0.4
            sender, to = (rep, guest) if outbound else (guest, rep)
            sandbox.gmail.deliver(
                rep,
                _headers(sender, to, f"Re: proposal #{serial}", when, f"demo-{serial}@{domain}"),
                when=when,
                labels=["SENT"] if outbound else ["INBOX", "CATEGORY_PERSONAL"],
            )
            counts.messages += 1
        when = now - timedelta(days=2)
        for label in ("SPAM", "DRAFT"):
            serial += 1
            sandbox.gmail.deliver(
                rep, _headers(rng.choice(contacts), rep, "noise", when, f"n{serial}@x.example"),
                when=when, labels=[label],
            )  # fmt: skip
            counts.noise_messages += 1
        for i in range(meetings_per_rep):
            serial += 1
            start = (now - timedelta(days=rng.randint(1, 20))).replace(minute=0, second=0,
                                                                       microsecond=0)  # fmt: skip
            sandbox.calendar.add_event(rep, _event(serial, rep, rng.choice(contacts), start))
            counts.meetings += 1
            if i == 0:  # a weekly series: four instances
                serial += 1
                weekly = _event(serial, rep, rng.choice(contacts), start - timedelta(days=21))
                weekly["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=4"]
                sandbox.calendar.add_event(rep, weekly)
                counts.meetings += 4
        serial += 1
        private = _event(serial, rep, rng.choice(contacts), now - timedelta(days=3))
        private["visibility"] = "private"
        sandbox.calendar.add_event(rep, private)
        serial += 1
        declined = _event(serial, rep, rng.choice(contacts), now - timedelta(days=4))
        declined["organizer"] = {"email": declined["attendees"][1]["email"]}  # type: ignore[index]
        declined["attendees"][0]["responseStatus"] = "declined"  # type: ignore[index]
        sandbox.calendar.add_event(rep, declined)
        counts.by_rep[rep] = messages_per_rep
    return counts
