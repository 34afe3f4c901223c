"""Calendar v3 in the sandbox (placeholder until events are emulated)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sandbox.google.errors import ApiError


class Calendar:
    """Every user's primary calendar."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.calendars: dict[str, dict[str, Any]] = {}

    def calendar(self, address: str) -> dict[str, Any]:
        """The calendar of ``address``, created empty on first use."""
        return self.calendars.setdefault(address.lower(), {})

    def list_events(self, user: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """events.list."""
        raise ApiError(501, "notImplemented", "events.list is not emulated yet")
