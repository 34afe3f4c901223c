"""Google Calendar: the primary calendar of each mailbox, per instance, with sync tokens.

Full sync (``cursor=None``): ``events.list(calendarId="primary", singleEvents=True,
showDeleted=True, timeMin=<backfill start>, timeMax=<now + lookahead_days>)``, one page per
pull; the last page's ``nextSyncToken`` is the incremental cursor. Increments:
``events.list(syncToken=…, singleEvents=True, showDeleted=True)``; 410 Gone raises
``CursorExpired`` (the runner then runs the bounded full sync and counts it). Events changed
outside the window are skipped as ``outside_window``.

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

Cursor: ``gcal:1:full:<timeMin epoch>:<timeMax epoch>|<page token>`` during the full listing,
``gcal:1:sync:<sync token>|<page token>`` afterwards (an empty page token: the first page).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from connectors._google import Caller, GoogleSettings, QuotaMeter, build_service, credentials_for
from connectors.base import Connector, ConnectorContext, register
from syncd.capture.normalize_calendar import normalize_meeting, parse_when
from syncd.config import ConnectorSettings
from syncd.errors import CursorExpired, Permanent
from syncd.model import Activity, Batch, Skip, SkipReason

SCOPES = ["https://www.googleapis.com/auth/calendar.events.readonly"]
_CURSOR = re.compile(r"^gcal:1:(?:full:(\d{1,12}):(\d{1,12})|sync:([^|\s]{1,2000}))\|([^|\s]*)$")


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

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """One page of events, normalised per instance."""
        size = max(1, min(limit or self.page_size, 2500))
        if cursor is None:
            lo, hi = self._window()
            sync, token = None, ""
        else:
            match = _CURSOR.match(cursor)
            if match is None:
                raise CursorExpired("not a google calendar cursor")
            lo_raw, hi_raw, sync, token = match.groups()
            lo, hi = (int(lo_raw), int(hi_raw)) if sync is None else self._window()
        params: dict[str, Any] = {
            "calendarId": "primary",
            "singleEvents": True,
            "showDeleted": True,
            "maxResults": size,
        }
        if token:
            params["pageToken"] = token
        if sync is not None:
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
        if following:
            head = f"gcal:1:sync:{sync}" if sync is not None else f"gcal:1:full:{lo}:{hi}"
            nxt, more = f"{head}|{following}", True
        else:
            nxt, more = f"gcal:1:sync:{page.get('nextSyncToken', sync or '')}|", False
        self.log.info(
            "google calendar pull: %d activities, %d skipped, %d requests used so far",
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
            result = normalize_meeting(neutral(event), origin, source_id=sid)
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
