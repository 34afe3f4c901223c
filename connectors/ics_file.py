"""Import an iCalendar file (``.ics``: a calendar export, or invitations saved from mail).

Every VEVENT becomes a meeting keyed by its UID and instance exactly as the calendar connectors
and mail invitations key Events (:mod:`syncd.capture.invitations`), so a meeting imported here
and seen in a calendar or an invitation is one record; or a named skip (no UID, no attendees,
no readable time, before the window). A series (RRULE) is its first instance; each exception
(RECURRENCE-ID) is its own instance. ``METHOD:CANCEL`` files mark their meetings cancelled.

Settings (``[[connectors]] type = "ics"``): ``path``, ``mailbox`` (the internal user whose
calendar it is) and ``since`` (a date: meetings starting before it are skipped as
``outside_window``; without it the usual ``capture.backfill_days`` window applies).

Cursor: ``ics:1:<index of the next VEVENT>:<fingerprint>``. The fingerprint hashes the whole
file: a changed file raises ``CursorExpired`` and is imported again from the start (keys make
that harmless).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

from connectors._cursor import CursorFormat
from connectors._file_import import FileImport, FileImportSettings
from connectors.base import register
from syncd.capture.invitations import meetings, parse_calendar
from syncd.capture.item_guard import guard
from syncd.config import ConnectorSettings
from syncd.errors import ConfigError, CursorExpired, Problem
from syncd.model import Activity, Batch, Skip, SkipReason

CURSOR = CursorFormat("ics", "an ics cursor", (int, str))


class IcsSettings(FileImportSettings):
    """``[[connectors]]`` keys of the .ics importer: ``path``, ``mailbox``, ``since``."""


@register
class IcsConnector(FileImport):
    """One .ics file, one mailbox, its VEVENTs pulled in file order."""

    type: ClassVar[str] = "ics"
    kinds: ClassVar[frozenset[str]] = frozenset({"meeting"})
    settings_model: ClassVar[type[ConnectorSettings]] = IcsSettings
    page_size: ClassVar[int] = 400  # two 200-record collection calls
    cursor_kind: ClassVar[str] = "VEVENT index + file fingerprint"

    _parsed: tuple[str, list[Activity | Skip]] | None = None

    def _items(self, mailbox: str) -> tuple[str, list[Activity | Skip]]:
        path = Path(self._file_settings.path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            problem = Problem(f"connectors.{self.name}.path", f"cannot read the .ics file: {exc}")
            raise ConfigError([problem]) from exc
        fingerprint = hashlib.sha256(data).hexdigest()[:16]
        if self._parsed is not None and self._parsed[0] == fingerprint:
            return self._parsed
        origin = self.context.origin(self.name, mailbox)
        try:
            calendar = parse_calendar(data)
        except ValueError as exc:
            items: list[Activity | Skip] = [Skip(path.name, SkipReason.UNPARSEABLE, str(exc))]
        else:
            found = meetings(calendar, origin, source_id=path.name)
            items = []
            while True:
                item: Any = guard(path.name, lambda: next(found, None))
                if item is None:
                    break
                items.append(item)
        self._parsed = (fingerprint, items)
        return self._parsed

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """The next VEVENTs after ``cursor``, as meetings or named skips."""
        fingerprint, items = self._items(mailbox)
        start = 0
        if cursor is not None:
            index, seen = CURSOR.decode(cursor)
            assert isinstance(index, int)
            if seen != fingerprint or index > len(items):
                raise CursorExpired("the .ics file changed")
            start = index
        end = min(len(items), start + max(1, limit or self.page_size))
        window = self._window()
        activities: list[Activity] = []
        skips: list[Skip] = []
        for item in items[start:end]:
            if isinstance(item, Skip):
                skips.append(item)
            elif item.occurred_at < window:
                skips.append(Skip(item.source_id, SkipReason.OUTSIDE_WINDOW, key=item.key))
            else:
                activities.append(item)
        self.log.info(
            "ics pull: %d activities, %d skipped, %d of %d VEVENTs",
            len(activities),
            len(skips),
            end,
            len(items),
        )
        return Batch(
            tuple(activities), tuple(skips), CURSOR.encode(end, fingerprint), end < len(items)
        )
