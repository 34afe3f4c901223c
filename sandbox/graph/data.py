"""The Graph sandbox's mailboxes: messages per folder, calendar events, and delta state.

Every change in a mailbox (a message or event added, changed or removed) takes the next value
of that mailbox's change counter (``seq``). A delta round is a snapshot: its first request
fixes ``upto`` (the counter's current value), its pages return the items changed in
``(since, upto]`` in counter order, and its ``@odata.deltaLink`` starts the next round at
``since = upto``. So paging never loses or repeats an item, and a change made during a round
lands in the next one, as Graph promises.

Delta and skip tokens are opaque to clients (base64url JSON) and carry the mailbox's token
generation: :meth:`Mailbox.expire_tokens` bumps it, after which every old token is answered
with 410 ``syncStateNotFound`` as Graph answers an expired sync state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class SyncStateGone(Exception):
    """A delta or skip token that is unknown, garbled or expired (HTTP 410)."""


def graph_time(value: datetime) -> str:
    """Graph's UTC timestamp form for message dates: ``2026-03-01T09:00:00Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_time(value: datetime) -> dict[str, str]:
    """Graph's dateTimeTimeZone in UTC (seven fractional digits, as Graph writes them)."""
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + ".0000000"
    return {"dateTime": text, "timeZone": "UTC"}


def parse_time(text: str) -> datetime:
    """A Graph timestamp (``Z`` or offset, or a dateTimeTimeZone in UTC) as aware UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def make_id(*parts: str) -> str:
    """A stable immutable-style id (Graph ids are long base64 strings)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return "AAkAL" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass
class Item:
    """One message or event instance with the counter value of its last change."""

    id: str
    seq: int
    body: dict[str, Any]
    folder: str
    removed: bool = False


@dataclass
class Mailbox:
    """One user's mail folders and calendar."""

    user_id: str
    address: str
    seq: int = 0
    generation: int = 0
    messages: dict[str, Item] = field(default_factory=dict)
    events: dict[str, Item] = field(default_factory=dict)
    #: Series masters, fetched by id (calendarView delta returns only instances).
    masters: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: eventMessage id → the id of its event in this calendar (the ``event`` navigation).
    message_events: dict[str, str] = field(default_factory=dict)

    def _bump(self) -> int:
        self.seq += 1
        return self.seq

    def put_message(self, folder: str, body: dict[str, Any]) -> str:
        """Add or replace a message (``body`` in Graph's shape, with ``id``)."""
        item = Item(body["id"], self._bump(), body, folder)
        self.messages[item.id] = item
        return item.id

    def remove_message(self, message_id: str) -> None:
        """Delete a message; delta returns it once as ``@removed``."""
        item = self.messages[message_id]
        item.removed, item.seq = True, self._bump()

    def put_event(self, body: dict[str, Any]) -> str:
        """Add or replace an event instance (Graph shape, with ``id``)."""
        item = Item(body["id"], self._bump(), body, "calendar")
        self.events[item.id] = item
        return item.id

    def remove_event(self, event_id: str) -> None:
        """Delete an event instance (delta: ``@removed``)."""
        item = self.events[event_id]
        item.removed, item.seq = True, self._bump()

    def expire_tokens(self) -> None:
        """Invalidate every delta and skip token issued so far for this mailbox."""
        self.generation += 1

    # -- tokens ---------------------------------------------------------------------------------

    def token(self, state: dict[str, Any]) -> str:
        """An opaque token for ``state``, stamped with this mailbox and its generation."""
        data = dict(state, u=self.user_id, g=self.generation)
        raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def read_token(self, token: str, kind: str) -> dict[str, Any]:
        """The state in ``token``; raises :class:`SyncStateGone` when it cannot be used."""
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise SyncStateGone("garbled token") from exc
        if not isinstance(data, dict) or data.get("u") != self.user_id or data.get("k") != kind:
            raise SyncStateGone("token of another mailbox or resource")
        if data.get("g") != self.generation:
            raise SyncStateGone("sync state expired")
        return data

    # -- delta pages ----------------------------------------------------------------------------

    def changed(
        self,
        items: dict[str, Item],
        since: int,
        upto: int,
        after: int,
        keep: Any,
        limit: int,
    ) -> list[Item]:
        """Up to ``limit`` items changed in ``(since, upto]`` after position ``after``.

        Items are in counter order. The cheap counter test runs first so a page of a large
        mailbox does not inspect every item's dates.
        """
        low = max(since, after)
        candidates = sorted((i for i in items.values() if low < i.seq <= upto), key=lambda i: i.seq)
        found: list[Item] = []
        for item in candidates:
            if item.removed:
                # Removed before the first round started: never seen, nothing to report.
                if since == 0:
                    continue
            elif not keep(item):
                continue
            found.append(item)
            if len(found) >= limit:
                break
        return found
