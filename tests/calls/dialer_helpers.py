"""A fake clock shared by a dialer emulator and a connector, so rate windows cost no real time."""

from __future__ import annotations

from datetime import datetime, timedelta


class FakeTime:
    """Aware ``now()``, a ``monotonic()`` in seconds, and a ``sleep()`` that only advances both."""

    def __init__(self, start: datetime) -> None:
        self.at = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.at.timestamp()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += timedelta(seconds=seconds)
