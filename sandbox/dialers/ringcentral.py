"""RingCentral emulator: JWT-bearer token flow and the company call log, with the Heavy limit.

- ``POST /restapi/oauth/token`` — HTTP Basic ``client_id:client_secret``, form
  ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and ``assertion=<JWT credential>``;
  answers ``access_token`` (bearer, ``expires_in`` 3600). A wrong client or JWT is 400
  ``invalid_client`` / ``invalid_grant``, as RingCentral answers. The Auth group is not counted
  in Heavy.
- ``GET /restapi/v1.0/account/~/call-log`` — bearer token (401 ``TokenInvalid`` otherwise);
  ``view`` Simple|Detailed, ``dateFrom``/``dateTo`` (ISO 8601; dateFrom defaults to 24 hours
  ago), ``page`` (from 1), ``perPage`` (≤1000, default 100), and the documented filters; any
  other parameter is 400 ``CMN-101``. Records come newest first with ``paging`` and
  ``navigation.nextPage`` as RingCentral sends them; Detailed adds ``legs``.
- Heavy group: 10 requests per 60 s. Every API answer carries ``X-Rate-Limit-Group``,
  ``-Limit``, ``-Remaining`` and ``-Window``; the 11th request in a window is 429 ``CMN-301``
  with ``Retry-After`` and is recorded in ``breaches``.
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
    ) -> dict[str, Any]:
        """Log one call (``direction`` Inbound/Outbound) on ``extension_id``'s line."""
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

    def _token(self, request: Request) -> Response:
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

    def _rate_headers(self, remaining: int) -> dict[str, str]:
        return {"X-Rate-Limit-Group": "heavy", "X-Rate-Limit-Limit": str(self.heavy.limit),
                "X-Rate-Limit-Remaining": str(remaining),
                "X-Rate-Limit-Window": str(int(self.heavy.seconds))}  # fmt: skip

    def _authorized(self, request: Request) -> bool:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        return auth.startswith("Bearer ") and self._tokens.get(token, self.clock()) > self.clock()

    def _extensions(self, request: Request) -> Response:
        # Medium group (40 a minute): not limited here, only the Heavy call log is.
        if not self._authorized(request):
            return _error(401, "TokenInvalid", "Access token corrupted")
        records = [
            {"id": int(e["id"]), "extensionNumber": e["extensionNumber"], "name": e["name"],
             "type": "User", "status": "Enabled", "contact": {"email": e["email"]}}
            for e in self.extensions.values()
        ]  # fmt: skip
        paging = {"page": 1, "perPage": 1000, "pageStart": 0, "pageEnd": len(records) - 1}
        return json_response({"records": records, "paging": paging, "navigation": {}})

    def _call_log(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "TokenInvalid", "Access token corrupted")
        allowed, remaining, wait = self.heavy.take(self.clock())
        if not allowed:
            self.breach("heavy", self.heavy.limit + 1)
            headers = self._rate_headers(0) | {"Retry-After": str(max(1, round(wait)))}
            return _error(429, "CMN-301", "Request rate exceeded", headers)
        headers = self._rate_headers(remaining)
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
        navigation: dict[str, Any] = {
            "firstPage": {"uri": f"{base}?{urlencode(query | {'page': 1})}"}
        }
        if start + per_page < len(chosen):
            navigation["nextPage"] = {"uri": f"{base}?{urlencode(query | {'page': page + 1})}"}
        if page > 1:
            navigation["previousPage"] = {"uri": f"{base}?{urlencode(query | {'page': page - 1})}"}
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
