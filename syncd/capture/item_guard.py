"""One item's failure stays that item's: the guard around every per-item conversion.

A connector turns each vendor item into an Activity or a Skip. Whatever that conversion raises
(a date the ``datetime`` type cannot hold, a bug meeting input nobody foresaw) must not end the
batch: the pass would fail, the cursor would never move and one message could stop a mailbox
for good. :func:`guard` calls the conversion and turns any exception into the item's named skip
``item_error`` (detail: the exception class only, never content), logged once with its
traceback at DEBUG so the cause can be found.

It also holds the rule for dates from the future: a mail or call dated more than
:data:`CLOCK_SKEW` after the time it was pulled is not believed (:func:`too_far_ahead`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from syncd.model import Skip, SkipReason

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How far ahead of the puller's clock a mail or call may be dated (clocks of senders and
#: dialers drift; a day is generous). Later than this is a forged or broken date.
CLOCK_SKEW = timedelta(days=1)


def guard(source_id: str, convert: Callable[[], T]) -> T | Skip:
    """``convert()``, or the ``item_error`` skip of ``source_id`` when it raises."""
    try:
        return convert()
    except Exception as exc:  # the point: no item may end the batch
        log.warning(
            "item could not be converted; skipped as item_error",
            extra={"source_id": source_id[:200], "error": type(exc).__name__},
        )
        log.debug("item_error traceback", exc_info=True)
        return Skip(source_id[:255], SkipReason.ITEM_ERROR, type(exc).__name__)


def never_raises(normalise: Callable[..., T]) -> Callable[..., T | Skip]:
    """A normaliser ``f(raw, origin, *, source_id=..., ...)`` that skips instead of raising."""

    @functools.wraps(normalise)
    def guarded(raw: Any, origin: Any, /, **kwargs: Any) -> T | Skip:
        source_id = str(kwargs.get("source_id") or "?")
        return guard(source_id, lambda: normalise(raw, origin, **kwargs))

    return guarded


def too_far_ahead(when: datetime, now: datetime | None) -> bool:
    """True when ``when`` lies beyond the allowed clock skew after ``now`` (default: now)."""
    reference = now if now is not None else datetime.now(UTC)
    try:
        return when > reference + CLOCK_SKEW
    except OverflowError:  # now + a day past year 9999: nothing can be later
        return False
