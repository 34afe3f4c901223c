"""Aircall emulator: ``/v1/calls`` with Basic auth, pages, the company rate limit, webhooks.

- Auth: HTTP Basic ``api_id:api_token``; anything else is 401 ``{"error": "Unauthorized"}``.
- ``GET /v1/calls``: ``from``/``to`` (UNIX seconds, on the call's start), ``order`` asc|desc
  (default asc), ``page`` (from 1), ``per_page`` (≤50, default 20); unknown parameters are
  400. Answers ``meta`` (count, total, current_page, per_page, next_page_link,
  previous_page_link) and ``calls``. As Aircall documents, paging stops at 10,000 calls.
  A call is listed from its start: ``status`` is ``initial`` or ``answered`` while it is in
  progress and ``done`` once it ended (``ended_at``, ``duration`` set only then), see
  https://developer.aircall.io/api-references/#call. ``recording`` is a direct file URL valid
  for 10 minutes; ``asset`` is the call's page in the Aircall dashboard (login needed), the
  link that stays valid.
- ``GET /v1/users``: the users (id, name, email).
- Rate: 60 requests a minute per company; every answer carries ``X-AircallApi-Limit``,
  ``X-AircallApi-Remaining`` and ``X-AircallApi-Reset`` (UNIX time the window resets); over it
  is 429 with the same headers, recorded in ``breaches``.
- :meth:`AircallSandbox.send_webhook` posts ``{"resource", "event", "timestamp", "token",
  "data"}`` to a receiver with the webhook's token, or a wrong one on request.
"""

from __future__ import annotations

import base64
import secrets
import threading
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import requests
from werkzeug.wrappers import Request, Response

from sandbox.dialers.base import DialerServer, Window, json_response

_PARAMS = {"from", "to", "order", "page", "per_page", "fetch_contact", "fetch_short_urls"}
MAX_ITEMS = 10_000
MISSED_REASONS = ("agents_did_not_answer", "no_available_agent", "short_abandoned")


