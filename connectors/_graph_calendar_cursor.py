"""The Outlook calendar connector's cursor: the delta link, its window, and the rep's meetings.

Graph's ``calendarView/delta`` link keeps the window of the request that started it for ever
(https://learn.microsoft.com/en-us/graph/delta-query-events#track-changes-in-a-calendar-view),
and a meeting the rep organised and then cancelled or deleted comes back as ``@removed`` with
only its ``id`` (https://learn.microsoft.com/en-us/graph/api/event-delta). So the cursor keeps,
besides the link:

- ``window``: the ``[start, end)`` the link was opened with, so the connector knows when
  ``now + lookahead_days`` has moved past its end and a new window must be opened;
- ``organised``: for every meeting in the window the mailbox organises, its id → the neutral
  event last seen (the UID and instance already resolved). That is the vendor id → key
  mapping an ``@removed`` needs: the meeting's key and fields to re-write it as cancelled;
- ``listed``: while a new window is being listed (phase ``relist``), the ids of ``organised``
  the listing has returned; those it did not return are checked one by one when it ends, so a
  meeting deleted while the window moved is not lost.

Encoded as ``graph-cal:2:`` + base64url of zlib-compressed JSON (the organised meetings repeat
attendee addresses; compression keeps a busy organiser's cursor to a few kB). Version-1
cursors (``graph-cal:1:``, link only) still decode: their window is unknown, so the next pull
after their delta round opens a new window.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from syncd.errors import CursorExpired

PREFIX_V1 = "graph-cal:1:"
PREFIX = "graph-cal:2:"
PHASES = ("start", "next", "delta", "relist")


@dataclass
class CalendarCursor:
    """Where the calendar stream of one mailbox stands (see the module docstring)."""

    phase: str = "start"
    link: str = ""
    #: ISO start and end of the window the link was opened with ("" when unknown).
    window: tuple[str, str] = ("", "")
    organised: dict[str, dict[str, Any]] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)

    def encode(self) -> str:
        """The opaque cursor string."""
        data = {
            "phase": self.phase,
            "link": self.link,
            "window": list(self.window),
            "organised": self.organised,
            "listed": sorted(self.listed),
        }
        raw = zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 9)
        return PREFIX + base64.urlsafe_b64encode(raw).decode()

    @classmethod
    def decode(cls, cursor: str, graph_url: str) -> CalendarCursor:
        """Read a cursor; CursorExpired when it is not one of ours or points elsewhere."""
        try:
            if cursor.startswith(PREFIX):
                raw = zlib.decompress(base64.urlsafe_b64decode(cursor[len(PREFIX) :].encode()))
                data = json.loads(raw)
            elif cursor.startswith(PREFIX_V1):
                data = json.loads(base64.urlsafe_b64decode(cursor[len(PREFIX_V1) :].encode()))
            else:
                raise CursorExpired("not an Outlook calendar cursor")
            state = cls(
                phase=str(data["phase"]),
                link=str(data["link"]),
                window=tuple(str(x) for x in data.get("window") or ("", "")),  # type: ignore[arg-type]
                organised={str(k): dict(v) for k, v in (data.get("organised") or {}).items()},
                listed={str(x) for x in data.get("listed") or ()},
            )
        except (binascii.Error, zlib.error, ValueError, UnicodeDecodeError) as exc:
            raise CursorExpired("garbled Outlook calendar cursor") from exc
        except (KeyError, TypeError, AttributeError) as exc:
            raise CursorExpired("garbled Outlook calendar cursor") from exc
        root = graph_url.rstrip("/") + "/"
        if state.phase not in PHASES or len(state.window) != 2:
            raise CursorExpired("garbled Outlook calendar cursor")
        if state.phase != "start" and not state.link.startswith(root):
            raise CursorExpired("the Outlook calendar cursor is not a Graph link")
        return state
