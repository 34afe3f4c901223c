"""Outlook calendars through Microsoft Graph ``calendarView/delta`` over the capture window.

``/users/{mailbox}/calendarView/delta?startDateTime=…&endDateTime=…`` from the backfill start
to ``lookahead_days`` after now, ``Prefer: odata.maxpagesize=<limit>, outlook.timezone="UTC",
IdType="ImmutableId"``. calendarView expands recurring series into their instances, so every
occurrence and exception arrives as its own event. One page per pull; the cursor is
``graph-cal:1:`` + base64url JSON ``{"phase": "start"|"next"|"delta", "link": …}`` and the
delta link is stored only after the batch is written. 410 / ``syncStateNotFound`` →
CursorExpired → the runner resyncs the window.

Keys (so Google and Microsoft views of one meeting are one Event):

- A single event: ``iCalUId``. When Exchange wraps an external organiser's UID in a
  GlobalObjectId (hex starting ``040000008200E00074C5B7101A82E008`` with a ``vCal-Uid`` payload,
  MS-OXOCAL PidLidGlobalObjectId), the embedded UID is used: that is the UID Google shows.
- An occurrence or exception of a series: Graph gives each instance its own ``iCalUId``, while
  Google gives every instance the series' ``iCalUID`` plus ``originalStartTime``. So the
  series master's ``iCalUId`` (fetched once per series, through ``$batch``, and cached) and
  the instance's ``originalStart`` are used: (uid, original start) is exactly what Google's
  (iCalUID, originalStartTime) gives, and ``syncd.capture.keys.meeting_key`` hashes both alike.

Times: requested in UTC; a ``timeZone`` Graph still names in Windows form is mapped to IANA for
the common zones. ``isAllDay`` events become dates (midnight UTC, end exclusive).
``isCancelled`` marks the meeting cancelled (the planner updates or drops it); an ``@removed``
entry carries only an id and is ignored: what was captured stays captured.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from connectors._graph import GraphClient, GraphSettings
from connectors.base import Connector, register
from syncd.capture.normalize_calendar import normalize_meeting
from syncd.config import ConnectorSettings
from syncd.errors import CursorExpired
from syncd.model import Activity, Batch, Skip, SkipReason

_PREFIX = "graph-cal:1:"
_GOID_CLASS = "040000008200E00074C5B7101A82E008"
_VCAL = b"vCal-Uid\x01\x00\x00\x00"
_SENSITIVITY = {
    "normal": "default",
    "personal": "private",
    "private": "private",
    "confidential": "confidential",
}
#: Windows zone names Graph may still return → IANA (the common ones; UTC is requested).
_WINDOWS_ZONES = {
    "UTC": "UTC",
    "GMT Standard Time": "Europe/London",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
    "Central Europe Standard Time": "Europe/Budapest",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "Pacific Standard Time": "America/Los_Angeles",
    "India Standard Time": "Asia/Kolkata",
    "Tokyo Standard Time": "Asia/Tokyo",
    "AUS Eastern Standard Time": "Australia/Sydney",
}


class OutlookCalendarSettings(GraphSettings):
    """``[[connectors]] type = "outlook_calendar"``."""

    lookahead_days: int = 30


def external_uid(ical_uid: str) -> str:
    """The UID Google shows for this Graph ``iCalUId`` (see the module docstring)."""
    text = ical_uid.strip()
    if not text.upper().startswith(_GOID_CLASS) or len(text) < 80:
        return text
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return text
    data = raw[40:]  # class id 16, instance date 4, creation time 8, reserved 8, size 4
    if data.startswith(_VCAL):
        return data[len(_VCAL) :].rstrip(b"\x00").decode("utf-8", "replace") or text
    return text


def _when(value: Any, all_day: bool) -> Any:
    if not isinstance(value, Mapping):
        return value
    text = str(value.get("dateTime") or "")
    zone = _WINDOWS_ZONES.get(str(value.get("timeZone") or "UTC"), value.get("timeZone"))
    if all_day:
        return text[:10]  # all-day events run midnight to midnight in their own calendar
    return {"dateTime": text, "timeZone": zone}


def neutral_event(event: Mapping[str, Any], uid: str, instance: Any) -> dict[str, Any]:
    """A Graph event as :mod:`syncd.capture.normalize_calendar`'s neutral dict."""
    all_day = bool(event.get("isAllDay"))
    location = event.get("location")
    return {
        "id": event.get("id"),
        "uid": uid,
        "start": _when(event.get("start"), all_day),
        "end": _when(event.get("end"), all_day),
        "all_day": all_day,
        "summary": event.get("subject") or "",
        "location": location.get("displayName") if isinstance(location, Mapping) else None,
        "organizer": event.get("organizer"),
        "attendees": list(event.get("attendees") or ()),
        "status": "cancelled" if event.get("isCancelled") else "confirmed",
        "visibility": _SENSITIVITY.get(str(event.get("sensitivity") or "normal"), "private"),
        "recurrence_id": instance,
    }


