"""Demo data for the dialer emulators: reps calling the demo world's contacts.

The lead's demo world calls :func:`seed_demo` with one emulator (RingCentral, Aircall or Zoom
Phone), the reps' emails, the contacts' phone numbers as Salesforce holds them, and a seeded
``random.Random``: each rep gets ``calls_per_rep`` calls spread over the last ``days`` days to
random contacts, about one in six missed, numbers written in the mixed styles phone systems
use. Deterministic for a given seed and ``now``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import phonenumbers

from sandbox.dialers.aircall import AircallSandbox
from sandbox.dialers.ringcentral import RingCentralSandbox
from sandbox.dialers.zoom import ZoomPhoneSandbox

Dialer = RingCentralSandbox | AircallSandbox | ZoomPhoneSandbox


def _styled(number: str, rng: random.Random, region: str) -> str:
    """The number as a phone system might print it (E.164, international or national)."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number
    style = rng.choice(
        [
            phonenumbers.PhoneNumberFormat.E164,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL,
        ]
    )
    return phonenumbers.format_number(parsed, style)


def seed_demo(
    dialer: Dialer,
    reps: list[str],
    contact_phones: list[str],
    rng: random.Random,
    *,
    now: datetime,
    days: int = 30,
    calls_per_rep: int = 8,
    region: str = "US",
) -> int:
    """Users for ``reps`` and their calls to ``contact_phones``; returns the calls added."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    phones = [p for p in contact_phones if p]
    if not phones:
        return 0
    added = 0
    for rep in reps:
        user = dialer.add_user(rep, rep.split("@")[0].title())
        for _ in range(calls_per_rep):
            start = now - timedelta(days=rng.uniform(0.5, days))
            start = start.replace(microsecond=0)
            outbound = rng.random() < 0.7
            missed = rng.random() < 1 / 6
            other = _styled(rng.choice(phones), rng, region)
            duration = 0 if missed else rng.randint(20, 1800)
            if isinstance(dialer, RingCentralSandbox):
                dialer.add_call(
                    str(user),
                    start=start,
                    direction="Outbound" if outbound else "Inbound",
                    other=other,
                    duration=duration,
                    result="Missed" if missed else "Call connected",
                )
            elif isinstance(dialer, AircallSandbox):
                assert isinstance(user, int)
                dialer.add_call(
                    user,
                    start=start,
                    direction="outbound" if outbound else "inbound",
                    other=other,
                    duration=duration,
                    missed="agents_did_not_answer" if missed else None,
                )
            else:
                dialer.add_call(
                    str(user),
                    start=start,
                    direction="outbound" if outbound else "inbound",
                    other=other,
                    duration=duration,
                    result="no_answer" if missed else "answered",
                )
            added += 1
    return added