class AircallSandbox(DialerServer):
    """One Aircall company: users, calls, a webhook token."""

    name = "aircall"

    def __init__(self, *, limit_per_minute: int = 60, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_id = "ac-" + secrets.token_hex(4)
        self.api_token = secrets.token_urlsafe(16)
        self.webhook_token = secrets.token_hex(16)
        self.rate = Window("company", limit_per_minute, 60.0)
        self.users: dict[int, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []
        self._data_lock = threading.Lock()

    def reset(self) -> None:
        """Forget users, calls, counters and breaches."""
        with self._data_lock:
            self.users.clear()
            self.calls.clear()
            self.requests.clear()
            self.breaches.clear()
            self.rate = Window("company", self.rate.limit, self.rate.seconds)

    # -- seeding -------------------------------------------------------------------------

    def add_user(self, email: str, name: str = "") -> int:
        """A user (agent); returns its id."""
        uid = 1000 + len(self.users) + 1
        self.users[uid] = {"id": uid, "name": name or email, "email": email, "available": True}
        return uid

    def add_call(
        self,
        user_id: int | None,
        *,
        start: datetime,
        direction: str,
        other: str,
        duration: int = 60,
        missed: str | None = None,
        recording: str | None = None,
        status: str = "done",
    ) -> dict[str, Any]:
        """One call; ``other`` is the external number as Aircall shows it (raw_digits).

        ``status`` ``answered`` (or ``initial``) is a call still in progress: no end yet;
        :meth:`end_call` finishes it.
        """
        with self._data_lock:
            cid = 5_000_000 + len(self.calls) + 1
            started = int(start.timestamp())
            call = {
                "id": cid,
                "direct_link": f"/v1/calls/{cid}",
                "status": status,
                "direction": direction,
                "started_at": started,
                "answered_at": None if missed else started + 3,
                "ended_at": started + duration if status == "done" else None,
                "duration": duration if status == "done" else 0,
                "raw_digits": other,
                "missed_call_reason": missed,
                "recording": recording,
                "asset": f"https://assets.aircall.io/calls/{cid}/recording" if recording else None,
                "user": dict(self.users[user_id]) if user_id is not None else None,
                "number": {"id": 1, "digits": "+1 415-555-0100", "name": "Sales line"},
            }
            self.calls.append(call)
            return call

    def end_call(self, call_id: int, duration: int) -> None:
        """A call in progress ends: ``done`` with its end and duration."""
        with self._data_lock:
            call = next(c for c in self.calls if c["id"] == call_id)
            call.update(status="done", ended_at=call["started_at"] + duration, duration=duration)

    # -- HTTP ----------------------------------------------------------------------------

    def _headers(self, remaining: int, wait: float) -> dict[str, str]:
        reset = int(self.clock().timestamp() + (wait or self.rate.seconds))
        return {
            "X-AircallApi-Limit": str(self.rate.limit),
            "X-AircallApi-Remaining": str(remaining),
            "X-AircallApi-Reset": str(reset),
        }

    def route(self, request: Request) -> Response:
        """Basic auth, the rate window, then calls or users."""
        expected = base64.b64encode(f"{self.api_id}:{self.api_token}".encode()).decode()
        if request.headers.get("Authorization", "") != f"Basic {expected}":
            return json_response(
                {"error": "Unauthorized", "troubleshoot": "Check your api_id"}, 401
            )
        allowed, remaining, wait = self.rate.take(self.clock())
        if not allowed:
            self.breach("company", self.rate.limit + 1)
            return json_response({"error": "Too many requests"}, 429, self._headers(0, wait))
        headers = self._headers(remaining, 0)
        if request.method == "GET" and request.path == "/v1/calls":
            return self._calls(request, headers)
        if request.method == "GET" and request.path == "/v1/users":
            users = list(self.users.values())
            meta = {
                "count": len(users),
                "total": len(users),
                "current_page": 1,
                "per_page": 50,
                "next_page_link": None,
                "previous_page_link": None,
            }
            return json_response({"users": users, "meta": meta}, 200, headers)
        return json_response({"error": "Not found"}, 404, headers)

    def _calls(self, request: Request, headers: dict[str, str]) -> Response:
        unknown = sorted(set(request.args) - _PARAMS)
        try:
            page = int(request.args.get("page", "1"))
            per_page = int(request.args.get("per_page", "20"))
            low = int(request.args.get("from", "0"))
            high = int(request.args["to"]) if "to" in request.args else None
        except ValueError:
            unknown = unknown or ["page"]
        order = request.args.get("order", "asc")
        if unknown or order not in {"asc", "desc"} or page < 1 or not 1 <= per_page <= 50:
            bad = unknown[0] if unknown else "order/page/per_page"
            return json_response(
                {"error": "Bad request", "troubleshoot": f"Invalid {bad}"}, 400, headers
            )
        if page * per_page > MAX_ITEMS:
            return json_response(
                {"error": "Bad request", "troubleshoot": "Pagination is limited to 10,000 items"},
                400,
                headers,
            )
        with self._data_lock:
            chosen = [
                c
                for c in self.calls
                if c["started_at"] >= low and (high is None or c["started_at"] <= high)
            ]
        chosen.sort(key=lambda c: (c["started_at"], c["id"]), reverse=order == "desc")
        start = (page - 1) * per_page
        query = {k: v for k, v in request.args.items() if k != "page"}
        base = f"{request.host_url.rstrip('/')}/v1/calls?"
        following = start + per_page < min(len(chosen), MAX_ITEMS)
        meta = {
            "count": len(chosen[start : start + per_page]),
            "total": len(chosen),
            "current_page": page,
            "per_page": per_page,
            "next_page_link": base + urlencode(query | {"page": page + 1}) if following else None,
            "previous_page_link": base + urlencode(query | {"page": page - 1})
            if page > 1
            else None,
        }
        return json_response(
            {"calls": chosen[start : start + per_page], "meta": meta}, 200, headers
        )

    # -- webhooks ------------------------------------------------------------------------

    def send_webhook(
        self,
        url: str,
        call: dict[str, Any],
        *,
        event: str = "call.ended",
        valid: bool = True,
        verify: str | bool = True,
    ) -> int:
        """POST one event to a receiver, with the right token or a wrong one; its status."""
        token = self.webhook_token if valid else secrets.token_hex(16)
        body = {
            "resource": "call",
            "event": event,
            "timestamp": int(self.clock().timestamp()),
            "token": token,
            "data": call,
        }
        session = requests.Session()
        session.trust_env = False
        with session:
            return session.post(url, json=body, timeout=10, verify=verify).status_code
