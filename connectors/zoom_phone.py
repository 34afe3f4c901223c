"""Zoom Phone: the account's call history with server-to-server OAuth.

Settings (``[[connectors]] type = "zoom_phone"``): ``oauth_url`` (https://zoom.us),
``api_url`` (https://api.zoom.us), ``account_id``, ``client_id``, ``client_secret_env|_file``,
``ca_bundle``, ``page_size`` (≤300), ``settle``, and the phone keys of
:class:`connectors._phone.PhoneSettings`.

Auth: ``POST /oauth/token?grant_type=account_credentials&account_id=…`` with Basic
``client_id:client_secret``; tokens last an hour and a 401 takes one new token; a refused
client or account is ``AuthExpired``.

Listing: ``GET /v2/phone/call_history`` with ``from``/``to`` (Zoom allows one month per
request, so a backfill walks month-sized windows forward), paged by ``next_page_token``, at most
``per_second`` requests a second (a client-side limiter with injectable clock and sleep); a 429
is still retried after its ``Retry-After`` through :mod:`syncd.retry`. The page's array is
``call_history``, items keyed by ``call_history_uuid``; Zoom replaced the ``call_logs`` array
with it and removes ``call_logs`` in November 2026
(https://developers.zoom.us/docs/phone/migrate/). A tenant still answering ``call_logs`` is
read as before (keyed by ``call_id``); a page with neither array is an error, never an empty
page. Recordings need a Zoom login: with ``recording_links`` the Task says where the recording
lives (the Zoom web portal's call logs), not a download URL.

Cursor: ``zp:1:<start seconds>:<ids>`` — the start of the newest call taken and the ids taken at
that second (a :class:`connectors._cursor.HighWater`); each pull walks windows from there to
``now - settle`` until it holds more than ``limit`` calls. The rep is the caller on outbound calls
and the callee on inbound ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field

from connectors._cursor import HighWater, HighWaterFormat
from connectors._phone import (
    MinuteLimiter,
    PhoneApi,
    PhoneSettings,
    page_items,
    recording_where,
    rep_address,
    to_call,
    wants,
)
from connectors.base import Connector, ConnectorContext, register
from syncd.capture.item_guard import guard
from syncd.config import ConnectorSettings, Duration, SecretRef, secret_field
from syncd.errors import AuthExpired, Permanent
from syncd.model import Activity, Batch, Skip

HISTORY = "/v2/phone/call_history"
MONTH = timedelta(days=30)
CURSOR = HighWaterFormat("zp", "a Zoom Phone cursor")


class ZoomPhoneSettings(PhoneSettings):
    """``[[connectors]]`` keys of Zoom Phone."""

    oauth_url: str = "https://zoom.us"
    api_url: str = "https://api.zoom.us"
    account_id: str
    client_id: str
    client_secret: SecretRef = secret_field("the app's client secret", required=True)
    ca_bundle: str | None = None
    page_size: int = Field(default=300, ge=1, le=300)
    settle: Duration = timedelta(minutes=10)
    #: Call history is a Heavy API; Zoom counts Heavy requests per second.
    per_second: int = Field(default=10, ge=1)


def _stamp(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key(record: dict[str, Any]) -> tuple[int, str]:
    value = str(record.get("start_time") or "")
    start = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return int(start.timestamp()), str(record.get("call_history_uuid") or record.get("id"))


@register
class ZoomPhoneConnector(Connector):
    """The call history of one Zoom account."""

    type: ClassVar[str] = "zoom_phone"
    kinds: ClassVar[frozenset[str]] = frozenset({"call"})
    settings_model: ClassVar[type[ConnectorSettings]] = ZoomPhoneSettings
    page_size: ClassVar[int] = 300
    cursor_kind: ClassVar[str] = "newest start second taken + ids at that second"
    quota_cost_per_call: ClassVar[int] = 1

    def __init__(
        self,
        settings: ConnectorSettings,
        context: ConnectorContext | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(settings, context)
        s = self._settings
        sleep = sleep or self.context.sleep
        self.api = PhoneApi(s.api_url, ca_bundle=s.ca_bundle, sleep=sleep)
        self.limiter = MinuteLimiter(s.per_second, 1.0, clock=monotonic, sleep=sleep)
        self.oauth = PhoneApi(s.oauth_url, ca_bundle=s.ca_bundle, sleep=sleep)
        self._token: str | None = None

    @property
    def _settings(self) -> ZoomPhoneSettings:
        assert isinstance(self.settings, ZoomPhoneSettings)
        return self.settings

    def mailboxes(self) -> list[str]:
        """One unit for the whole account."""
        return [self._settings.mailbox]

    def _authenticate(self) -> str:
        s = self._settings
        try:
            response = self.oauth.send(
                "POST",
                "/oauth/token",
                params={"grant_type": "account_credentials", "account_id": s.account_id},
                auth=(s.client_id, s.client_secret.resolve()),
            )
        except (Permanent, AuthExpired) as exc:
            raise AuthExpired(
                "Zoom refused the app's client or account id", connector_wide=True
            ) from exc
        self._token = str(response.json()["access_token"])
        return self._token

    def _get(self, params: dict[str, Any]) -> Any:
        for attempt in (1, 2):
            token = self._token or self._authenticate()
            self.limiter.acquire()
            try:
                headers = {"Authorization": f"Bearer {token}"}
                return self.api.send("GET", HISTORY, params=params, headers=headers).json()
            except AuthExpired:
                self._token = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _window(self, low: int, high: int) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "from": _stamp(low),
            "to": _stamp(high),
            "page_size": self._settings.page_size,
        }
        found: list[dict[str, Any]] = []
        while True:
            body = self._get(params)
            found.extend(page_items(body, ("call_history", "call_logs"), "Zoom call history"))
            following = body.get("next_page_token")
            if not following:
                return found
            params = params | {"next_page_token": following}

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """The next calls after ``cursor``, oldest first."""
        limit = max(1, limit or self.page_size)
        if cursor is None:
            mark = HighWater(int(self.context.backfill_start().timestamp()))
            cursor = CURSOR.encode(mark)
        else:
            mark = CURSOR.decode(cursor)
        end = int((self.context.now() - self._settings.settle).timestamp())
        found: list[dict[str, Any]] = []
        start, more = mark.at, False
        while start <= end:
            stop = min(end, start + int(MONTH.total_seconds()))
            found.extend(mark.newer(self._window(start, stop), _key))
            start = stop + 1
            if len(found) > limit:
                more = True
                break
        found.sort(key=_key)
        chunk = found[:limit]
        more = more or len(found) > limit
        next_cursor = CURSOR.encode(mark.after([_key(r) for r in chunk])) if chunk else cursor
        activities: list[Activity] = []
        skips: list[Skip] = []
        for record in chunk:
            rid = str(record.get("id") or "?") if isinstance(record, dict) else "?"
            result = guard(rid, lambda r=record: self._call(r, mailbox))
            if result is not None:
                (skips if isinstance(result, Skip) else activities).append(result)  # type: ignore[arg-type]
        self.log.info(
            "zoom phone pull: %d calls, %d skipped, %d requests",
            len(activities),
            len(skips),
            self.api.calls,
        )
        return Batch(
            activities=tuple(activities), skips=tuple(skips), next_cursor=next_cursor, more=more
        )

    def _call(self, record: dict[str, Any], mailbox: str) -> Activity | Skip | None:
        direction = str(record.get("direction") or "").lower()
        side = "callee" if direction == "inbound" else "caller"
        rep = rep_address(self._settings, record.get(f"{side}_ext_id"), record.get(f"{side}_email"))
        if not wants(self._settings, mailbox, rep):
            return None
        if record.get("caller_ext_id") and record.get("callee_ext_id"):
            direction = "internal"
        ident = record.get("call_history_uuid") or record.get("call_id") or record.get("id")
        recorded = record.get("recording_status") == "recorded" or record.get("recording_url")
        where = f"web portal, Phone System Management > Call Logs, call {record.get('call_id')}"
        neutral = {
            "provider": "zoom_phone",
            "call_id": str(ident or ""),
            "started_at": record.get("start_time"),
            "duration_seconds": record.get("duration"),
            "direction": direction,
            "from": record.get("caller_did_number") or record.get("caller_number"),
            "to": record.get("callee_did_number") or record.get("callee_number"),
            "from_name": record.get("caller_name"),
            "to_name": record.get("callee_name"),
            "user_address": rep,
            "disposition": record.get("call_result") or record.get("result"),
            "recording_url": recording_where("Zoom Phone", where) if recorded else None,
        }
        return to_call(self, neutral, self._settings.mailbox)
