"""Value types: durations, cron strings, secret references, key-path line numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from syncd.config import Cron, Duration, SecretRef, parse_duration
from syncd.config.lines import key_lines, line_of
from syncd.config.types import cron_trigger
from syncd.errors import ConfigError


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


def test_secret_ref_resolves_env_and_file_without_ever_showing_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_TEST_SECRET", "s3cr3t-env-value")
    from_env = SecretRef(env="SYNCD_TEST_SECRET")
    secret_file = tmp_path / "token"
    secret_file.write_text("s3cr3t-file-value\n")
    from_file = SecretRef(file=secret_file)
    assert from_env.resolve() == "s3cr3t-env-value"
    assert from_file.resolve() == "s3cr3t-file-value"  # trailing newline stripped
    for ref in (from_env, from_file):
        assert "s3cr3t" not in repr(ref)
        assert "s3cr3t" not in str(ref)
    assert "SYNCD_TEST_SECRET" in repr(from_env)


def test_unavailable_secret_raises_config_error_naming_the_key(tmp_path: Path) -> None:
    ref = SecretRef(file=tmp_path / "missing", key="alerts.slack.token_file")
    with pytest.raises(ConfigError) as caught:
        ref.resolve()
    (problem,) = caught.value.problems
    assert problem.path == "alerts.slack.token_file"
    assert "does not exist" in problem.message


def test_secret_ref_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SecretRef()
    with pytest.raises(ValueError, match="exactly one"):
        SecretRef(env="A", file=Path("/b"))


TOML = """\
# comment
[state]
url = "sqlite://"

[[connectors]]
type = "memory"
name = "a"

[[connectors]]
type = "memory"
name = "b"
note = '''
fake = 1
'''
interval = "5m"

[connectors.extra]
deep = 1

[[rules.rule]]
type = "stale"
[[rules.rule]]
"type" = "no_activity"
days.value = 3
"""


def test_key_lines_track_tables_arrays_and_skip_multiline_strings() -> None:
    lines = key_lines(TOML)
    assert lines["state.url"] == 3
    assert lines["connectors[0]"] == 5
    assert lines["connectors[0].name"] == 7
    assert lines["connectors[1].name"] == 11
    assert "connectors[1].fake" not in lines
    assert lines["connectors[1].interval"] == 15
    assert lines["connectors[1].extra.deep"] == 18
    assert lines["rules.rule[1].type"] == 23
    assert lines["rules.rule[1].days.value"] == 24


def test_line_of_falls_back_to_reference_keys_and_parents() -> None:
    lines = key_lines('[salesforce]\nauth = "jwt"\nprivate_key_env = "K"\n')
    assert line_of("salesforce.private_key", lines) == 3
    assert line_of("salesforce.username", lines) == 1
    assert line_of("capture.x", lines) is None


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
