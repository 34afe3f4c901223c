"""Calendar v3 ``events.list`` as the sandbox keeps it: primary calendars, changes, sync tokens.

Each calendar holds event resources in Google's shape (``start``/``end`` as ``dateTime`` +
``timeZone`` or ``date``, ``recurrence``, ``attendees`` with ``responseStatus``,
``visibility``, ``status``, ``iCalUID``). Every change takes the calendar's next sequence
number. ``events.list``:

- ``singleEvents=true`` expands recurring events into instances (id ``<master>_<start>``,
  ``recurringEventId``, ``originalStartTime``), exceptions replacing the instance they move;
- ``timeMin``/``timeMax`` bound by overlap; ``showDeleted`` includes cancelled events;
- ``syncToken`` returns everything changed since (cancelled included) and refuses
  ``timeMin``/``timeMax``/``orderBy``/``q``/``iCalUID``/``updatedMin`` with 400; a token older
  than the calendar keeps answers 410 ``fullSyncRequired``;
- ``maxResults`` ≤2,500 (default 250); ``nextSyncToken`` only on the last page. Page tokens pin
  the listing's snapshot, so asking for a page again returns the same page.

Recurring instances are generated within about 400 days of the sandbox clock when no
``timeMin``/``timeMax`` bound them.

Cancelled events are listed in the shapes Google documents for ``status: cancelled``
(https://developers.google.com/calendar/api/v3/reference/events#status): a deleted event
carries only ``id`` and ``status`` ("Deleted events are only guaranteed to have the id field
populated"), a cancelled exception of a recurring event only ``id``, ``recurringEventId`` and
``originalStartTime``. The list method returns them only on incremental sync or with
``showDeleted``; ``events.get`` "always returns them", here with their stored fields.
"""

from __future__ import annotations

import base64
import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.google.errors import ApiError
from sandbox.google.recurrence import expand, start_of, zone_of

_SYNC_FORBIDS = ("timeMin", "timeMax", "orderBy", "q", "iCalUID", "updatedMin")
HORIZON = timedelta(days=400)


@dataclass
class CalendarData:
    """One user's primary calendar."""

    owner: str
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    seq: int = 0
    oldest_token: int = 0


