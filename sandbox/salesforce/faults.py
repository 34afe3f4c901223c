"""Faults injected on demand: error statuses, limit errors, locked rows, expired sessions, delays.

Each fault matches a path regex (``None`` for any path) and optionally a method, and fires
``times`` times. ``lock_row`` faults are consumed by collection requests, which then fail the
chosen records with UNABLE_TO_LOCK_ROW inside an otherwise successful 200 response.
A ``status`` fault may carry ``retry_after`` (seconds), sent as a Retry-After header.
``refuse`` answers a permission refusal: 403 ``INSUFFICIENT_ACCESS_OR_READONLY`` unless
``status``, ``code`` and ``message`` say otherwise, as when the user lacks a permission.
``oauth_error`` makes the token endpoint refuse (``error=invalid_grant`` by default, as when an
admin revokes the connected app's access), for the revoked-consent path of a client.
"""

from __future__ import annotations

import math
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = frozenset(
    {"status", "request_limit", "lock_row", "expire_sessions", "slow", "oauth_error", "refuse"}
)


@dataclass
class Fault:
    """One injected fault and how many more times it fires."""

    kind: str
    path: re.Pattern[str] | None
    method: str | None
    remaining: int
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, path: str, method: str) -> bool:
        """Whether this fault applies to a request."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or bool(self.path.search(path))


class Faults:
    """The queue of injected faults of one sandbox."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.stop = threading.Event()  # set on shutdown so slow responses end at once

    def inject(
        self,
        kind: str,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int = 1,
        **params: Any,
    ) -> None:
        """Add a fault; see the module docstring for the kinds and their parameters."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(KINDS)}")
        if kind == "status" and params.get("status", 503) not in (500, 502, 503, 504):
            raise ValueError("status faults are 500, 502, 503 or 504")
        compiled = re.compile(path) if path is not None else None
        with self._lock:
            self._faults.append(Fault(kind, compiled, method, times, params))

    def clear(self) -> None:
        """Remove every pending fault."""
        with self._lock:
            self._faults.clear()

    def take(self, path: str, method: str, kinds: frozenset[str] | set[str]) -> Fault | None:
        """Return (and consume one firing of) the first pending fault of ``kinds`` that matches."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(path, method):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @property
    def pending(self) -> int:
        """How many fault firings are still queued."""
        with self._lock:
            return sum(f.remaining for f in self._faults)


def locked_positions(fault: Fault, keys: list[Any]) -> set[int]:
    """Return the positions in a collection whose records the ``lock_row`` fault locks."""
    chosen = fault.params.get("keys")
    if chosen is not None:
        wanted = {str(k) for k in chosen}
        return {i for i, key in enumerate(keys) if key is not None and str(key) in wanted}
    fraction = float(fault.params.get("fraction", 0.1))
    count = min(len(keys), math.ceil(len(keys) * fraction))
    # A seeded choice keeps a test's locked records the same from run to run.
    rng = random.Random(fault.params.get("seed", 0))
    return set(rng.sample(range(len(keys)), count))
