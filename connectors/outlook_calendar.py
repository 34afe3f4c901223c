"""Outlook calendars through Microsoft Graph ``calendarView/delta`` over the capture window.

``/users/{mailbox}/calendarView/delta?startDateTime=…&endDateTime=…`` from the backfill start
to ``lookahead_days`` after now, ``Prefer: odata.maxpagesize=<limit>, outlook.timezone="UTC",
IdType="ImmutableId"``. calendarView expands recurring series into their instances, so every
occurrence and exception arrives as its own event. One page per pull; the cursor
(:mod:`connectors._graph_calendar_cursor`) is stored only after the batch is written. 410 /
``syncStateNotFound`` → CursorExpired → the runner resyncs the window.

Windows: a delta link keeps the window it was opened with for ever, so once ``now +
lookahead_days`` is a day past its end, the next pull after a finished round opens a new
window (backfill start to lookahead) and lists it whole: meetings booked beyond the old end
arrive, the ones already written are sightings (same keys), and the mailbox's own meetings
the new listing no longer returns are checked one by one (see below), so nothing that changed
while the window moved is lost. Cost: one full listing of the window per mailbox a day.

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
``isCancelled`` marks the meeting cancelled (the planner re-writes a written Event as
cancelled, or skips one never written). An organiser's cancelled or deleted meeting comes back
only as ``{"id", "@removed"}``; the cursor keeps each meeting the mailbox organises (id →
what was last seen), so such an entry is read once more through ``$batch``: a 404 re-writes
the meeting, from the cursor's copy, as cancelled in the same pass; an event still there
(an event that left the view without being deleted, which an id alone cannot tell apart) is
taken as it is now. An
``@removed`` for a meeting the mailbox only attends is the rep taking it off their calendar,
not a cancellation, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from connectors._graph import GraphClient, GraphSettings, series_uids
from connectors._graph_calendar_cursor import CalendarCursor
from connectors._pages import page_items
from connectors.base import Connector, ConnectorContext, register
from syncd.capture.item_guard import guard
from syncd.capture.normalize import Origin
from syncd.capture.normalize_calendar import normalize_meeting
from syncd.config import ConnectorSettings
from syncd.errors import CursorExpired
from syncd.model import Activity, Batch, Meeting, Skip, SkipReason

#: A delta link whose window ends this much before ``now + lookahead_days`` is replaced.
REWINDOW_AFTER = timedelta(days=1)
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

    def __init__(
        self, settings: ConnectorSettings, context: ConnectorContext | None = None, **client: Any
    ) -> None:
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

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """One calendarView delta page after ``cursor`` (at most ``limit`` events)."""
        size = max(1, limit or self.page_size)
        if cursor is None:
            state = CalendarCursor(window=self._window())
        else:
            state = CalendarCursor.decode(cursor, self._settings.graph_url)
            if state.phase == "delta" and self._stale(state):
                state.phase, state.link, state.listed = "relist", "", set()
                state.window = self._window()
        params: dict[str, str] | None = None
        if state.phase == "start" or (state.phase == "relist" and not state.link):
            url = f"{self._settings.graph_url.rstrip('/')}/users/{mailbox}/calendarView/delta"
            params = {"startDateTime": state.window[0], "endDateTime": state.window[1]}
        else:
            url = state.link
        page = self.client.get(
            mailbox,
            url,
            params=params,
            headers={
                "Prefer": f'odata.maxpagesize={size}, outlook.timezone="UTC", IdType="ImmutableId"'
            },
            what="Outlook calendarView delta",
        )
        items = page_items(page, ("value",), "Outlook calendarView delta")
        activities, skips = self._normalise(mailbox, state, items)
        if page.get("@odata.nextLink"):
            state.link = page["@odata.nextLink"]
            state.phase = "relist" if state.phase == "relist" else "next"
        elif page.get("@odata.deltaLink"):
            if state.phase == "relist":
                found, lost = self._relisted(mailbox, state)
                activities += found
                skips += lost
            state.phase, state.link = "delta", page["@odata.deltaLink"]
        else:
            raise CursorExpired("Graph delta page without a next or delta link")
        self.log.info(
            "outlook calendar pull: %d activities, %d skipped", len(activities), len(skips)
        )
        more = state.phase != "delta"
        return Batch(tuple(activities), tuple(skips), state.encode(), more)

    def _window(self) -> tuple[str, str]:
        """The window a new delta link is opened with: the backfill start to the lookahead."""
        now = self.context.now()
        end = now + timedelta(days=self._settings.lookahead_days)
        return (
            self.context.backfill_start().strftime("%Y-%m-%dT%H:%M:%SZ"),
            end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    def _stale(self, state: CalendarCursor) -> bool:
        """True once the link's window ends a day or more before ``now + lookahead_days``."""
        try:
            end = datetime.fromisoformat(state.window[1].replace("Z", "+00:00"))
        except ValueError:
            return True  # a version-1 cursor: its window is unknown
        wanted = self.context.now() + timedelta(days=self._settings.lookahead_days)
        return wanted - end >= REWINDOW_AFTER

    def _relisted(self, mailbox: str, state: CalendarCursor) -> tuple[list[Activity], list[Skip]]:
        """After listing a new window: check the organised meetings it did not return."""
        start = state.window[0].rstrip("Z")
        missing = [i for i in state.organised if i not in state.listed]
        state.listed = set()
        activities, skips = self._confirm(mailbox, state, missing)
        for sid, neutral in list(state.organised.items()):
            if _ends(neutral) < start:  # fell out of the window: nothing will report it
                state.organised.pop(sid)
        return activities, skips

    def _series_uids(self, mailbox: str, events: list[Mapping[str, Any]]) -> None:
        wanted = {
            str(e["seriesMasterId"])
            for e in events
            if e.get("seriesMasterId") and (mailbox, str(e["seriesMasterId"])) not in self._series
        }
        for master, uid in series_uids(self.client, mailbox, wanted).items():
            self._series[(mailbox, master)] = uid

    def _normalise(
        self, mailbox: str, state: CalendarCursor, items: list[Any]
    ) -> tuple[list[Activity], list[Skip]]:
        events: list[Mapping[str, Any]] = []
        removed: list[str] = []
        skips: list[Skip] = []
        for item in items:
            if not isinstance(item, Mapping):
                skips.append(Skip("?", SkipReason.UNPARSEABLE, "event is not an object"))
            elif "@removed" in item:
                removed.append(str(item.get("id") or ""))
            else:
                events.append(item)
                if state.phase == "relist":
                    state.listed.add(str(item.get("id") or ""))
        # Only the mailbox's own meetings: an attendee removing one from their calendar does
        # not cancel it (the organiser's cancellation reaches attendees as isCancelled).
        activities, found_skips = self.normalise_events(mailbox, state, events)
        gone, gone_skips = self._confirm(
            mailbox, state, [r for r in removed if r in state.organised]
        )
        return activities + gone, skips + found_skips + gone_skips

    def _confirm(
        self, mailbox: str, state: CalendarCursor, ids: list[str]
    ) -> tuple[list[Activity], list[Skip]]:
        """Organised meetings Graph no longer shows in the view: deleted, or moved away.

        An id alone does not say whether the event was deleted or only left the view, so each
        is read once (``$batch``): a 404 means deleted or cancelled, and the meeting is
        re-written from the cursor's copy as cancelled; one still there is taken as it is now.
        """
        if not ids:
            return [], []
        paths = {i: f"/users/{mailbox}/events/{i}" for i in ids}
        bodies = self.client.batch_get(mailbox, paths.values())
        still = [b for i in ids if (b := bodies.get(paths[i])) is not None]
        activities, skips = self.normalise_events(mailbox, state, still)
        origin = self.context.origin(self.name, mailbox)
        for sid in ids:
            neutral = state.organised.pop(sid, None)
            if bodies.get(paths[sid]) is not None or neutral is None:
                continue
            result = normalize_meeting(dict(neutral, status="cancelled"), origin, source_id=sid)
            (skips if isinstance(result, Skip) else activities).append(result)  # type: ignore[arg-type]
        for body in still:  # moved out of the window: the next new window lists it again
            state.organised.pop(str(body.get("id") or ""), None)
        return activities, skips

    def normalise_events(
        self, mailbox: str, state: CalendarCursor, events: list[Mapping[str, Any]]
    ) -> tuple[list[Activity], list[Skip]]:
        """Graph events → meetings and named skips; ``state`` learns the organised ones."""
        origin = self.context.origin(self.name, mailbox)
        self._series_uids(mailbox, events)
        activities: list[Activity] = []
        skips: list[Skip] = []
        for event in events:
            sid = str(event.get("id") or "?")
            found = guard(sid, lambda e=event, s=sid: self._meeting(e, s, mailbox, origin))
            if isinstance(found, Skip):
                skips.append(found)
                continue
            result, neutral = found
            activities.append(result)
            if _organises(event, mailbox) and not result.cancelled:
                state.organised[sid] = neutral
            else:
                state.organised.pop(sid, None)
        return activities, skips

    def _meeting(
        self, event: Mapping[str, Any], sid: str, mailbox: str, origin: Origin
    ) -> tuple[Meeting, dict[str, Any]] | Skip:
        """One Graph event → (Meeting, its neutral dict) or Skip.

        An instance of a series takes its series master's iCalUID.
        """
        master = event.get("seriesMasterId")
        if master:
            uid = self._series.get((mailbox, str(master)))
            instance = event.get("originalStart")
            if not uid or not instance:
                return Skip(sid, SkipReason.NO_UID, "series master not readable")
        else:
            uid, instance = event.get("iCalUId"), None
        neutral = neutral_event(event, external_uid(str(uid or "")), instance)
        result = normalize_meeting(neutral, origin, source_id=sid)
        return result if isinstance(result, Skip) else (result, neutral)


def _organises(event: Mapping[str, Any], mailbox: str) -> bool:
    if event.get("isOrganizer") is True:
        return True
    organizer = event.get("organizer")
    inner = organizer.get("emailAddress") if isinstance(organizer, Mapping) else None
    address = inner.get("address") if isinstance(inner, Mapping) else None
    return str(address or "").lower() == mailbox.lower()


def _ends(neutral: Mapping[str, Any]) -> str:
    """The neutral event's end as sortable UTC text (dates compare as their midnight)."""
    end = neutral.get("end")
    text = str(end.get("dateTime") if isinstance(end, Mapping) else end or "")
    return text.replace("Z", "")[:19] if "T" in text else f"{text[:10]}T00:00:00"
