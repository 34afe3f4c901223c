"""The one place retry and backoff policies are defined (tenacity).

Only :class:`~syncd.errors.Transient` errors are retried: they are the ones that are safe to
repeat (reads, and Salesforce writes, which are upserts by external key). Waits grow
exponentially with full jitter, a ``Retry-After`` the service sent wins over the computed wait,
and both the number of attempts and the total time spent waiting are capped. After the last
attempt the original ``Transient`` is re-raised, so the caller can give the mailbox back for
the next pass.

The clock and the sleep are injectable, so tests never sleep for real.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from syncd.errors import Transient

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, total waiting time, and the backoff curve (seconds)."""

    max_attempts: int = 6
    max_total_wait: float = 120.0
    base: float = 0.5
    cap: float = 30.0
    #: A Retry-After longer than this is not waited for here; the error goes to the caller,
    #: which gives the unit of work back for a later pass (Graph has sent minutes).
    max_retry_after: float = 300.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the given 1-based attempt number."""
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        return self.rng.uniform(0, ceiling)


#: Defaults per kind of work; connectors pick one by name.
POLICIES: dict[str, RetryPolicy] = {
    "default": RetryPolicy(),
    "salesforce": RetryPolicy(max_attempts=6, max_total_wait=180.0),
    "interactive": RetryPolicy(max_attempts=3, max_total_wait=10.0, cap=4.0),
}


def _wait_for(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Transient) and exc.retry_after is not None:
            return max(float(exc.retry_after), 0.0)
        return policy.backoff(state.attempt_number)

    return wait


def _stop_for(policy: RetryPolicy) -> Callable[[RetryCallState], bool]:
    # tenacity computes the upcoming wait before asking whether to stop, and sums what was
    # slept in ``idle_for``: the cap counts waiting, not wall time, so a fake sleep works.
    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        if state.upcoming_sleep > policy.max_retry_after:
            return True
        return state.idle_for + state.upcoming_sleep > policy.max_total_wait

    return stop


def retrying(
    policy: RetryPolicy | str = "default",
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[RetryCallState], None] | None = None,
) -> Retrying:
    """A tenacity ``Retrying`` for ``policy`` that retries only :class:`Transient` errors."""
    pol = POLICIES[policy] if isinstance(policy, str) else policy
    return Retrying(
        retry=retry_if_exception_type(Transient),
        wait=_wait_for(pol),
        stop=_stop_for(pol),
        sleep=sleep,
        reraise=True,
        before_sleep=on_retry,
    )


def call(
    fn: Callable[[], T],
    policy: RetryPolicy | str = "default",
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[RetryCallState], None] | None = None,
) -> T:
    """Call ``fn`` under ``policy``; re-raise the last error when the policy gives up."""
    return retrying(policy, sleep=sleep, on_retry=on_retry)(fn)
