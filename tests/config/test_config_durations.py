"""Durations and cron strings (syncd.config.durations): parsing, messages, crontab weekdays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from syncd.config.durations import Cron, Duration, cron_trigger, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("2m", timedelta(minutes=2)),
        ("3d", timedelta(days=3)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("2w", timedelta(weeks=2)),
        ("1d2h3m4s5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
        (" 5M ", timedelta(minutes=5)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert TypeAdapter(Duration).validate_python(text) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (90, "not a bare integer"),
        (1.5, "not a bare number"),
        ("90", "is not a duration"),
        ("-5m", "must not be negative"),
        ("0s", "longer than zero"),
        ("", "is not a duration"),
        ("5 minutes", "is not a duration"),
        ("30m1h", "is not a duration"),
        ("1.5h", "is not a duration"),
        ("5x", "is not a duration"),
    ],
)
def test_bad_durations_say_which_forms_are_accepted(value: object, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Duration).validate_python(value)
    message = caught.value.errors()[0]["msg"]
    assert fragment in message
    assert '"1h30m"' in message


@given(st.integers(0, 20), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_duration_round_trip(days: int, hours: int, minutes: int, seconds: int) -> None:
    expected = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    text = "".join(f"{n}{unit}" for n, unit in parts if n)
    if not text:
        with pytest.raises(ValueError, match="is not a duration"):
            parse_duration(text)
    else:
        assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "0 7 * * 1-5",
        "*/15 * * * *",
        "0 9 * * mon-fri",
        "0 0 1 */3 *",
        "61 * * * *",
        "0 7 * *",
        "0 7 * * 1-5 2024",
        "0 25 * * *",
        "0 7 * * funday",
        "not cron",
    ],
)
def test_cron_is_validated_as_apscheduler_parses_it(expression: str) -> None:
    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError:
        scheduler_accepts = False
    else:
        scheduler_accepts = True
    adapter = TypeAdapter(Cron)
    if scheduler_accepts:
        assert adapter.validate_python(expression) == expression
    else:
        with pytest.raises(ValidationError, match="not a valid cron expression"):
            adapter.validate_python(expression)


def test_cron_must_be_a_string() -> None:
    with pytest.raises(ValidationError, match="must be a cron string"):
        TypeAdapter(Cron).validate_python(7)


@pytest.mark.parametrize(
    ("expression", "weekdays"),
    [
        # crontab(5): 0 and 7 are Sunday, 1 is Monday (APScheduler 3's from_crontab is off by one)
        ("0 7 * * 1-5", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
        ("0 7 * * mon-fri", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
        ("0 7 * * 0", {"Sun"}),
        ("0 7 * * 7", {"Sun"}),
        ("0 7 * * 5-7", {"Fri", "Sat", "Sun"}),
        ("0 7 * * fri-sun", {"Fri", "Sat", "Sun"}),
        ("0 7 * * 0,6", {"Sat", "Sun"}),
        ("0 7 * * */2", {"Sun", "Tue", "Thu", "Sat"}),
        ("0 7 * * 1-5/2", {"Mon", "Wed", "Fri"}),
        ("0 7 * * *", {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}),
    ],
)
def test_cron_weekdays_mean_what_crontab_means(expression: str, weekdays: set[str]) -> None:
    trigger = cron_trigger(expression, timezone="UTC")
    fired: set[str] = set()
    when = datetime(2026, 11, 29, 12, tzinfo=UTC)  # a Sunday, after 07:00
    for _ in range(14):
        when = trigger.get_next_fire_time(None, when + timedelta(minutes=1))
        fired.add(when.strftime("%a"))
    assert fired == weekdays


@pytest.mark.parametrize("expression", ["0 7 * * 8", "0 7 * * 5-1", "0 7 * * 1/0"])
def test_cron_weekdays_out_of_range_are_refused(expression: str) -> None:
    with pytest.raises(ValidationError, match="not a valid cron expression"):
        TypeAdapter(Cron).validate_python(expression)


@pytest.mark.parametrize(
    ("expression", "start", "days"),
    [
        # crontab(5): with both day fields restricted, a day matching EITHER runs the job
        ("0 9 1 * 1", "2026-05-31", ["06-01", "06-08", "06-15", "06-22", "06-29"]),
        ("0 9 13 * 5", "2026-02-01", ["02-06", "02-13", "02-20", "02-27", "03-06"]),
        # either day field starting with '*' means both must match, as in cron
        ("0 9 */2 * 1", "2026-01-31", ["02-09", "02-23", "03-09", "03-23", "04-13"]),
        ("0 9 1 * *", "2026-01-31", ["02-01", "03-01", "04-01", "05-01", "06-01"]),
    ],
)
def test_cron_day_and_weekday_combine_as_crontab_does(
    expression: str, start: str, days: list[str]
) -> None:
    trigger = cron_trigger(expression, timezone="UTC")
    when = datetime.fromisoformat(start).replace(hour=12, tzinfo=UTC)
    previous = None
    fired: list[str] = []
    for _ in range(len(days)):
        nxt = trigger.get_next_fire_time(previous, when)
        assert nxt is not None
        fired.append(nxt.strftime("%m-%d"))
        previous, when = nxt, nxt + timedelta(seconds=1)
    assert fired == days
