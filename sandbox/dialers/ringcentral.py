"""RingCentral emulator: JWT-bearer token flow and the company call log, with the Heavy limit.

- ``POST /restapi/oauth/token`` — HTTP Basic ``client_id:client_secret``, form
  ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and ``assertion=<JWT credential>``;
  answers ``access_token`` (bearer, ``expires_in`` 3600). A wrong client or JWT is 400
  ``invalid_client`` / ``invalid_grant``, as RingCentral answers. It is in the Auth group.
- ``GET /restapi/v1.0/account/~/extension`` — the extension directory (Medium group), paged
  like every RingCentral list: ``page``, ``perPage`` (≤1000, default 100), ``paging`` and
  ``navigation.nextPage`` (https://developers.ringcentral.com/api-reference/Extensions/listExtensions),
  so an account of more than 1,000 users takes several pages.
- ``GET /restapi/v1.0/account/~/call-log`` — bearer token (401 ``TokenInvalid`` otherwise);
  ``view`` Simple|Detailed, ``dateFrom``/``dateTo`` (ISO 8601; dateFrom defaults to 24 hours
  ago), ``page`` (from 1), ``perPage`` (≤1000, default 100), and the documented filters; any
  other parameter is 400 ``CMN-101``. Records come newest first with ``paging`` and
  ``navigation.nextPage`` as RingCentral sends them; Detailed adds ``legs``.
- Rate groups (https://developers.ringcentral.com/guide/basics/rate-limits): Heavy 10, Medium
  40 and Auth 5 requests per 60 s, each counted on its own. Every API answer carries
  ``X-Rate-Limit-Group``, ``-Limit``, ``-Remaining`` and ``-Window``; a request over its group's
  limit is 429 ``CMN-301`` with ``Retry-After`` and is recorded in ``breaches``.
"""

from __future__ import annotations

import base64
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from sandbox.dialers.base import DialerServer, Window, json_response

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CALL_LOG = "/restapi/v1.0/account/~/call-log"
EXTENSIONS = "/restapi/v1.0/account/~/extension"
_PARAMS = {
    "view", "dateFrom", "dateTo", "page", "perPage", "direction", "type", "extensionNumber",
    "phoneNumber", "withRecording", "recordingType", "showBlocked", "showDeleted", "sessionId",
    "telephonySessionId", "transport", "conferenceType",
}  # fmt: skip


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _navigation(base: str, query: dict[str, str], page: int, more: bool) -> dict[str, Any]:
    """RingCentral's ``navigation``: first, previous and next page URIs."""
    out: dict[str, Any] = {"firstPage": {"uri": f"{base}?{urlencode(query | {'page': 1})}"}}
    if more:
        out["nextPage"] = {"uri": f"{base}?{urlencode(query | {'page': page + 1})}"}
    if page > 1:
        out["previousPage"] = {"uri": f"{base}?{urlencode(query | {'page': page - 1})}"}
    return out


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {
        "errorCode": code,
        "message": message,
        "errors": [{"errorCode": code, "message": message}],
    }
    return json_response(body, status, headers)


