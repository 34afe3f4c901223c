"""SOQL date literals (TODAY, LAST_N_DAYS:n, THIS_MONTH, …) as half-open date ranges.

A literal names a range ``[start, end)`` of days in UTC: ``= LITERAL`` means inside it,
``< LITERAL`` before its start, ``> LITERAL`` after its end, following Salesforce's definitions.
"""

from __future__ import annotations

from datetime import date, timedelta

from sandbox.salesforce.errors import ApiError


def _month_start(day: date, shift: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def _quarter_start(day: date, shift: int = 0) -> date:
    first = _month_start(day, -((day.month - 1) % 3))
    return _month_start(first, 3 * shift)


def _week_start(day: date, shift: int = 0) -> date:
    # Salesforce weeks start on Sunday in the default (en_US) locale.
    return day - timedelta(days=(day.weekday() + 1) % 7) + timedelta(weeks=shift)


def date_range(name: str, n: int | None, today: date) -> tuple[date, date]:
    """Return ``[start, end)`` for a date literal evaluated on ``today``."""
    one = timedelta(days=1)
    fixed = {
        "TODAY": (today, today + one),
        "YESTERDAY": (today - one, today),
        "TOMORROW": (today + one, today + 2 * one),
        "LAST_WEEK": (_week_start(today, -1), _week_start(today)),
        "THIS_WEEK": (_week_start(today), _week_start(today, 1)),
        "NEXT_WEEK": (_week_start(today, 1), _week_start(today, 2)),
        "LAST_MONTH": (_month_start(today, -1), _month_start(today)),
        "THIS_MONTH": (_month_start(today), _month_start(today, 1)),
        "NEXT_MONTH": (_month_start(today, 1), _month_start(today, 2)),
        "LAST_QUARTER": (_quarter_start(today, -1), _quarter_start(today)),
        "THIS_QUARTER": (_quarter_start(today), _quarter_start(today, 1)),
        "NEXT_QUARTER": (_quarter_start(today, 1), _quarter_start(today, 2)),
        "LAST_YEAR": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
        "THIS_YEAR": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
        "NEXT_YEAR": (date(today.year + 1, 1, 1), date(today.year + 2, 1, 1)),
        "LAST_90_DAYS": (today - 90 * one, today + one),
        "NEXT_90_DAYS": (today + one, today + 91 * one),
    }
    if name in fixed and n is None:
        return fixed[name]
    if n is None:
        raise ApiError(400, "MALFORMED_QUERY", f"unexpected token: '{name}'")
    days = timedelta(days=n)
    ranged = {
        # LAST_N_DAYS:n runs from n days ago through the end of today.
        "LAST_N_DAYS": (today - days, today + one),
        # NEXT_N_DAYS:n starts tomorrow and runs for n days.
        "NEXT_N_DAYS": (today + one, today + one + days),
        "N_DAYS_AGO": (today - days, today - days + one),
        "LAST_N_WEEKS": (_week_start(today, -n), _week_start(today)),
        "NEXT_N_WEEKS": (_week_start(today, 1), _week_start(today, 1 + n)),
        "LAST_N_MONTHS": (_month_start(today, -n), _month_start(today)),
        "NEXT_N_MONTHS": (_month_start(today, 1), _month_start(today, 1 + n)),
    }
    if name in ranged:
        return ranged[name]
    raise ApiError(400, "MALFORMED_QUERY", f"unexpected token: '{name}:{n}'")
