"""Normalisation: raw items from a connector → :class:`~syncd.model.Activity` or a named Skip.

The per-kind work lives beside this module:

- :mod:`syncd.capture.normalize_email` — RFC 822 bytes, or a header mapping (Gmail/Graph
  metadata), → :class:`~syncd.model.Email`;
- :mod:`syncd.capture.normalize_calendar` — the neutral event dict → :class:`~syncd.model.Meeting`;
- :mod:`syncd.capture.normalize_call` — the neutral call dict → :class:`~syncd.model.Call`.

This module holds what they share: the :class:`Origin` of an item (connector, mailbox, who is
internal), text clean-up and the direction rule, plus :func:`normalize`, a dispatcher by kind.
No normaliser raises on bad input: what cannot become an activity becomes a
:class:`~syncd.model.Skip` with a :class:`~syncd.model.SkipReason`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncd.capture.addresses import InternalParties
from syncd.config import CaptureConfig
from syncd.model import Activity, Direction, Skip

#: Longest subject kept on an activity; the writer trims to Salesforce's 255 with a prefix.
MAX_SUBJECT = 1000
#: Longest body kept (Task.Description holds 32,000).
MAX_BODY = 32000

_WS = re.compile(r"\s+")
#: ``[capture]`` as an empty table reads: where an :class:`Origin` takes its defaults from.
_CAPTURE = CaptureConfig()


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an item came from and what the normaliser needs to know about the company."""

    #: The connector's configured name (becomes ``Activity.source``).
    source: str
    #: The mailbox (internal user's address) the item was captured from.
    mailbox: str
    internal: InternalParties = field(default_factory=InternalParties)
    #: Keep body text (``capture.capture_body``); redaction is the privacy filter's job.
    capture_body: bool = _CAPTURE.capture_body
    #: Region for phone numbers written without a country code (``capture.default_region``).
    default_region: str | None = _CAPTURE.default_region
    #: When the item was pulled (the connector's clock): mail and calls dated more than a
    #: day after it are not believed. None: the wall clock.
    now: datetime | None = None

    def internal_parties(self) -> InternalParties:
        """The internal parties, including the mailbox owner."""
        return self.internal.with_addresses([self.mailbox])


def clean_text(value: object, limit: int = MAX_SUBJECT) -> str:
    """One line of printable text: controls dropped, whitespace collapsed, length capped."""
    if value is None:
        return ""
    text = str(value)
    # Undecodable bytes arrive as lone surrogates (surrogateescape); show them as U+FFFD.
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return _WS.sub(" ", text).strip()[:limit]


def direction_of(
    initiator: str | None, addresses: Iterable[str], internal: InternalParties
) -> Direction:
    """Internal when every address is internal; outbound when we started it; else inbound."""
    addrs = [a for a in addresses if a]
    if addrs and all(internal.is_internal(a) for a in addrs):
        return Direction.INTERNAL
    if initiator and internal.is_internal(initiator):
        return Direction.OUTBOUND
    return Direction.INBOUND


def aware_or_none(value: datetime | None) -> datetime | None:
    """``value`` if it is timezone-aware, else None (the caller decides what naive means)."""
    if value is None or value.tzinfo is None or value.utcoffset() is None:
        return None
    return value


def normalize(kind: str, raw: Any, origin: Origin, **extra: Any) -> Activity | Skip:
    """Dispatch ``raw`` to the normaliser for ``kind`` ("email", "meeting" or "call")."""
    # Imported here: the per-kind modules import this one for Origin and the helpers.
    if kind == "email":
        from syncd.capture.normalize_email import normalize_email

        return normalize_email(raw, origin, **extra)
    if kind == "meeting":
        from syncd.capture.normalize_calendar import normalize_meeting

        return normalize_meeting(raw, origin, **extra)
    if kind == "call":
        from syncd.capture.normalize_call import normalize_call

        return normalize_call(raw, origin, **extra)
    raise ValueError(f"unknown activity kind {kind!r}")


def first_value(data: Mapping[str, Any], *names: str) -> Any:
    """The first present, non-empty value among ``names`` in ``data``."""
    for name in names:
        value = data.get(name)
        if value not in (None, ""):
            return value
    return None