class RingCentralSandbox(DialerServer):
    """A RingCentral account: extensions (users), a company call log, the Heavy group limit."""

    name = "ringcentral"

    def __init__(self, *, heavy_limit: int = 10, heavy_window: float = 60.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client_id = "rc-client-" + secrets.token_hex(4)
        self.client_secret = secrets.token_urlsafe(16)
        self.jwt = "eyJ" + secrets.token_urlsafe(48)  # the developer console's JWT credential
        self.heavy = Window("heavy", heavy_limit, heavy_window)
        self.medium = Window("medium", 40, 60.0)
        self.auth = Window("auth", 5, 60.0)
        self.extensions: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []
        self._tokens: dict[str, datetime] = {}
        self._data_lock = threading.Lock()

    def reset(self) -> None:
        """Forget calls, users, tokens, counters and breaches (credentials stay)."""
        with self._data_lock:
            self.calls.clear()
            self.extensions.clear()
            self._tokens.clear()
            self.requests.clear()
            self.breaches.clear()
            self.heavy = Window("heavy", self.heavy.limit, self.heavy.seconds)
            self.medium = Window("medium", self.medium.limit, self.medium.seconds)
            self.auth = Window("auth", self.auth.limit, self.auth.seconds)

    # -- seeding -------------------------------------------------------------------------

    def add_user(self, email: str, name: str = "", extension_number: str = "") -> str:
        """An extension for a rep; returns its id."""
        ext_id = str(100_000 + len(self.extensions) + 1)
        number = extension_number or str(101 + len(self.extensions))
        self.extensions[ext_id] = {"id": ext_id, "email": email, "name": name or email,
                                   "extensionNumber": number}  # fmt: skip
        return ext_id

    def add_call(
        self,
        extension_id: str,
        *,
        start: datetime,
        direction: str,
        other: str,
        ours: str = "+14155550100",
        duration: int = 60,
        result: str = "Call connected",
        other_name: str = "",
        recorded: bool = False,
    ) -> dict[str, Any]:
        """Log one call (``direction`` Inbound/Outbound) on ``extension_id``'s line.

        ``recorded``: the call has a ``recording`` whose ``contentUri`` (on the media server)
        answers only with an access token, as RingCentral's does.
        """
        with self._data_lock:
            n = len(self.calls) + 1
            ext = self.extensions[extension_id]
            mine = {
                "phoneNumber": ours,
                "name": ext["name"],
                "extensionNumber": ext["extensionNumber"],
                "extensionId": extension_id,
            }
            theirs = (
                {"phoneNumber": other, "name": other_name} if other_name else {"phoneNumber": other}
            )
            frm, to = (theirs, mine) if direction == "Inbound" else (mine, theirs)
            record = {
                "id": f"rc{n:08d}", "sessionId": str(40_000_000 + n),
                "telephonySessionId": f"s-{n:x}", "startTime": _stamp(start),
                "duration": duration, "type": "Voice", "direction": direction,
                "action": "Phone Call" if direction == "Inbound" else "VoIP Call",
                "result": result, "from": frm, "to": to,
                "extension": {"id": int(extension_id),
                              "uri": f"{CALL_LOG[:-9]}/extension/{extension_id}"},
            }  # fmt: skip
            if recorded:
                rid = str(90_000_000 + n)
                record["recording"] = {
                    "id": rid, "type": "Automatic",
                    "uri": f"{CALL_LOG[:-9]}/recording/{rid}",
                    "contentUri": f"https://media.ringcentral.com/restapi/v1.0/account/~/recording/{rid}/content",
                }  # fmt: skip
            self.calls.append(record)
            return record

    # -- HTTP ----------------------------------------------------------------------------

    def faultable(self, request: Request) -> bool:
        """Faults hit the API, never the token endpoint."""
        return request.path != "/restapi/oauth/token"

    def route(self, request: Request) -> Response:
        """Token endpoint and call log."""
        if request.path == "/restapi/oauth/token" and request.method == "POST":
            return self._token(request)
        if request.path == CALL_LOG and request.method == "GET":
            return self._call_log(request)
        if request.path == EXTENSIONS and request.method == "GET":
            return self._extensions(request)
        return _error(404, "CMN-102", "Resource for parameter [path] is not found")

    def _limited(self, window: Window) -> tuple[Response | None, dict[str, str]]:
        """Count a request in ``window``'s group: (the 429 when over it, the rate headers)."""
        allowed, remaining, wait = window.take(self.clock())
        headers = self._rate_headers(remaining, window)
        if allowed:
            return None, headers
        self.breach(window.group, window.limit + 1)
        headers |= {"Retry-After": str(max(1, round(wait)))}
        return _error(429, "CMN-301", "Request rate exceeded", headers), headers

    def _token(self, request: Request) -> Response:
        refused, _ = self._limited(self.auth)
        if refused is not None:
            return refused
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization", "") != f"Basic {expected}":
            return json_response({"error": "invalid_client", "error_description":
                                  "Invalid client: " + "[redacted]"}, 400)  # fmt: skip
        if request.form.get("grant_type") != JWT_GRANT:
            return json_response({"error": "unsupported_grant_type"}, 400)
        if request.form.get("assertion") != self.jwt:
            return json_response({"error": "invalid_grant", "error_description":
                                  "Invalid assertion signature"}, 400)  # fmt: skip
        token = secrets.token_urlsafe(24)
        self._tokens[token] = self.clock() + timedelta(hours=1)
        return json_response({"access_token": token, "token_type": "bearer", "expires_in": 3600,
                              "scope": "ReadCallLog", "owner_id": "1"})  # fmt: skip

    def expire_tokens(self) -> None:
        """Every issued access token stops working (as after an hour)."""
        self._tokens.clear()

    def _rate_headers(self, remaining: int, window: Window | None = None) -> dict[str, str]:
        window = window or self.heavy
        return {"X-Rate-Limit-Group": window.group, "X-Rate-Limit-Limit": str(window.limit),
                "X-Rate-Limit-Remaining": str(remaining),
                "X-Rate-Limit-Window": str(int(window.seconds))}  # fmt: skip

    def _authorized(self, request: Request) -> bool:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        return auth.startswith("Bearer ") and self._tokens.get(token, self.clock()) > self.clock()

    def _extensions(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "TokenInvalid", "Access token corrupted")
        refused, headers = self._limited(self.medium)
        if refused is not None:
            return refused
        try:
            page = int(request.args.get("page", "1"))
            per_page = int(request.args.get("perPage", "100"))
        except ValueError:
            page = per_page = 0
        if page < 1 or not 1 <= per_page <= 1000:
            return _error(400, "CMN-101", "Parameter [perPage] value is invalid", headers)
        with self._data_lock:
            everyone = list(self.extensions.values())
        start = (page - 1) * per_page
        records = [
            {"id": int(e["id"]), "extensionNumber": e["extensionNumber"], "name": e["name"],
             "type": "User", "status": "Enabled", "contact": {"email": e["email"]}}
            for e in everyone[start : start + per_page]
        ]  # fmt: skip
        base = f"{request.host_url.rstrip('/')}{EXTENSIONS}"
        query = {k: v for k, v in request.args.items() if k != "page"}
        navigation = _navigation(base, query, page, start + per_page < len(everyone))
        paging = {"page": page, "perPage": per_page, "pageStart": start,
                  "pageEnd": start + max(len(records) - 1, 0),
                  "totalPages": max(1, -(-len(everyone) // per_page)),
                  "totalElements": len(everyone)}  # fmt: skip
        return json_response({"uri": request.url, "records": records, "paging": paging,
                              "navigation": navigation}, 200, headers)  # fmt: skip

    def _call_log(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "TokenInvalid", "Access token corrupted")
        refused, headers = self._limited(self.heavy)
        if refused is not None:
            return refused
        unknown = sorted(set(request.args) - _PARAMS)
        if unknown:
            return _error(400, "CMN-101", f"Parameter [{unknown[0]}] value is invalid", headers)
        try:
            now = self.clock()
            date_from = (
                _parse(request.args["dateFrom"])
                if "dateFrom" in request.args
                else now - timedelta(days=1)
            )
            date_to = _parse(request.args["dateTo"]) if "dateTo" in request.args else now
            page = int(request.args.get("page", "1"))
            per_page = int(request.args.get("perPage", "100"))
        except ValueError:
            return _error(400, "CMN-101", "Parameter [dateFrom] value is invalid", headers)
        if page < 1 or not 1 <= per_page <= 1000:
            return _error(400, "CMN-101", "Parameter [perPage] value is invalid", headers)
        view = request.args.get("view", "Simple")
        if view not in {"Simple", "Detailed"}:
            return _error(400, "CMN-101", "Parameter [view] value is invalid", headers)
        with self._data_lock:
            chosen = [c for c in self.calls if date_from <= _parse(c["startTime"]) <= date_to]
        chosen.sort(key=lambda c: (c["startTime"], c["id"]), reverse=True)  # newest first
        start = (page - 1) * per_page
        records = [self._render(c, view) for c in chosen[start : start + per_page]]
        base = f"{request.host_url.rstrip('/')}{CALL_LOG}"
        query = {k: v for k, v in request.args.items() if k != "page"}
        navigation = _navigation(base, query, page, start + per_page < len(chosen))
        paging = {"page": page, "perPage": per_page, "pageStart": start,
                  "pageEnd": start + max(len(records) - 1, 0)}  # fmt: skip
        return json_response({"uri": request.url, "records": records, "paging": paging,
                              "navigation": navigation}, 200, headers)  # fmt: skip

    @staticmethod
    def _render(call: dict[str, Any], view: str) -> dict[str, Any]:
        record = dict(call)
        if view == "Detailed":
            record["legs"] = [{"startTime": call["startTime"], "duration": call["duration"],
                               "type": "Voice", "direction": call["direction"],
                               "action": call["action"], "result": call["result"],
                               "from": call["from"], "to": call["to"],
                               "extension": call["extension"], "legType": "PstnToSip",
                               "master": True}]  # fmt: skip
        return record