def _encode(*values: int) -> str:
    raw = ":".join(str(v) for v in values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str, n: int) -> list[int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        values = [int(v) for v in raw.split(":")]
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid", "Invalid token") from exc
    if len(values) != n:
        raise ApiError(400, "invalid", "Invalid token")
    return values


def _rfc3339(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, "badRequest", f"Bad Request: {name}") from exc
    if parsed.tzinfo is None:
        raise ApiError(400, "badRequest", f"{name} must have a time zone offset")
    return parsed.astimezone(UTC)


def _bounds(event: dict[str, Any]) -> tuple[datetime, datetime]:
    zone = zone_of(event["start"])
    start, _ = start_of(event["start"], zone)
    end, _ = start_of(event.get("end") or event["start"], zone_of(event.get("end") or {}, zone))
    return start.replace(tzinfo=zone).astimezone(UTC), end.replace(tzinfo=zone).astimezone(UTC)


def _instant(when: dict[str, str]) -> str:
    """An instance's original start compared as an instant (UTC), or as a date."""
    if "dateTime" in when:
        return datetime.fromisoformat(when["dateTime"]).astimezone(UTC).isoformat()
    return str(when.get("date"))


def _listed(event: dict[str, Any]) -> dict[str, Any]:
    """An event as ``events.list`` sends it: cancelled ones cut to the documented minimum."""
    if event.get("status") == "cancelled":
        keep = ("kind", "id", "status", "recurringEventId", "originalStartTime")
        if not event.get("recurringEventId"):
            keep = ("kind", "id", "status")
        return {k: event[k] for k in keep if k in event}
    return {k: v for k, v in event.items() if not k.startswith("_")}


class Calendar:
    """Every user's primary calendar."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.calendars: dict[str, CalendarData] = {}
        self._ids = 0
        self._lock = threading.RLock()
        self._memo: tuple[tuple[Any, ...], list[dict[str, Any]]] | None = None

    # -- test and seeding API -------------------------------------------------------------

    def calendar(self, address: str) -> CalendarData:
        """The calendar of ``address``, created empty on first use."""
        with self._lock:
            return self.calendars.setdefault(address.lower(), CalendarData(address.lower()))

    def add_event(self, address: str, event: dict[str, Any], *, copy_event: bool = True) -> str:
        """Store a new event (Google's resource shape); its id.

        ``copy_event=False`` stores the dict itself (bulk loaders that built it for this).
        """
        with self._lock:
            cal = self.calendar(address)
            self._ids += 1
            event = copy.deepcopy(event) if copy_event else event
            event.setdefault("id", f"evt{self._ids:08x}")
            event.setdefault("iCalUID", f"{event['id']}@google.com")
            event.setdefault("status", "confirmed")
            event.setdefault("kind", "calendar#event")
            return self._save(cal, event)

    def update_event(self, address: str, event_id: str, **changes: Any) -> None:
        """Change fields of a stored event (``status="cancelled"`` deletes it)."""
        with self._lock:
            cal = self.calendar(address)
            event = copy.deepcopy(cal.events[event_id]) | changes
            self._save(cal, event)

    def expire_sync_tokens(self, address: str) -> None:
        """Every sync token issued so far for ``address`` now answers 410 Gone."""
        with self._lock:
            cal = self.calendar(address)
            cal.seq += 1
            cal.oldest_token = cal.seq

    def _save(self, cal: CalendarData, event: dict[str, Any]) -> str:
        cal.seq += 1
        event["_seq"] = cal.seq
        event["updated"] = self.clock().astimezone(UTC).isoformat().replace("+00:00", "Z")
        cal.events[event["id"]] = event
        return str(event["id"])

    # -- events.get -------------------------------------------------------------------------

    def get_event(self, user: str, event_id: str) -> dict[str, Any]:
        """events.get: a stored event (cancelled ones too), or 404."""
        with self._lock:
            event = self.calendar(user).events.get(event_id)
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        return {k: v for k, v in event.items() if not k.startswith("_")}

    # -- events.list ------------------------------------------------------------------------

    def list_events(self, user: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """events.list on ``user``'s primary calendar."""
        one = {k: v[0] for k, v in query.items() if v}
        cal = self.calendar(user)
        sync = one.get("syncToken")
        if sync is not None:
            clash = [name for name in _SYNC_FORBIDS if name in one]
            if clash:
                raise ApiError(400, "invalid", f"Sync token cannot be used with {clash[0]}")
        if one.get("orderBy") == "startTime" and one.get("singleEvents") != "true":
            raise ApiError(400, "badRequest", "orderBy=startTime requires singleEvents")
        raw_size = one.get("maxResults", "250")
        if not raw_size.isdigit() or int(raw_size) < 1:
            raise ApiError(400, "invalid", "Invalid maxResults")
        size = min(int(raw_size), 2500)
        with self._lock:
            if one.get("pageToken"):
                offset, snapshot, since = _decode(one["pageToken"], 3)
            else:
                offset, snapshot = 0, cal.seq
                since = _decode(sync, 1)[0] if sync is not None else -1
            if since >= 0 and since < cal.oldest_token:
                message = "Sync token is no longer valid, a full sync is required."
                raise ApiError(410, "fullSyncRequired", message)
            items = self._items(cal, one, since, snapshot)
        page = items[offset : offset + size]
        answer: dict[str, Any] = {
            "kind": "calendar#events",
            "summary": cal.owner,
            "timeZone": "UTC",
            "items": [_listed(e) for e in page],
        }
        if offset + size < len(items):
            answer["nextPageToken"] = _encode(offset + size, snapshot, since)
        else:
            answer["nextSyncToken"] = _encode(snapshot)
        return answer

    def _items(
        self, cal: CalendarData, one: dict[str, str], since: int, snapshot: int
    ) -> list[dict[str, Any]]:
        now = self.clock().astimezone(UTC)
        lo = _rfc3339(one["timeMin"], "timeMin") if "timeMin" in one else now - HORIZON
        hi = _rfc3339(one["timeMax"], "timeMax") if "timeMax" in one else now + HORIZON
        single = one.get("singleEvents") == "true"
        show_deleted = one.get("showDeleted") == "true" or since >= 0
        memo = (id(cal), cal.seq, snapshot, since, lo, hi, single, show_deleted)
        if self._memo is not None and self._memo[0] == memo:
            return self._memo[1]  # the next page of the same listing: nothing changed
        events = [e for e in cal.events.values() if e["_seq"] <= snapshot]
        out: list[dict[str, Any]] = []
        if single:
            exceptions = {
                (e["recurringEventId"], _instant(e["originalStartTime"])): e
                for e in events
                if e.get("recurringEventId")
            }
            for event in events:
                if event.get("recurringEventId"):
                    out.append(event)
                elif event.get("recurrence"):
                    out += self._instances(event, exceptions, lo, hi)
                else:
                    out.append(event)
        else:
            out = events
        chosen = []
        for event in out:
            if since >= 0 and event["_seq"] <= since:
                continue
            if event.get("status") == "cancelled" and not show_deleted:
                continue
            start, end = _bounds(event)
            if (
                since < 0
                and not (end > lo and start < hi)
                and not (start == end and lo <= start < hi)
            ):
                continue
            chosen.append((start, event["id"], event))
        chosen.sort(key=lambda item: (item[0], item[1]))
        result = [event for _, _, event in chosen]
        self._memo = (memo, result)
        return result

    def _instances(
        self,
        master: dict[str, Any],
        exceptions: dict[tuple[str, str], dict[str, Any]],
        lo: datetime,
        hi: datetime,
    ) -> list[dict[str, Any]]:
        zone = zone_of(master["start"])
        first, all_day = start_of(master["start"], zone)
        last, _ = start_of(master.get("end") or master["start"], zone)
        length = last - first
        lo_local = (lo - length).astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
        hi_local = hi.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
        out = []
        for local in expand(master["recurrence"], first, zone, lo_local, hi_local):
            if all_day:
                start = {"date": local.date().isoformat()}
                end = {"date": (local + length).date().isoformat()}
                suffix = f"{local:%Y%m%d}"
            else:
                aware = local.replace(tzinfo=zone)
                tz_name = master["start"].get("timeZone")
                start = {"dateTime": aware.isoformat()} | ({"timeZone": tz_name} if tz_name else {})
                end_aware = (local + length).replace(tzinfo=zone)
                end = {"dateTime": end_aware.isoformat()} | (
                    {"timeZone": tz_name} if tz_name else {}
                )
                suffix = f"{aware.astimezone(UTC):%Y%m%dT%H%M%SZ}"
            moved = exceptions.get((master["id"], _instant(start)))
            if moved is not None:
                continue  # the exception itself is listed in its place
            instance = {k: v for k, v in master.items() if k != "recurrence"}
            instance |= {"id": f"{master['id']}_{suffix}", "recurringEventId": master["id"],
                         "originalStartTime": start, "start": start, "end": end}  # fmt: skip
            out.append(instance)
        return out
