"""Helpers for the rules tests: a small org's stages and deals built in memory."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from syncd.rules.inputs import Change, Deal, Pipeline, Stage

TODAY = date(2026, 3, 16)

STAGES = {
    s.name: s
    for s in (
        Stage("Qualify", 1, False, False),
        Stage("Discover", 2, False, False),
        Stage("Propose", 3, False, False),
        Stage("Negotiate", 4, False, False),
        Stage("Won", 5, True, True),
        Stage("Lost", 6, True, False),
    )
}


def at(day: date) -> datetime:
    """Midnight UTC of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def deal(opp_id: str = "006A", **kw: Any) -> Deal:
    """An open deal created 100 days ago, active today, with a next step and all fields."""
    values: dict[str, Any] = {
        "id": opp_id,
        "name": f"Deal {opp_id}",
        "stage": "Discover",
        "amount": 10_000.0,
        "close_date": TODAY + timedelta(days=60),
        "created": at(TODAY - timedelta(days=100)),
        "owner_email": "rep@ourco.com",
        "next_step": "demo",
        "last_activity": TODAY,
    }
    values.update(kw)
    d = Deal(**values)
    if not d.fields:
        d.fields = {"Amount": d.amount, "NextStep": d.next_step, "CloseDate": d.close_date}
    if not d.history:
        d.history = [Change(d.created, d.stage, d.close_date, None)]
    return d


def pipeline(*deals: Deal, today: date = TODAY) -> Pipeline:
    """A pipeline of these deals in the test org."""
    return Pipeline(today=today, stages=dict(STAGES), deals=list(deals))
