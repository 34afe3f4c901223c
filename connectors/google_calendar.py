"""Google Calendar: the primary calendar of each mailbox, per instance, with sync tokens.

Full sync (``cursor=None``): ``events.list(calendarId="primary", singleEvents=True,
showDeleted=True, timeMin=<backfill start>, timeMax=<now + lookahead_days>)``, one page per
pull; the last page's ``nextSyncToken`` is the incremental cursor. Increments:
``events.list(syncToken=…, singleEvents=True, showDeleted=True)``; 410 Gone raises
``CursorExpired`` (the runner then runs the bounded full sync and counts it). Events changed
beyond the window's end are skipped as ``outside_window``.

Rolling window: a sync token only re-sends events that change, so a meeting booked further
ahead than ``lookahead_days`` would never come back once the window reaches it. The cursor
keeps the end of the range listed so far; once ``now + lookahead_days`` is a day past it, the
next pass first lists the new range (``timeMin`` = the old end, ``timeMax`` = the new one; a
few requests a day) and then goes on with the kept sync token, which still covers every change
since the first sync: nothing is lost, and what both see has one key (written once).

Recurring meetings are captured per instance: ``singleEvents`` expands them, each instance
keyed by the iCalUID and its ``originalStartTime``. All-day events and the event's own time
zone are read by :func:`~syncd.capture.normalize_calendar.normalize_meeting`. A cancelled
event comes through as a cancelled meeting: the planner marks the Event already written
("Canceled: …", shown as free) and skips one never written. Private and declined events are
skipped by the privacy rules.

In incremental sync Google sends a deleted event with only ``id`` and ``status: cancelled``,
and a cancelled instance of a series with only ``id``, ``recurringEventId`` and
``originalStartTime`` (https://developers.google.com/calendar/api/v3/reference/events#status).
Neither can be keyed as it stands (the key is the iCalUID and the instance start), so each is
described by one ``events.get`` (1 request): a cancelled instance from its series' master (not
cancelled, so complete), keyed by the master's iCalUID and ``originalStartTime``; a deleted
event from itself ("The get method always returns them"). Masters are fetched once per page.
A deleted event Google no longer describes is skipped as ``unparseable``, named so.

Cursor: ``gcal:2:full:<timeMin epoch>:<timeMax epoch>|<page token>`` during the full listing,
``gcal:2:sync:<window end epoch>:<sync token>|<page token>`` afterwards and
``gcal:2:ext:<from>:<to>:<sync token>|<page token>`` while a new range is listed (an empty page
token: the first page). Version 1 cursors (no window end) are still read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from connectors._google import Caller, GoogleSettings, QuotaMeter, build_service, credentials_for
from connectors.base import Connector, ConnectorContext, register
from syncd.capture.item_guard import guard
from syncd.capture.normalize_calendar import normalize_meeting, parse_when
from syncd.config import ConnectorSettings
from syncd.errors import CursorExpired, Permanent
from syncd.model import Activity, Batch, Skip, SkipReason

SCOPES = ["https://www.googleapis.com/auth/calendar.events.readonly"]
_CURSOR = re.compile(r"^gcal:1:(?:full:(\d{1,12}):(\d{1,12})|sync:([^|\s]{1,2000}))\|([^|\s]*)$")
_CURSOR_V2 = re.compile(
    r"^gcal:2:(?:full:(\d{1,12}):(\d{1,12})|sync:(\d{1,12}):([^|\s]{1,2000})"
    r"|ext:(\d{1,12}):(\d{1,12}):([^|\s]{1,2000}))\|([^|\s]*)$"
)
#: A new range is listed once the window's end has moved a day past the last one listed.
_EXTEND_AFTER = 86_400


class GoogleCalendarSettings(GoogleSettings):
    """``[[connectors]] type = "google_calendar"``: the shared keys and the look-ahead."""

    lookahead_days: int = 30


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def neutral(event: dict[str, Any]) -> dict[str, Any]:
    """A Calendar v3 event → the neutral dict ``normalize_meeting`` reads."""
    organizer = event.get("organizer") or {}
    return {
        "id": event.get("id"),
        "uid": event.get("iCalUID"),
        "start": event.get("start"),
        "end": event.get("end"),
        "summary": event.get("summary"),
        "location": event.get("location"),
        "description": event.get("description"),
        "organizer": {"email": organizer.get("email"), "name": organizer.get("displayName")},
        "attendees": [
            {
                "email": a.get("email"),
                "name": a.get("displayName"),
                "responseStatus": a.get("responseStatus"),
            }
            for a in event.get("attendees") or ()
            if isinstance(a, dict)
        ],
        "status": event.get("status"),
        "visibility": event.get("visibility"),
        # Google sets originalStartTime only on instances and moved exceptions of a series.
        "recurrence_id": event.get("originalStartTime"),
    }


@register
class GoogleCalendarConnector(Connector):
    """Primary calendars of a Workspace domain's mailboxes."""

    type: ClassVar[str] = "google_calendar"
    kinds: ClassVar[frozenset[str]] = frozenset({"meeting"})
    settings_model: ClassVar[type[ConnectorSettings]] = GoogleCalendarSettings
    page_size: ClassVar[int] = 250
    cursor_kind: ClassVar[str] = "calendar syncToken (+ page token during a full sync)"
    quota_cost_per_call: ClassVar[int] = 1

    def __init__(
        self,
        settings: ConnectorSettings,
        context: ConnectorContext | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(settings, context)
        self.caller = Caller(sleep=sleep or self.context.sleep)
        self.meter = QuotaMeter({"events.list": 1, "events.get": 1})
        self._services: dict[str, Any] = {}

    @property
    def _settings(self) -> GoogleCalendarSettings:
        assert isinstance(self.settings, GoogleCalendarSettings)
        return self.settings

    def mailboxes(self) -> list[str]:
        """The configured mailboxes, or the Salesforce users' when set to that."""
        configured = self.settings.mailboxes
        if configured == "salesforce_users":
            return sorted(self.context.user_addresses())
        return list(configured)

    def quota_used(self, mailbox: str) -> int:
        """Calendar requests (its quota unit) spent on ``mailbox`` since the connector started."""
        return self.meter.used[mailbox]

    def _service(self, mailbox: str) -> Any:
        if mailbox not in self._services:
            creds = credentials_for(self._settings, mailbox, SCOPES)
            self._services[mailbox] = build_service(self._settings, creds, "calendar", "v3")[0]
        return self._services[mailbox]

    def _window(self) -> tuple[int, int]:
        start = self.context.backfill_start()
        end = self.context.now() + timedelta(days=self._settings.lookahead_days)
        return int(start.timestamp()), int(end.timestamp())

    def _read(self, cursor: str | None) -> tuple[str, int, int, str | None, str]:
        """(phase, window start, window end, sync token, page token) of ``cursor``."""
        lo, hi = self._window()
        if cursor is None:
            return "full", lo, hi, None, ""
        match = _CURSOR.match(cursor)
        if match is not None:  # version 1: the window end was not kept
            lo_raw, hi_raw, sync, token = match.groups()
            if sync is None:
                return "full", int(lo_raw), int(hi_raw), None, token
            return "sync", lo, hi, sync, token
        match = _CURSOR_V2.match(cursor)
        if match is None:
            raise CursorExpired("not a google calendar cursor")
        full_lo, full_hi, sync_hi, sync, ext_lo, ext_hi, ext_sync, token = match.groups()
        if full_lo is not None:
            return "full", int(full_lo), int(full_hi), None, token
        if ext_lo is not None:
            return "ext", int(ext_lo), int(ext_hi), ext_sync, token
        return "sync", lo, int(sync_hi), sync, token

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """One page of events, normalised per instance (see the module docstring)."""
        size = max(1, min(limit or self.page_size, 2500))
        phase, lo, hi, sync, token = self._read(cursor)
        target = self._window()[1]
        if phase == "sync" and not token and target - hi >= _EXTEND_AFTER:
            phase, lo, hi = "ext", hi, target  # the window reached further: list the new range
        params: dict[str, Any] = {
            "calendarId": "primary",
            "singleEvents": True,
            "showDeleted": True,
            "maxResults": size,
        }
        if token:
            params["pageToken"] = token
        if phase == "sync":
            params["syncToken"] = sync
        else:
            params |= {"timeMin": _iso(lo), "timeMax": _iso(hi)}
        page = self.caller.execute(
            self._service(mailbox).events().list(**params), expired_status=410
        )
        self.meter.charge(mailbox, "events.list")
        items = self._describe_cancelled(mailbox, page.get("items", []))
        activities, skips = self._normalize(mailbox, items, lo, hi)
        following = page.get("nextPageToken")
        more = bool(following)
        if phase == "full":
            nxt = (
                f"gcal:2:full:{lo}:{hi}|{following}"
                if following
                else f"gcal:2:sync:{hi}:{page.get('nextSyncToken', '')}|"
            )
        elif phase == "ext":
            # The listing's own sync token is not needed: the kept one still covers every
            # change since the first sync. Then straight on to it, in the same pass.
            nxt = (
                f"gcal:2:ext:{lo}:{hi}:{sync}|{following}"
                if following
                else f"gcal:2:sync:{hi}:{sync}|"
            )
            more = True
        else:
            nxt = (
                f"gcal:2:sync:{hi}:{sync}|{following}"
                if following
                else f"gcal:2:sync:{hi}:{page.get('nextSyncToken', sync or '')}|"
            )
        self.log.info(
            "google calendar pull (%s): %d activities, %d skipped, %d requests used so far",
            phase,
            len(activities),
            len(skips),
            self.meter.used[mailbox],
            extra={"connector": self.name, "quota_units": self.meter.used[mailbox]},
        )
        return Batch(tuple(activities), tuple(skips), nxt, more)

    def _normalize(
        self, mailbox: str, items: list[Any], lo: int, hi: int
    ) -> tuple[list[Activity], list[Skip]]:
        origin = self.context.origin(self.name, mailbox)
        low, high = datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC)
        activities: list[Activity] = []
        skips: list[Skip] = []
        for event in items:
            if not isinstance(event, dict):
                skips.append(Skip("?", SkipReason.UNPARSEABLE, "event is not an object"))
                continue
            sid = str(event.get("id") or "?")
            if event.get("status") == "cancelled" and not event.get("start"):
                detail = "cancelled event google no longer describes"
                skips.append(Skip(sid, SkipReason.UNPARSEABLE, detail))
                continue
            result = guard(
                sid,
                lambda e=event, s=sid: normalize_meeting(neutral(e), origin, source_id=s),
            )
            if isinstance(result, Skip):
                skips.append(result)
            elif result.cancelled:
                activities.append(result)  # a cancellation applies wherever the Event lies
            elif result.occurred_at < low or result.occurred_at >= high:
                skips.append(Skip(sid, SkipReason.OUTSIDE_WINDOW, key=result.key))
            else:
                activities.append(result)
        return activities, skips

    def _get(self, mailbox: str, event_id: str) -> dict[str, Any] | None:
        """``events.get`` on the primary calendar; None when Google has forgotten the event."""
        request = self._service(mailbox).events().get(calendarId="primary", eventId=event_id)
        try:
            answer = self.caller.execute(request)
        except Permanent:
            return None  # 404/410: gone for good; the caller names the skip
        finally:
            self.meter.charge(mailbox, "events.get")
        return answer if isinstance(answer, dict) else None

    def _describe_cancelled(self, mailbox: str, items: list[Any]) -> list[Any]:
        """Cancelled items cut to their id (see the module docstring) → described events."""
        masters: dict[str, dict[str, Any] | None] = {}
        described: list[Any] = []
        for event in items:
            if (
                not isinstance(event, dict)
                or event.get("status") != "cancelled"
                or event.get("start")
                or not event.get("id")
            ):
                described.append(event)
                continue
            series, original = event.get("recurringEventId"), event.get("originalStartTime")
            if series and isinstance(original, dict):
                if series not in masters:
                    masters[series] = self._get(mailbox, str(series))
                master = masters[series]
                described.append(
                    instance_of(master, event, original)
                    if master and master.get("start")
                    else event
                )
            else:
                described.append(self._get(mailbox, str(event["id"])) or event)
        return described


def instance_of(
    master: dict[str, Any], event: dict[str, Any], original: dict[str, Any]
) -> dict[str, Any]:
    """The cancelled instance of ``master`` that started at ``original``, as a full event."""
    try:
        first, _ = parse_when(master["start"])
        last, _ = parse_when(master.get("end") or master["start"])
        start, all_day = parse_when(original)
    except ValueError:
        return event
    end: dict[str, Any]
    if all_day:
        end = {"date": (start + (last - first)).date().isoformat()}
    else:
        end = {"dateTime": (start + (last - first)).isoformat()}
    instance = {k: v for k, v in master.items() if k not in ("recurrence", "id")}
    return instance | {
        "id": event["id"],
        "status": "cancelled",
        "recurringEventId": event.get("recurringEventId"),
        "originalStartTime": original,
        "start": original,
        "end": end,
    }