@register
class OutlookCalendarConnector(Connector):
    """Each configured mailbox's calendar, instances expanded, through calendarView delta."""

    type: ClassVar[str] = "outlook_calendar"
    kinds: ClassVar[frozenset[str]] = frozenset({"meeting"})
    settings_model: ClassVar[type[ConnectorSettings]] = OutlookCalendarSettings
    page_size: ClassVar[int] = 100
    cursor_kind: ClassVar[str] = "Graph calendarView delta/next link"
    quota_cost_per_call: ClassVar[int] = 1

    def __init__(self, settings: ConnectorSettings, context: Any = None, **client: Any) -> None:
        super().__init__(settings, context)
        assert isinstance(settings, OutlookCalendarSettings)
        self._settings = settings
        client.setdefault("sleep", self.context.sleep)
        self.client = GraphClient(settings, clock=self.context.clock, **client)
        #: (mailbox, series master id) → the series' UID; masters rarely change UID.
        self._series: dict[tuple[str, str], str | None] = {}

    def mailboxes(self) -> list[str]:
        """The configured mailboxes (``salesforce_users`` is resolved by the app)."""
        configured = self.settings.mailboxes
        return list(configured) if isinstance(configured, tuple) else []

    def _decode(self, cursor: str) -> tuple[str, str]:
        if not cursor.startswith(_PREFIX):
            raise CursorExpired("not an Outlook calendar cursor")
        try:
            state = json.loads(base64.urlsafe_b64decode(cursor[len(_PREFIX) :].encode()))
            phase, link = str(state["phase"]), str(state["link"])
        except (binascii.Error, ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise CursorExpired("garbled Outlook calendar cursor") from exc
        root = self._settings.graph_url.rstrip("/") + "/"
        if phase not in ("next", "delta") or not link.startswith(root):
            raise CursorExpired("the Outlook calendar cursor is not a Graph link")
        return phase, link

    @staticmethod
    def _encode(phase: str, link: str) -> str:
        raw = json.dumps({"phase": phase, "link": link}, separators=(",", ":")).encode()
        return _PREFIX + base64.urlsafe_b64encode(raw).decode()

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """One calendarView delta page after ``cursor`` (at most ``limit`` events)."""
        size = max(1, limit or self.page_size)
        if cursor is None:
            now = self.context.now()
            url = f"{self._settings.graph_url.rstrip('/')}/users/{mailbox}/calendarView/delta"
            params: dict[str, str] | None = {
                "startDateTime": self.context.backfill_start().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endDateTime": (now + timedelta(days=self._settings.lookahead_days)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
            }
        else:
            _, url = self._decode(cursor)
            params = None
        page = self.client.get(
            mailbox,
            url,
            params=params,
            headers={
                "Prefer": f'odata.maxpagesize={size}, outlook.timezone="UTC", IdType="ImmutableId"'
            },
            what="Outlook calendarView delta",
        )
        activities, skips = self._normalise(mailbox, page.get("value") or [])
        if page.get("@odata.nextLink"):
            next_cursor, more = self._encode("next", page["@odata.nextLink"]), True
        elif page.get("@odata.deltaLink"):
            next_cursor, more = self._encode("delta", page["@odata.deltaLink"]), False
        else:
            raise CursorExpired("Graph delta page without a next or delta link")
        self.log.info(
            "outlook calendar pull: %d activities, %d skipped", len(activities), len(skips)
        )
        return Batch(tuple(activities), tuple(skips), next_cursor, more)

    def _series_uids(self, mailbox: str, events: list[Mapping[str, Any]]) -> None:
        wanted = {
            str(e["seriesMasterId"])
            for e in events
            if e.get("seriesMasterId") and (mailbox, str(e["seriesMasterId"])) not in self._series
        }
        if not wanted:
            return
        paths = {m: f"/users/{mailbox}/events/{m}?$select=iCalUId" for m in sorted(wanted)}
        bodies = self.client.batch_get(mailbox, paths.values())
        for master, path in paths.items():
            body = bodies.get(path) or {}
            uid = body.get("iCalUId") if isinstance(body, Mapping) else None
            self._series[(mailbox, master)] = str(uid) if uid else None

    def _normalise(self, mailbox: str, items: list[Any]) -> tuple[list[Activity], list[Skip]]:
        origin = self.context.origin(self.name, mailbox)
        events = [e for e in items if isinstance(e, Mapping) and "@removed" not in e]
        self._series_uids(mailbox, events)
        activities: list[Activity] = []
        skips: list[Skip] = []
        for event in items:
            if not isinstance(event, Mapping):
                skips.append(Skip("?", SkipReason.UNPARSEABLE, "event is not an object"))
                continue
            if "@removed" in event:
                continue
            sid = str(event.get("id") or "?")
            master = event.get("seriesMasterId")
            if master:
                uid = self._series.get((mailbox, str(master)))
                instance = event.get("originalStart")
                if not uid or not instance:
                    skips.append(Skip(sid, SkipReason.NO_UID, "series master not readable"))
                    continue
            else:
                uid, instance = event.get("iCalUId"), None
            neutral = neutral_event(event, external_uid(str(uid or "")), instance)
            result = normalize_meeting(neutral, origin, source_id=sid)
            (skips if isinstance(result, Skip) else activities).append(result)  # type: ignore[arg-type]
        return activities, skips
