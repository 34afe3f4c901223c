"""Lengths of time and schedules: ``"1h30m"`` durations and five-field cron strings.

:data:`Duration` and :data:`Cron` validate config values; :func:`cron_trigger` is how the
scheduler reads a cron string (weekdays as crontab(5) means them, not as APScheduler 3 does).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from pydantic import PlainValidator

from syncd.config.validators import fail, type_name

_DURATION_FORMS = '"500ms", "90s", "5m", "1h30m", "3d" or "2w"'
_DURATION_RE = re.compile(
    r"^(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?"
    r"(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?$"
)


def parse_duration(value: object) -> timedelta:
    """Turn ``"1h30m"`` into a ``timedelta``; raise ``ValueError`` saying what is accepted."""
    accepted = f"write a duration as a string such as {_DURATION_FORMS}"
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"{accepted}, not a bare {type_name(value)}")
    text = value.strip().lower()
    if text.startswith("-"):
        raise ValueError(f"must not be negative; {accepted}")
    match = _DURATION_RE.match(text)
    if not text or match is None:
        raise ValueError(f"{value!r} is not a duration; {accepted}")
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    result = timedelta(
        weeks=parts.get("w", 0),
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
        milliseconds=parts.get("ms", 0),
    )
    if result <= timedelta(0):
        raise ValueError(f"must be longer than zero; {accepted}")
    return result


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta) and value > timedelta(0):
        return value  # already parsed (a model built in code, not from TOML)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise fail(str(exc)) from None


#: A positive length of time written as ``"90s"``, ``"5m"``, ``"1h30m"``, ``"3d"``, ``"500ms"``.
Duration = Annotated[timedelta, PlainValidator(_duration)]


#: Weekday names as crontab(5) numbers them: 0 and 7 are Sunday.
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: APScheduler 3 numbers weekdays from Monday = 0 (its ``from_crontab`` does not translate:
#: agronholm/apscheduler#286, fixed only in 4.x), so "1-5" would mean Tuesday to Saturday.
_APS_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _cron_day(token: str) -> int:
    """A crontab weekday (0-7 or a three-letter name) as 0 = Sunday … 6 = Saturday."""
    low = token.strip().lower()
    if low in _CRON_DAYS:
        return _CRON_DAYS.index(low)
    if low.isdigit() and int(low) <= 7:
        return int(low) % 7
    raise ValueError(f"unknown weekday {token!r} (0-7 or sun..sat)")


def _cron_weekdays(field: str) -> str:
    """A crontab day-of-week field as APScheduler 3 reads it (day names, so no numbering).

    Every item (``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n``, names or numbers) is expanded to the
    set of days it means under crontab(5), then written as APScheduler day names.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"bad step in {item!r}")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            a, b = span.split("-", 1)
            first, last = _cron_day(a), _cron_day(b)
            if last == 0 and first > 0:
                last = 7  # "5-7", "fri-sun": Friday to Sunday
            if first > last:
                raise ValueError(f"range {span!r} runs backwards")
        else:
            first = last = _cron_day(span)
            if step is not None:
                last = 6  # "1/2": from Monday, every second day
        days.update(d % 7 for d in range(first, last + 1, step or 1))
    return ",".join(_APS_DAYS[(d - 1) % 7] for d in sorted(days, key=lambda d: (d - 1) % 7))


def cron_trigger(expression: str, timezone: Any = None) -> CronTrigger | OrTrigger:
    """A five-field crontab(5) expression as an APScheduler 3 trigger, weekdays as cron means.

    When both the day of month and the day of week are restricted (neither starts with ``*``),
    crontab(5) runs on a day matching EITHER ("0 9 1 * 1": the 1st and every Monday), while one
    APScheduler ``CronTrigger`` needs both (only a Monday the 1st): that case is the OR of two.

    ``timezone`` None: the host's zone (APScheduler's default).
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    days = _cron_weekdays(weekday)
    if day.startswith("*") or weekday.startswith("*"):
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=days, timezone=timezone
        )
    return OrTrigger(
        [
            CronTrigger(minute=minute, hour=hour, day=day, month=month, timezone=timezone),
            CronTrigger(minute=minute, hour=hour, month=month, day_of_week=days, timezone=timezone),
        ]
    )


def _cron(value: object) -> str:
    if not isinstance(value, str):
        raise fail(f'must be a cron string such as "0 7 * * 1-5", not a {type_name(value)}')
    try:
        # Exactly what the scheduler will call; the zone does not affect parsing.
        cron_trigger(value, timezone="UTC")
    except ValueError as exc:
        raise fail(
            f"{value!r} is not a valid cron expression ({exc}); "
            'write five fields: minute hour day month weekday, e.g. "0 7 * * 1-5"'
        ) from None
    return value


#: A five-field crontab(5) string (weekdays 0/7 = Sunday), run through :func:`cron_trigger`.
Cron = Annotated[str, PlainValidator(_cron)]
