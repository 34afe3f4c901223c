"""Aircall: ``/v1/calls`` polled from the cursor time, and an optional webhook receiver.

Settings (``[[connectors]] type = "aircall"``): ``api_url``, ``api_id``,
``api_token_env|_file`` (Basic auth ``api_id:api_token``), ``webhook_token_env|_file`` (the
token Aircall puts in every webhook it sends), ``ca_bundle``, ``per_page`` (≤50), ``settle``,
and the phone keys of :class:`connectors._phone.PhoneSettings`. A call with a
``missed_call_reason`` has the disposition ``missed``; ``missed_calls`` decides its fate.

Rate: Aircall allows 60 requests a minute per company, a leaky bucket. A 429 is retried after
``Retry-After`` or, as Aircall sends it, ``X-AircallApi-Reset`` (UNIX time); a response with
``X-AircallApi-Remaining: 0`` makes the next request wait for that reset.

Cursor: ``ac:1:<start seconds>:<ids>`` — the start of the newest call taken and the ids taken at
that second (a :class:`connectors._cursor.HighWater`). Each pull lists ``order=asc`` from that
second to ``now - settle`` and stops paging once it holds more than ``limit`` calls.

Finished calls only: Aircall lists a call from its start, and ``status`` is ``done`` only once it
ended (https://developer.aircall.io/api-references/#call); before that its duration and outcome
are not known. A pull takes the calls in start order up to the first one not yet ``done`` and
stops there (the cursor stays before it), so that call is taken, whole, by a pull after it ends;
calls that started after it wait for it too (with webhooks on, ``call.ended`` brings them at
once).

Recordings: ``recording`` is a file URL valid for 10 minutes; with ``recording_links`` the Task
gets ``asset`` instead, the call's page in the Aircall dashboard.

Webhooks: :meth:`AircallConnector.webhook_app` is a WSGI app (the service mounts it on its
port) that checks the payload's ``token`` against ``webhook_token`` before anything else —
401 otherwise, nothing kept — and queues ``call.ended`` calls for the next pull. Polling stays
the source of truth; a queued call polled again later is the same key, so it is written once.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field
from werkzeug.wrappers import Request, Response

from connectors._cursor import HighWater, HighWaterFormat
from connectors._phone import (
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
from syncd.errors import ConfigError, Problem
from syncd.model import Activity, Batch, Skip

#: Webhook events that carry a finished call.
CALL_EVENTS = frozenset({"call.ended"})
CURSOR = HighWaterFormat("ac", "an Aircall cursor")


class AircallSettings(PhoneSettings):
    """``[[connectors]]`` keys of Aircall."""

    api_url: str = "https://api.aircall.io"
    api_id: str
    api_token: SecretRef = secret_field("the API token", required=True)
    webhook_token: SecretRef | None = secret_field("the webhook token")
    ca_bundle: str | None = None
    per_page: int = Field(default=50, ge=1, le=50)
    settle: Duration = timedelta(minutes=5)


class AircallWebhook:
    """WSGI receiver of Aircall webhooks: token first, then queue ``call.ended`` calls."""

    def __init__(self, token: str, accept: Callable[[dict[str, Any]], None]) -> None:
        self._token = token.encode()
        self._accept = accept
        self.accepted = 0
        self.refused = 0

    def __repr__(self) -> str:
        return f"AircallWebhook(accepted={self.accepted}, refused={self.refused})"

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer one POST."""
        return self._handle(Request(environ))(environ, start_response)

    def _handle(self, request: Request) -> Response:
        if request.method != "POST":
            return Response("method not allowed", 405)
        try:
            body = json.loads(request.get_data(cache=False) or b"null")
        except ValueError:
            body = None
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self._token):
            self.refused += 1
            return Response("invalid token", 401)
        assert isinstance(body, dict)
        data = body.get("data")
        if body.get("event") in CALL_EVENTS and isinstance(data, dict):
            self._accept(data)
            self.accepted += 1
        return Response("ok", 200)


def _key(call: dict[str, Any]) -> tuple[int, str]:
    return int(call.get("started_at") or 0), str(call.get("id"))


