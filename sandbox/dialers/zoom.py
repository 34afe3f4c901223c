"""Zoom Phone emulator: server-to-server OAuth and ``/v2/phone/call_history``.

- ``POST /oauth/token?grant_type=account_credentials&account_id=…`` with HTTP Basic
  ``client_id:client_secret`` → a bearer ``access_token`` (``expires_in`` 3600). A wrong
  client is 401 ``invalid_client``; a wrong account 400 ``invalid_request``.
- ``GET /v2/phone/call_history``: bearer token (401 code 124 ``Invalid access token``);
  ``from``/``to`` as ``yyyy-mm-dd`` or ``yyyy-MM-ddTHH:mm:ssZ`` (at most one month apart, as
  Zoom documents; wider is 400 code 300), ``page_size`` (≤300, default 30),
  ``next_page_token``; unknown parameters are 400. Answers ``call_history`` newest first with
  ``next_page_token`` ("" on the last page), ``page_size`` and ``total_records``. Zoom
  replaced the ``call_logs`` array with ``call_history``, whose items carry
  ``call_history_uuid`` (also their ``id``) beside ``call_id`` and ``result``
  (https://developers.zoom.us/docs/phone/migrate/); ``legacy_call_logs = True`` answers the
  old ``call_logs`` array instead, as a tenant not yet moved may.
- Rate: ``per_second`` requests a second (Zoom's Heavy label); over it is 429 code 429 with
  ``Retry-After`` and ``X-RateLimit-Category: Heavy``, recorded in ``breaches``.
"""

from __future__ import annotations

import base64
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from werkzeug.wrappers import Request, Response

from sandbox.dialers.base import DialerServer, Window, json_response

HISTORY = "/v2/phone/call_history"
_PARAMS = {
    "from",
    "to",
    "page_size",
    "next_page_token",
    "keyword",
    "directions",
    "connect_types",
    "number_types",
    "call_types",
    "extension_types",
    "call_results",
    "group_ids",
    "site_ids",
    "department",
    "cost_center",
    "time_type",
    "recording_status",
}


def _when(value: str, end: bool) -> datetime:
    if len(value) == 10:
        day = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return day + timedelta(days=1, microseconds=-1) if end else day
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _legacy(record: dict[str, Any]) -> dict[str, Any]:
    """A ``call_history`` item as the deprecated ``call_logs`` array had it."""
    old = {k: v for k, v in record.items() if k not in ("call_history_uuid", "result")}
    return old | {"id": f"zl{int(record['call_id']) % 10**8:08d}", "call_result": record["result"]}


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"code": code, "message": message}, status, headers)


