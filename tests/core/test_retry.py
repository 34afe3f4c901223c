"""Retry policy: only Transient errors are retried, Retry-After wins, attempts and time capped."""

from __future__ import annotations

import random

import pytest

from syncd import retry
from syncd.errors import Permanent, RateLimited, Transient
from syncd.retry import RetryPolicy


class Flaky:
    """Fails with the given errors in order, then returns 'ok'."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(**kw: object) -> RetryPolicy:
    return RetryPolicy(rng=random.Random(7), **kw)  # type: ignore[arg-type]


def test_transient_errors_are_retried_until_success() -> None:
    slept: list[float] = []
    fn = Flaky(Transient("503"), Transient("timeout"))
    assert retry.call(fn, policy(), sleep=slept.append) == "ok"
    assert fn.calls == 3
    assert len(slept) == 2


def test_permanent_errors_are_not_retried() -> None:
    slept: list[float] = []
    fn = Flaky(Permanent("STRING_TOO_LONG", code="STRING_TOO_LONG"))
    with pytest.raises(Permanent):
        retry.call(fn, policy(), sleep=slept.append)
    assert fn.calls == 1
    assert slept == []


def test_retry_after_is_honoured_exactly() -> None:
    slept: list[float] = []
    fn = Flaky(RateLimited("429", retry_after=17), RateLimited("429", retry_after=3.5))
    assert retry.call(fn, policy(max_total_wait=100), sleep=slept.append) == "ok"
    assert slept == [17.0, 3.5]


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    pol = policy(base=1.0, cap=8.0)
    for attempt in range(1, 10):
        ceiling = min(8.0, 2 ** (attempt - 1))
        samples = [pol.backoff(attempt) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        # full jitter: spread over the range, not a constant
        assert max(samples) - min(samples) > ceiling / 4


def test_attempts_are_capped_and_the_last_error_reraised() -> None:
    slept: list[float] = []
    errors = [Transient(f"fail {i}") for i in range(10)]
    fn = Flaky(*errors)
    with pytest.raises(Transient, match="fail 3"):
        retry.call(fn, policy(max_attempts=4), sleep=slept.append)
    assert fn.calls == 4
    assert len(slept) == 3


def test_total_wait_is_capped() -> None:
    slept: list[float] = []
    fn = Flaky(*[RateLimited("429", retry_after=40) for _ in range(10)])
    with pytest.raises(RateLimited):
        retry.call(fn, policy(max_attempts=10, max_total_wait=100), sleep=slept.append)
    # 40 + 40 = 80 fits; a third 40 would pass 100, so it gives up instead of sleeping.
    assert slept == [40.0, 40.0]
    assert sum(slept) <= 100


def test_a_retry_after_too_long_to_wait_is_handed_back_to_the_caller() -> None:
    slept: list[float] = []
    fn = Flaky(RateLimited("throttled", retry_after=900))
    with pytest.raises(RateLimited) as info:
        retry.call(fn, policy(max_retry_after=300), sleep=slept.append)
    assert info.value.retry_after == 900
    assert slept == []


def test_named_policies_exist_and_differ() -> None:
    assert retry.POLICIES["interactive"].max_total_wait < retry.POLICIES["default"].max_total_wait
    fn = Flaky(Transient("x"))
    assert retry.call(fn, "interactive", sleep=lambda _s: None) == "ok"