@register
class AircallConnector(Connector):
    """The calls of one Aircall company."""

    type: ClassVar[str] = "aircall"
    kinds: ClassVar[frozenset[str]] = frozenset({"call"})
    settings_model: ClassVar[type[ConnectorSettings]] = AircallSettings
    page_size: ClassVar[int] = 200
    cursor_kind: ClassVar[str] = "newest start second taken + ids at that second"
    quota_cost_per_call: ClassVar[int] = 1

    def __init__(
        self,
        settings: ConnectorSettings,
        context: ConnectorContext | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(settings, context)
        s = self._settings
        self.sleep = sleep = sleep or self.context.sleep
        self.api = PhoneApi(s.api_url, ca_bundle=s.ca_bundle, sleep=sleep, reset_after=self._reset)
        self._queue: deque[dict[str, Any]] = deque()
        self._queue_lock = threading.Lock()
        self._reset_at: float | None = None

    @property
    def _settings(self) -> AircallSettings:
        assert isinstance(self.settings, AircallSettings)
        return self.settings

    def mailboxes(self) -> list[str]:
        """One unit for the whole company."""
        return [self._settings.mailbox]

    def webhook_receiver(self) -> AircallWebhook | None:
        """The webhook receiver when ``webhook_token`` is configured."""
        return self.webhook_app() if self._settings.webhook_token is not None else None

    def webhook_app(self) -> AircallWebhook:
        """The WSGI webhook receiver feeding this connector's next pull."""
        ref = self._settings.webhook_token
        if ref is None:
            problem = Problem(f"connectors.{self.name}.webhook_token_env", "needed for webhooks")
            raise ConfigError([problem])
        return AircallWebhook(ref.resolve(), self._enqueue)

    def _enqueue(self, call: dict[str, Any]) -> None:
        with self._queue_lock:
            self._queue.append(call)

    # -- HTTP ----------------------------------------------------------------------------

    def _reset(self, response: Any) -> float | None:
        value = response.headers.get("X-AircallApi-Reset")
        if value is None or not str(value).isdigit():
            return None
        return max(0.0, int(value) - self.context.now().timestamp())

    def _get(self, path: str, params: dict[str, Any] | None) -> Any:
        if self._reset_at is not None:
            wait = self._reset_at - self.context.now().timestamp()
            self._reset_at = None
            if wait > 0:
                self.sleep(wait)  # the bucket was empty: wait for it to drain
        s = self._settings
        response = self.api.send("GET", path, params=params, auth=(s.api_id, s.api_token.resolve()))
        if response.headers.get("X-AircallApi-Remaining") == "0":
            reset = response.headers.get("X-AircallApi-Reset", "")
            self._reset_at = float(reset) if reset.isdigit() else None
        return response.json()

    def _listing(self, mark: HighWater, high: int, limit: int) -> tuple[list[Any], bool]:
        params: dict[str, Any] | None = {
            "from": mark.at,
            "to": high,
            "order": "asc",
            "per_page": self._settings.per_page,
            "page": 1,
        }
        path, found = "/v1/calls", []
        while True:
            body = self._get(path, params)
            found.extend(mark.newer(page_items(body, ("calls",), "Aircall calls"), _key))
            following = (body.get("meta") or {}).get("next_page_link")
            if not following:
                return found, False
            if len(found) > limit:
                return found, True
            path, params = following, None

    # -- pull ----------------------------------------------------------------------------

    def pull(self, mailbox: str, cursor: str | None, *, limit: int | None = None) -> Batch:
        """Queued webhook calls, then the next polled calls after ``cursor``."""
        limit = max(1, limit or self.page_size)
        if cursor is None:
            mark = HighWater(int(self.context.backfill_start().timestamp()))
            cursor = CURSOR.encode(mark)
        else:
            mark = CURSOR.decode(cursor)
        with self._queue_lock:
            pushed = [self._queue.popleft() for _ in range(min(limit, len(self._queue)))]
        room = limit - len(pushed)
        high = int((self.context.now() - self._settings.settle).timestamp())
        polled, more = (
            ([], False) if room == 0 or high < mark.at else self._listing(mark, high, room)
        )
        polled.sort(key=_key)
        chunk = polled[:room]
        more = more or len(polled) > room or room == 0
        ongoing = next((n for n, c in enumerate(chunk) if c.get("status") != "done"), None)
        if ongoing is not None:  # wait for it to end; nothing after it passes it
            chunk, more = chunk[:ongoing], room == 0
        next_cursor = CURSOR.encode(mark.after([_key(c) for c in chunk])) if chunk else cursor
        activities, skips = self._convert([*pushed, *chunk], mailbox)
        self.log.info(
            "aircall pull: %d calls (%d from webhooks), %d skipped, %d requests",
            len(activities), len(pushed), len(skips), self.api.calls,
        )  # fmt: skip
        return Batch(activities=activities, skips=skips, next_cursor=next_cursor, more=more)

    def _convert(
        self, calls: Iterable[dict[str, Any]], mailbox: str
    ) -> tuple[tuple[Activity, ...], tuple[Skip, ...]]:
        activities: list[Activity] = []
        skips: list[Skip] = []
        for call in calls:
            cid = str(call.get("id") or "?") if isinstance(call, dict) else "?"
            result = guard(cid, lambda c=call: self._call(c, mailbox))
            if result is not None:
                (skips if isinstance(result, Skip) else activities).append(result)  # type: ignore[arg-type]
        return tuple(activities), tuple(skips)

    def _call(self, call: dict[str, Any], mailbox: str) -> Activity | Skip | None:
        """One Aircall call → Call or Skip; None when it is another rep's."""
        user = call.get("user") or {}
        rep = rep_address(self._settings, user.get("id"), user.get("email"))
        if not wants(self._settings, mailbox, rep):
            return None
        ours = (call.get("number") or {}).get("digits")
        theirs = call.get("raw_digits")
        direction = str(call.get("direction") or "")
        neutral = {
            "provider": "aircall",
            "call_id": str(call.get("id") or ""),
            "started_at": call.get("started_at"),  # epoch seconds: normalize_call reads them
            "duration_seconds": call.get("duration"),
            "direction": direction,
            "from": theirs if direction == "inbound" else ours,
            "to": ours if direction == "inbound" else theirs,
            "user_address": rep,
            "disposition": "missed" if call.get("missed_call_reason") else "answered",
            "recording_url": call.get("asset")
            or (
                recording_where("Aircall", f"call {call.get('id')}")
                if call.get("recording")
                else None
            ),
        }
        return to_call(self, neutral, self._settings.mailbox)
