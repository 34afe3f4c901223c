"""The error tree: what each class carries and how a config error lists its problems."""

from __future__ import annotations

from syncd.errors import (
    BudgetExhausted,
    ConfigError,
    Permanent,
    Problem,
    RateLimited,
    SyncdError,
    Transient,
)


def test_config_error_lists_every_problem_with_path_and_line() -> None:
    err = ConfigError(
        [Problem("salesforce.auth", "must be one of jwt", 4), Problem("connectors[1].type", "x")],
        source="syncd.toml",
    )
    text = str(err)
    assert "syncd.toml: 2 configuration problems" in text
    assert "salesforce.auth (line 4): must be one of jwt" in text
    assert "connectors[1].type: x" in text


def test_classes_say_what_the_caller_must_do() -> None:
    assert issubclass(RateLimited, Transient)
    assert issubclass(Transient, SyncdError)
    assert not issubclass(Permanent, Transient)
    err = Permanent("too long", code="STRING_TOO_LONG", fields=["Subject"])
    assert err.code == "STRING_TOO_LONG"
    assert err.fields == ("Subject",)


def test_budget_message_states_usage_and_reserve() -> None:
    msg = str(BudgetExhausted(used=80_000, limit=100_000, reserve=0.2))
    assert "80000/100000" in msg
    assert "20%" in msg
