"""Expanding a Google event's ``recurrence`` lines (RRULE, RDATE, EXDATE) into instances.

Expansion runs on wall-clock time in the event's own time zone (``start.timeZone``), the
iCalendar meaning, so a weekly 09:00 meeting stays at 09:00 across daylight-saving changes.
UNTIL and EXDATE values given in UTC are first converted to that wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rruleset, rrulestr

_UNTIL_FORMATS = ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S", "%Y%m%d")


def zone_of(when: dict[str, str], fallback: tzinfo = UTC) -> tzinfo:
    """The IANA zone named by ``timeZone``, else the offset of ``dateTime``, else fallback."""
    name = when.get("timeZone")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if "dateTime" in when:
        parsed = datetime.fromisoformat(when["dateTime"])
        if parsed.tzinfo is not None:
            return parsed.tzinfo
    return fallback


def start_of(when: dict[str, str], zone: tzinfo) -> tuple[datetime, bool]:
    """(wall-clock naive start in ``zone``, all day?)."""
    if "date" in when:
        return datetime.combine(date.fromisoformat(when["date"]), time(0)), True
    parsed = datetime.fromisoformat(when["dateTime"])
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zone).replace(tzinfo=None)
    return parsed, False


def _local(value: str, zone: tzinfo) -> datetime:
    for fmt in _UNTIL_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt)  # noqa: DTZ007 - zone attached just below
        except ValueError:
            continue
        if value.endswith("Z"):
            return parsed.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
        return parsed
    raise ValueError(f"not an iCalendar date-time: {value}")


def _fix_until(rule: str, zone: tzinfo) -> str:
    parts = []
    for part in rule.split(";"):
        if part.upper().startswith("UNTIL="):
            local = _local(part[6:], zone)
            part = f"UNTIL={local:%Y%m%dT%H%M%S}"
        parts.append(part)
    return ";".join(parts)


def expand(
    recurrence: list[str], dtstart: datetime, zone: tzinfo, lo: datetime, hi: datetime
) -> list[datetime]:
    """Wall-clock starts of the instances between ``lo`` and ``hi`` (naive, in ``zone``)."""
    rules = rruleset()
    for line in recurrence:
        name, _, value = line.partition(":")
        kind = name.split(";")[0].upper()
        if kind == "RRULE":
            rules.rrule(rrulestr(_fix_until(value, zone), dtstart=dtstart))  # type: ignore[arg-type]
        elif kind in ("EXDATE", "RDATE"):
            for item in value.split(","):
                local = _local(item.strip(), zone)
                if len(item.strip()) == 8:  # a plain date: the instance at dtstart's time
                    local = datetime.combine(local.date(), dtstart.time())
                (rules.exdate if kind == "EXDATE" else rules.rdate)(local)
    return list(rules.between(lo, hi, inc=True))
