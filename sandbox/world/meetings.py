"""The demo world's calendars: meetings in the neutral event shape of ``normalize_calendar``.

:mod:`sandbox.world.providers` files each rep's copies into Google Calendar or Outlook. Each
meeting is copied into the calendar of every rep invited to it, under the same iCalUID, so a
meeting with three colleagues is four copies of one event. A few meetings are internal-only,
one is private and one rep declines one meeting: each becomes a named skip.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.world.org import Org, Person

_CUSTOMER_SUBJECTS = ("Discovery call", "Product demo", "Proposal review", "QBR", "Kick-off")


@dataclass
class Calendars:
    """Calendar events per rep mailbox, and what they should produce."""

    feed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    delivered: Counter[str] = field(default_factory=Counter)
    distinct: Counter[str] = field(default_factory=Counter)

    def add(self, category: str, event: dict[str, Any], reps: list[str]) -> None:
        """File ``event`` into every rep calendar in ``reps``."""
        for rep in reps:
            copy = dict(event, id=f"{event['uid']}#{rep.partition('@')[0]}")
            if category == "declined" and rep == reps[-1]:
                # The last invitee said no: their copy carries their own declined response.
                copy["attendees"] = [
                    dict(a, partstat="declined") if a["email"] == rep else a
                    for a in event["attendees"]
                ]
                self.delivered["declined_copy"] += 1
            self.feed.setdefault(rep, []).append(copy)
        self.delivered[category] += len(reps)
        self.distinct[category] += 1


def _attendee(p: Person, partstat: str) -> dict[str, str]:
    return {"email": p.email, "name": p.name, "partstat": partstat}


def build_meetings(org: Org, rng: random.Random, now: datetime, meetings: int = 40) -> Calendars:
    """``meetings`` customer meetings, plus internal, private and declined ones."""
    cal = Calendars()
    serial = 0

    def event(organizer: Person, guests: list[Person], summary: str, **extra: Any) -> dict:
        nonlocal serial
        serial += 1
        # Mostly past meetings; a few next week (an Event may be in the future).
        start = now.replace(minute=0, second=0, microsecond=0) + timedelta(
            days=rng.randrange(-45, 8), hours=rng.randrange(-4, 4)
        )
        return {
            "uid": f"demo-{serial:04d}-{rng.getrandbits(32):08x}@northwind.example",
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=rng.choice((30, 45, 60)))).isoformat(),
            "summary": summary,
            "location": rng.choice(("Zoom", "Google Meet", "Customer office", "Room 4")),
            "organizer": {"email": organizer.email, "name": organizer.name},
            "attendees": [_attendee(organizer, "accepted")]
            + [_attendee(g, rng.choice(("accepted", "tentative", "needs-action"))) for g in guests],
            "status": "confirmed",
            "visibility": "default",
            **extra,
        }

    for i in range(meetings):
        rep = org.reps[i % len(org.reps)]
        accounts = [a for a in org.accounts if a.owner is rep] or org.accounts
        account = rng.choice(accounts)
        contacts = rng.sample(account.contacts, rng.randrange(1, 4))
        colleagues = rng.sample([r for r in org.reps if r is not rep], rng.randrange(0, 4))
        summary = f"{rng.choice(_CUSTOMER_SUBJECTS)}: {account.name}"
        category = "declined" if i == 0 and colleagues else "customer"
        cal.add(
            category,
            event(rep, [*contacts, *colleagues], summary),
            [rep.email] + [c.email for c in colleagues],
        )
    for i in range(5):
        rep = org.reps[(3 * i) % len(org.reps)]
        team = rng.sample([r for r in org.reps if r is not rep], 2)
        cal.add(
            "internal",
            event(rep, team, "Weekly pipeline sync"),
            [rep.email] + [t.email for t in team],
        )
    rep = org.reps[1]
    account = org.accounts[0]
    private = event(rep, account.contacts[:1], "Private: dentist", visibility="private")
    cal.add("private", private, [rep.email])
    return cal