class ZoomPhoneSandbox(DialerServer):
    """One Zoom account with Zoom Phone users and their call history."""

    name = "zoom_phone"

    def __init__(self, *, per_second: int = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.account_id = "acct-" + secrets.token_hex(4)
        self.client_id = "zm-" + secrets.token_hex(4)
        self.client_secret = secrets.token_urlsafe(16)
        self.rate = Window("heavy", per_second, 1.0)
        self.users: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []
        #: Answer the deprecated ``call_logs`` array (items keyed by ``id``/``call_id``).
        self.legacy_call_logs = False
        self._tokens: dict[str, datetime] = {}
        self._pages: dict[str, int] = {}
        self._data_lock = threading.Lock()

    def reset(self) -> None:
        """Forget users, calls, tokens, counters and breaches."""
        with self._data_lock:
            self.users.clear()
            self.calls.clear()
            self._tokens.clear()
            self._pages.clear()
            self.requests.clear()
            self.breaches.clear()
            self.rate = Window("heavy", self.rate.limit, self.rate.seconds)

    def add_user(self, email: str, name: str = "") -> str:
        """A Zoom Phone user; returns its extension id."""
        ext_id = secrets.token_hex(8)
        self.users[ext_id] = {
            "id": ext_id,
            "email": email,
            "name": name or email,
            "extension_number": 1000 + len(self.users) + 1,
        }
        return ext_id

    def add_call(
        self,
        ext_id: str,
        *,
        start: datetime,
        direction: str,
        other: str,
        duration: int = 60,
        result: str = "answered",
        recorded: bool = False,
    ) -> dict[str, Any]:
        """One call in the history (``direction`` inbound/outbound), as ``call_history``."""
        with self._data_lock:
            user = self.users[ext_id]
            n = len(self.calls) + 1
            ours = {
                "ext_id": ext_id,
                "name": user["name"],
                "email": user["email"],
                "ext_number": user["extension_number"],
                "did_number": "+14155550100",
            }
            theirs = {"did_number": other, "name": ""}
            caller, callee = (theirs, ours) if direction == "inbound" else (ours, theirs)
            uuid = str(uuid5(NAMESPACE_URL, f"zoom-call-history/{n}"))
            record: dict[str, Any] = {
                "id": uuid,
                "call_history_uuid": uuid,
                "call_id": str(7_000_000_000 + n),
                "direction": direction,
                "start_time": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end_time": (start + timedelta(seconds=duration))
                .astimezone(UTC)
                .strftime("%Y-%m-%dT%H:%M:%SZ"),
                "duration": duration,
                "result": result,
                "recording_status": "recorded" if recorded else "non_recorded",
                "connect_type": "external",
                "call_type": "general",
            }
            for prefix, side in (("caller", caller), ("callee", callee)):
                for key, value in side.items():
                    record[f"{prefix}_{key}"] = value
            self.calls.append(record)
            return record

    def faultable(self, request: Request) -> bool:
        """Faults hit the API, never the token endpoint."""
        return request.path != "/oauth/token"

    def route(self, request: Request) -> Response:
        """Token endpoint and call history."""
        if request.path == "/oauth/token" and request.method == "POST":
            return self._token(request)
        if request.path == HISTORY and request.method == "GET":
            return self._history(request)
        return _error(404, 404, "Not found")

    def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization", "") != f"Basic {expected}":
            return json_response(
                {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}, 401
            )
        if request.args.get("grant_type") != "account_credentials":
            return json_response(
                {"reason": "Unsupported grant type", "error": "unsupported_grant_type"}, 400
            )
        if request.args.get("account_id") != self.account_id:
            return json_response({"reason": "Invalid account_id", "error": "invalid_request"}, 400)
        token = secrets.token_urlsafe(24)
        self._tokens[token] = self.clock() + timedelta(hours=1)
        return json_response(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": 3600,
                "scope": "phone:read:list_call_logs:admin",
                "api_url": "",
            }
        )

    def expire_tokens(self) -> None:
        """Every issued token stops working."""
        self._tokens.clear()

    def _history(self, request: Request) -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self._tokens.get(token, self.clock()) <= self.clock():
            return _error(401, 124, "Invalid access token.")
        allowed, _, wait = self.rate.take(self.clock())
        if not allowed:
            self.breach("heavy", self.rate.limit + 1)
            headers = {
                "Retry-After": str(max(1, round(wait))),
                "X-RateLimit-Category": "Heavy",
                "X-RateLimit-Type": "QPS",
            }
            return _error(429, 429, "You have reached the maximum per-second rate limit.", headers)
        unknown = sorted(set(request.args) - _PARAMS)
        if unknown:
            return _error(400, 300, f"Invalid field: {unknown[0]}")
        try:
            now = self.clock()
            low = (
                _when(request.args["from"], False)
                if "from" in request.args
                else now - timedelta(days=1)
            )
            high = _when(request.args["to"], True) if "to" in request.args else now
            size = int(request.args.get("page_size", "30"))
        except (ValueError, KeyError):
            return _error(400, 300, "Invalid from/to or page_size")
        if high - low > timedelta(days=31) or not 1 <= size <= 300:
            return _error(400, 300, "The date range should be within one month; page_size ≤ 300")
        page_token = request.args.get("next_page_token", "")
        offset = self._pages.get(page_token, -1) if page_token else 0
        if offset < 0:
            return _error(400, 300, "Invalid next_page_token or it has expired")
        with self._data_lock:
            chosen = [c for c in self.calls if low <= _when(c["start_time"], False) <= high]
        chosen.sort(key=lambda c: (c["start_time"], c["id"]), reverse=True)
        page = chosen[offset : offset + size]
        following = ""
        if offset + size < len(chosen):
            following = secrets.token_urlsafe(12)
            self._pages[following] = offset + size
        if self.legacy_call_logs:
            page = [_legacy(c) for c in page]
        return json_response(
            {
                ("call_logs" if self.legacy_call_logs else "call_history"): page,
                "next_page_token": following,
                "page_size": size,
                "total_records": len(chosen),
                "from": request.args.get("from", ""),
                "to": request.args.get("to", ""),
            }
        )
