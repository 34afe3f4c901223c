"""An in-memory connector for tests: items are handed to it in code.

It is not a production type (a config saying ``type = "memory"`` is refused): tests add it to
the registry they hand the loader, ``connectors.base.builtins().with_types(MemoryConnector)``.

Items are added per mailbox with :meth:`MemoryConnector.add` as ``(kind, raw)``: RFC 822 bytes
or a header mapping for ``email``, the neutral event dict for ``meeting``, the neutral call
dict for ``call`` (see the normalisers), or a ready :class:`~syncd.model.Activity`. They are
served in insertion order through the same normalisers the real connectors use.

The cursor is ``mem:<generation>:<position>``: the number of items of that mailbox already
served. :meth:`expire_cursors` starts a new generation, making every older cursor raise
``CursorExpired``, as a vendor's expired sync token would. Items older than the backfill
window are skipped as ``outside_window`` (the window is the same on every page, so a paged full
sync and a resumed one agree).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from connectors.base import Connector, ConnectorContext
from syncd.capture.normalize import normalize
from syncd.config import ConnectorSettings
from syncd.errors import CursorExpired
from syncd.model import Activity, Batch, Skip, SkipReason


class MemorySettings(ConnectorSettings):
    """The memory connector has no keys beyond the common ones."""


@dataclass(frozen=True, slots=True)
class _Item:
    kind: str
    raw: Any
    source_id: str


class MemoryConnector(Connector):
    """Serves items added with :meth:`add`, per mailbox, in insertion order."""

    type: ClassVar[str] = "memory"
    kinds: ClassVar[frozenset[str]] = frozenset({"email", "meeting", "call"})
    settings_model: ClassVar[type[ConnectorSettings]] = MemorySettings
    page_size: ClassVar[int] = 100
    cursor_kind: ClassVar[str] = "position"

    def __init__(self, settings: ConnectorSettings, context: ConnectorContext | None = None):
        super().__init__(settings, context)
        self._items: dict[str, list[_Item]] = {}
        self._generation = 1
        #: Pulls served, for tests that count calls.
        self.calls = 0

    def add(self, mailbox: str, kind: str, raw: Any, *, source_id: str | None = None) -> None:
        """Deliver one raw item (or a ready Activity) to ``mailbox``."""
        items = self._items.setdefault(mailbox, [])
        items.append(_Item(kind, raw, source_id or f"{mailbox}#{len(items)}"))

    def expire_cursors(self) -> None:
        """Make every cursor handed out so far expire (the next pull with one raises)."""
        self._generation += 1

    def mailboxes(self) -> list[str]:
        """The configured mailboxes (a list), else those items were added to."""
        configured = self.settings.mailboxes
        # "salesforce_users" is resolved by the runner; here only explicit lists count.
        if not isinstance(configured, str) and configured:
            return list(configured)
        return sorted(self._items)

    def _position(self, cursor: str | None, size: int) -> int:
        if cursor is None:
            return 0
        prefix, _, rest = cursor.partition(":")
        generation, _, position = rest.partition(":")
        if prefix != "mem" or not generation.isdigit() or not position.isdigit():
            raise CursorExpired(f"not a memory cursor: {cursor[:40]!r}")
        if int(generation) != self._generation or int(position) > size:
            raise CursorExpired("memory cursor expired")
        return int(position)

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """Up to ``limit`` items after ``cursor``, normalised."""
        self.calls += 1
        items = self._items.get(mailbox, [])
        start = self._position(cursor, len(items))
        end = min(len(items), start + (limit or self.page_size))
        origin = self.context.origin(self.name, mailbox)
        window = self.context.backfill_start()
        activities: list[Activity] = []
        skips: list[Skip] = []
        for item in items[start:end]:
            result = item.raw if isinstance(item.raw, Activity) else _normalize(item, origin)
            if isinstance(result, Skip):
                skips.append(result)
            elif result.occurred_at < window:
                skips.append(Skip(item.source_id, SkipReason.OUTSIDE_WINDOW, key=result.key))
            else:
                activities.append(result)
        return Batch(
            activities=tuple(activities),
            skips=tuple(skips),
            next_cursor=f"mem:{self._generation}:{end}",
            more=end < len(items),
        )


def _normalize(item: _Item, origin: Any) -> Activity | Skip:
    if item.kind not in {"email", "meeting", "call"}:
        return Skip(item.source_id, SkipReason.UNPARSEABLE, f"unknown kind {item.kind[:20]!r}")
    if item.kind != "email" and not isinstance(item.raw, Mapping):
        return Skip(item.source_id, SkipReason.UNPARSEABLE, "not a mapping")
    return normalize(item.kind, item.raw, origin, source_id=item.source_id)
