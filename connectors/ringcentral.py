"""RingCentral: the company call log (Detailed view) with JWT auth, under the Heavy limit.

Settings (``[[connectors]] type = "ringcentral"``): ``server_url``, ``client_id``,
``client_secret_env|_file``, ``jwt_env|_file`` (the JWT credential from the developer console),
``ca_bundle``, ``per_page`` (≤1000), ``heavy_limit`` (requests a minute, 10 as RingCentral
documents for the Heavy group), ``settle`` (how old a call must be before it is taken, so a
call still being logged is not passed over), and the phone keys of
:class:`connectors._phone.PhoneSettings`.

Auth: ``POST /restapi/oauth/token`` with ``grant_type=urn:ietf:params:oauth:grant-type:
jwt-bearer``; a 401 from the API takes one new token; a refused JWT is ``AuthExpired``.

Rate: RingCentral counts each rate group on its own
(https://developers.ringcentral.com/guide/basics/rate-limits): the call log is Heavy (10 a
minute), the extension directory Medium (40), the token endpoint Auth (5). One
:class:`MinuteLimiter` per group keeps this connector under each on its own — it waits
(injected sleep and clock) before a request would go over — and ``X-Rate-Limit-Remaining: 0``
makes it wait a whole ``X-Rate-Limit-Window``; a 429 still happens if another app shares the
quota, and its ``Retry-After`` is honoured through :mod:`syncd.retry`.

Reps: the extension directory maps a call's extension to the rep's email. It is read whole,
page by page through ``navigation.nextPage`` (an account may have more than the 1,000 a page
holds), and read again once ``directory_refresh`` has passed or when a call names an extension
it does not know (at most once a pull), so a rep added later is mapped.

Recordings: ``recording.contentUri`` needs a RingCentral access token, so with
``recording_links`` the Task says where the recording lives (the call log) instead.

Cursor: ``rc:1:<start ms>:<ids>`` — the start time of the newest call taken and the ids taken at
exactly that time (a :class:`connectors._cursor.HighWater` in milliseconds). RingCentral lists
newest first, so each pull lists the window from that time to ``now - settle`` (every page), sorts
it oldest first and takes ``limit`` calls; the rest of the listing is kept for the next pull of the
same pass, so a backfill lists each page once.
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
from syncd.model import Activity, Batch, Skip, SkipReason

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CALL_LOG = "/restapi/v1.0/account/~/call-log"
EXTENSIONS = "/restapi/v1.0/account/~/extension"
CURSOR = HighWaterFormat("rc", "a RingCentral cursor")


class RingCentralSettings(PhoneSettings):
    """``[[connectors]]`` keys of RingCentral."""

    server_url: str = "https://platform.ringcentral.com"
    client_id: str
    client_secret: SecretRef = secret_field("the app's client secret", required=True)
    jwt: SecretRef = secret_field("the JWT credential", required=True)
    ca_bundle: str | None = None
    per_page: int = Field(default=1000, ge=1, le=1000)
    heavy_limit: int = Field(default=10, ge=1)
    #: Requests a minute in the Medium group (the extension directory) and the Auth group.
    medium_limit: int = Field(default=40, ge=1)
    auth_limit: int = Field(default=5, ge=1)
    #: How long the extension directory (extension → rep email) is kept before it is re-read.
    directory_refresh: Duration = timedelta(hours=1)
    settle: Duration = timedelta(minutes=10)


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _recording(record: dict[str, Any]) -> str | None:
    recording = record.get("recording")
    if not isinstance(recording, dict):
        return None
    when = str(record.get("startTime") or "")[:16].replace("T", " ")
    return recording_where("RingCentral", f"Call Log, {when} UTC, recording {recording.get('id')}")


def _key(record: dict[str, Any]) -> tuple[int, str]:
    start = datetime.fromisoformat(str(record["startTime"]).replace("Z", "+00:00"))
    return _ms(start), str(record["id"])


@register
class RingCentralConnector(Connector):
    """The company call log of one RingCentral account."""

    type: ClassVar[str] = "ringcentral"
    kinds: ClassVar[frozenset[str]] = frozenset({"call"})
    settings_model: ClassVar[type[ConnectorSettings]] = RingCentralSettings
    page_size: ClassVar[int] = 1000
    cursor_kind: ClassVar[str] = "newest start time taken + ids at that time"
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
        self.api = PhoneApi(s.server_url, ca_bundle=s.ca_bundle, sleep=sleep)
        self.limiter = MinuteLimiter(s.heavy_limit, clock=monotonic, sleep=sleep)
        self.medium = MinuteLimiter(s.medium_limit, clock=monotonic, sleep=sleep)
        self.auth = MinuteLimiter(s.auth_limit, clock=monotonic, sleep=sleep)
        self._token: str | None = None
        self._emails: dict[str, str] | None = None
        self._emails_at: datetime | None = None
        self._reread = False  # the directory was re-read for an unknown extension this pull
        self._pending: dict[str, list[dict[str, Any]]] = {}

    @property
    def _settings(self) -> RingCentralSettings:
        assert isinstance(self.settings, RingCentralSettings)
        return self.settings

    def mailboxes(self) -> list[str]:
        """One unit for the whole company log."""
        return [self._settings.mailbox]

    # -- HTTP ----------------------------------------------------------------------------

    def _authenticate(self) -> str:
        s = self._settings
        self.auth.acquire()
        try:
            response = self.api.send(
                "POST",
                "/restapi/oauth/token",
                auth=(s.client_id, s.client_secret.resolve()),
                data={"grant_type": JWT_GRANT, "assertion": s.jwt.resolve()},
            )
        except (Permanent, AuthExpired) as exc:
            raise AuthExpired(
                "RingCentral refused the client or the JWT credential", connector_wide=True
            ) from exc
        self._token = str(response.json()["access_token"])
        return self._token

    def _get(self, path: str, params: dict[str, Any] | None, limiter: MinuteLimiter) -> Any:
        for attempt in (1, 2):
            token = self._token or self._authenticate()
            limiter.acquire()
            try:
                response = self.api.send(
                    "GET", path, params=params, headers={"Authorization": f"Bearer {token}"}
                )
            except AuthExpired:
                self._token = None  # an expired access token: one new one, then give up
                if attempt == 2:
                    raise
                continue
            limiter.observe(response.headers)
            return response.json()
        raise AssertionError("unreachable")

    def _rep_emails(self, extension: str = "") -> dict[str, str]:
        now = self.context.now()
        stale = self._emails_at is None or now - self._emails_at >= self._settings.directory_refresh
        unknown = bool(extension) and extension not in (self._emails or {}) and not self._reread
        if self._emails is None or stale or unknown:
            self._reread = self._reread or unknown
            emails: dict[str, str] = {}
            path, params = EXTENSIONS, {"perPage": 1000, "page": 1}
            while True:
                body = self._get(path, params, self.medium)
                for e in page_items(body, ("records",), "RingCentral extensions"):
                    emails[str(e["id"])] = str((e.get("contact") or {}).get("email") or "")
                following = (body.get("navigation") or {}).get("nextPage", {}).get("uri")
                if not following:
                    break
                path, params = following, None
            self._emails, self._emails_at = emails, now
        return self._emails

    def _listing(self, date_from: int, date_to: int) -> list[dict[str, Any]]:
        params: dict[str, Any] | None = {
            "view": "Detailed",
            "dateFrom": _iso(date_from),
            "dateTo": _iso(date_to),
            "perPage": self._settings.per_page,
            "page": 1,
        }
        path, records = CALL_LOG, []
        while True:
            body = self._get(path, params, self.limiter)
            records.extend(page_items(body, ("records",), "RingCentral call log"))
            following = (body.get("navigation") or {}).get("nextPage", {}).get("uri")
            if not following or not body.get("records"):
                return records
            path, params = following, None

    # -- pull ----------------------------------------------------------------------------

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """The next calls after ``cursor``, oldest first."""
        limit = max(1, limit or self.page_size)
        self._reread = False
        if cursor is None:
            mark = HighWater(_ms(self.context.backfill_start()))
            cursor = CURSOR.encode(mark)
        else:
            mark = CURSOR.decode(cursor)
        pending = self._pending.pop(cursor, None)
        if pending is None:
            upto = _ms(self.context.now() - self._settings.settle)
            listed = self._listing(mark.at, upto) if upto >= mark.at else []
            pending = mark.newer(listed, _key)
        chunk, rest = pending[:limit], pending[limit:]
        next_cursor = CURSOR.encode(mark.after([_key(r) for r in chunk])) if chunk else cursor
        if rest:
            self._pending = {next_cursor: rest}
        activities: list[Activity] = []
        skips: list[Skip] = []
        for record in chunk:
            rid = str(record.get("id") or "?") if isinstance(record, dict) else "?"
            result = guard(rid, lambda r=record: self._call(r, mailbox))
            if result is not None:
                (skips if isinstance(result, Skip) else activities).append(result)  # type: ignore[arg-type]
        self.log.info(
            "ringcentral pull: %d calls, %d skipped, %d waiting, %d requests",
            len(activities),
            len(skips),
            len(rest),
            self.api.calls,
        )
        return Batch(
            activities=tuple(activities), skips=tuple(skips), next_cursor=next_cursor,
            more=bool(rest),
        )  # fmt: skip

    def _call(self, record: dict[str, Any], mailbox: str) -> Activity | Skip | None:
        rid = str(record.get("id") or "?")
        if record.get("type", "Voice") != "Voice":
            return Skip(rid, SkipReason.UNPARSEABLE, "not a voice call")
        ext = str((record.get("extension") or {}).get("id") or "")
        # The extension list is read only when the ``users`` mapping does not name the rep.
        rep = rep_address(self._settings, ext or None, None) or rep_address(
            self._settings, None, self._rep_emails(ext).get(ext)
        )
        if not wants(self._settings, mailbox, rep):
            return None
        frm, to = record.get("from") or {}, record.get("to") or {}
        direction = str(record.get("direction") or "").lower()
        if frm.get("extensionNumber") and to.get("extensionNumber"):
            direction = "internal"
        neutral = {
            "provider": "ringcentral",
            "call_id": rid,
            "started_at": record.get("startTime"),
            "duration_seconds": record.get("duration"),
            "direction": direction,
            "from": frm.get("phoneNumber"),
            "to": to.get("phoneNumber"),
            "from_name": frm.get("name"),
            "to_name": to.get("name"),
            "user_address": rep,
            "disposition": record.get("result"),
            "recording_url": _recording(record),
        }
        return to_call(self, neutral, self._settings.mailbox)
