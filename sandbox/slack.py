"""A Slack Web API emulator, strict the way Slack is.

Methods: auth.test, users.lookupByEmail, conversations.open, chat.postMessage; plus an
incoming webhook.

- Tokens: ``Authorization: Bearer xoxb-…`` must be the bot token, else ``invalid_auth``
  (no header: ``not_authed``). Web API errors are HTTP 200 with ``{"ok": false, "error": …}``.
- Block Kit limits: more than 50 blocks or a section text over 3,000 characters →
  ``invalid_blocks``; a ``text`` over 40,000 characters → ``msg_too_long``.
- Rate limit: about one message per second per channel, and per method its rate tier's calls
  a minute (:data:`TIERS`), on an injectable clock; over it, HTTP 429 ``ratelimited`` with
  ``Retry-After``.
- Faults: ``outage(n)`` answers the next ``n`` requests with HTTP 503; ``throttle(channel,
  seconds)`` answers chat.postMessage to that channel with 429 ``ratelimited`` and the
  seconds left in ``Retry-After`` until they pass, as Slack does when a channel's posting
  limit is exceeded (https://api.slack.com/methods/chat.postMessage#rate_limiting,
  https://api.slack.com/apis/rate-limits#headers). ``post_attempts`` records every
  chat.postMessage answered (clock, channel, HTTP status).
- Interactivity: ``click(message, action_id, user, …)`` does what Slack does when a person
  clicks a button (https://api.slack.com/interactivity/handling#payloads): POSTs a
  ``block_actions`` payload as ``payload=<json>`` to ``interactivity_url``, signed as Slack
  signs (https://api.slack.com/authentication/verifying-requests-from-slack: ``v0=`` +
  HMAC-SHA256 of ``v0:{timestamp}:{body}`` under ``signing_secret``, headers
  ``X-Slack-Signature`` and ``X-Slack-Request-Timestamp``), and measures the answer against
  Slack's three seconds (an answer later than that is shown to the user as an error). It can
  also send what the product must refuse: unsigned, stale (old timestamp) and replayed.
- ``users.info`` (with the profile email) and ``chat.update`` (replace a message by
  ``channel`` and ``ts``, https://api.slack.com/methods/chat.update; ``message_not_found``
  for an unknown ts); ``updated`` is set on every update so tests wait for the event.
- Records every message (``messages``), counts every request (``calls``), and serves an HTML
  page of the messages at ``/`` for people running the demo.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from sandbox.latency import Latency
from sandbox.serving import Emulator
from sandbox.slack_page import page

log = logging.getLogger(__name__)

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_TEXT = 40000
BOT_TOKEN = "xoxb-sandbox-bot-token"
SIGNING_SECRET = "sandbox-signing-secret"
#: Calls a minute per method before ``ratelimited`` (https://api.slack.com/apis/rate-limits;
#: users.lookupByEmail, conversations.open and chat.update are Tier 3, users.info Tier 4).
TIERS = {
    "users.lookupByEmail": 50,
    "conversations.open": 50,
    "chat.update": 50,
    "users.info": 100,
}
#: Slack shows an error when the app has not answered an interaction within this.
ACK_SECONDS = 3.0


@dataclass
class Message:
    """One delivered message."""

    channel: str
    text: str
    blocks: list[dict[str, Any]]
    ts: str
    via: str = "api"
    metadata: dict[str, Any] | None = None
    edited: int = 0


@dataclass
class Interaction:
    """One interactivity request the sandbox sent, and how the app answered."""

    action_id: str
    status: int
    seconds: float
    signed: bool

    @property
    def in_time(self) -> bool:
        """Answered 200 within Slack's three seconds."""
        return self.status == 200 and self.seconds < ACK_SECONDS


@dataclass
class SlackSandbox(Emulator):
    """The emulated workspace."""

    name = "slack"

    clock: Callable[[], float] = time.monotonic
    token: str = BOT_TOKEN
    users: dict[str, str] = field(default_factory=dict)  # email → user id
    messages: list[Message] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    url: str = ""
    #: Wait before every request (:mod:`sandbox.latency`); ``latency.seconds`` to change.
    latency: Latency = field(default_factory=Latency)
    signing_secret: str = SIGNING_SECRET
    #: The app's interactivity Request URL (where clicks are POSTed).
    interactivity_url: str = ""
    interactions: list[Interaction] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._last_post: dict[str, float] = {}
        self._outage = 0
        self._throttled: dict[str, float] = {}
        #: Every chat.postMessage answered: (clock, channel, HTTP status).
        self.post_attempts: list[tuple[float, str, int]] = []
        self.updated = threading.Condition(self._lock)
        self._tier_calls: dict[str, list[float]] = {}
        self.webhook_path = "/services/T000/B000/sandboxhook"
        self.webhook_channel = "#alerts-webhook"

    # -- set-up and faults ----------------------------------------------------------------

    def add_user(self, email: str) -> str:
        """Add a workspace member with this email; returns the user id."""
        with self._lock:
            uid = self.users.get(email.lower()) or f"U{len(self.users) + 1:08d}"
            self.users[email.lower()] = uid
            return uid

    def outage(self, requests: int) -> None:
        """Answer the next ``requests`` requests with HTTP 503."""
        with self._lock:
            self._outage = requests

    def throttle(self, channel: str, seconds: float) -> None:
        """Rate-limit posts to ``channel`` for ``seconds`` from now (429 with Retry-After)."""
        with self._lock:
            self._throttled[channel] = self.clock() + seconds

    @property
    def api_url(self) -> str:
        """The Web API base URL for ``WebClient(base_url=…)``."""
        return f"{self.url}/api/"

    @property
    def webhook_url(self) -> str:
        """The incoming-webhook URL."""
        return self.url + self.webhook_path

    def by_channel(self, channel: str) -> list[Message]:
        """Messages delivered to one channel (a DM's channel is ``D`` + the user id)."""
        return [m for m in self.messages if m.channel == channel]

    # -- HTTP ------------------------------------------------------------------------------

    def describe_credentials(self) -> dict[str, Any]:
        """What ``python -m sandbox serve`` would print for this service."""
        return {"api_url": self.api_url, "token": self.token, "webhook_url": self.webhook_url}

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        req = Request(environ)
        status, body, headers = self._handle(req)
        if isinstance(body, str):
            resp = Response(body, status=status, headers=headers, content_type="text/html")
        else:
            resp = Response(
                json.dumps(body), status=status, headers=headers, content_type="application/json"
            )
        return resp(environ, start_response)

    def _handle(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        path = req.path
        with self._lock:
            self.calls[path] += 1
            if self._outage > 0:
                self._outage -= 1
                return 503, {"ok": False, "error": "service_unavailable"}, {}
        if req.method == "GET" and path == "/":
            return 200, self.render_html(req.args.get("channel")), {}
        if path == self.webhook_path and req.method == "POST":
            return self._webhook(req)
        if not path.startswith("/api/"):
            return 404, {"ok": False, "error": "unknown_method"}, {}
        args = self._args(req)
        auth = req.headers.get("Authorization", "")
        if not auth:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if auth != f"Bearer {self.token}":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        method = path[len("/api/") :]
        wait = self._over_tier(method)
        if wait:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
        handler = {
            "auth.test": self._auth_test,
            "users.lookupByEmail": self._lookup,
            "conversations.open": self._open,
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "users.info": self._info,
        }.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return handler(args)

    @staticmethod
    def _args(req: Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(req.args.items())
        data = req.get_data()
        if req.mimetype == "application/json" and data:
            args.update(json.loads(data))
        elif data:
            args.update(parse_qsl(data.decode()))
        if isinstance(args.get("blocks"), str):
            args["blocks"] = json.loads(args["blocks"])
        return args

    def _auth_test(self, _args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        return 200, {"ok": True, "team": "Sandbox", "user": "syncd", "bot_id": "B0SYNCD"}, {}

    def _lookup(self, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        email = str(args.get("email", "")).lower()
        uid = self.users.get(email)
        if uid is None:
            return 200, {"ok": False, "error": "users_not_found"}, {}
        return 200, {"ok": True, "user": {"id": uid, "profile": {"email": email}}}, {}

    def _open(self, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        users = str(args.get("users", ""))
        if users not in self.users.values():
            return 200, {"ok": False, "error": "user_not_found"}, {}
        return 200, {"ok": True, "channel": {"id": "D" + users[1:]}}, {}

    def _over_tier(self, method: str) -> int:
        """Seconds to wait when ``method`` is over its rate tier this minute, else 0."""
        per_minute = TIERS.get(method)
        if per_minute is None:
            return 0
        with self._lock:
            now = self.clock()
            recent = [t for t in self._tier_calls.get(method, []) if t > now - 60.0]
            if len(recent) >= per_minute:
                self._tier_calls[method] = recent
                return max(1, math.ceil(recent[0] + 60.0 - now))
            self._tier_calls[method] = [*recent, now]
            return 0

    def _info(self, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        uid = str(args.get("user", ""))
        email = next((e for e, u in self.users.items() if u == uid), None)
        if email is None:
            return 200, {"ok": False, "error": "user_not_found"}, {}
        return 200, {"ok": True, "user": {"id": uid, "profile": {"email": email}}}, {}

    def _update(self, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        problem = self._check(args)
        if problem:
            return 200, {"ok": False, "error": problem}, {}
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        with self._lock:
            found = [m for m in self.messages if m.channel == channel and m.ts == ts]
            if not found:
                return 200, {"ok": False, "error": "message_not_found"}, {}
            found[0].text = args.get("text") or found[0].text
            found[0].blocks = list(args.get("blocks") or [])
            found[0].edited += 1
            self.updated.notify_all()
        return 200, {"ok": True, "channel": channel, "ts": ts}, {}

    def wait_updated(self, message: Message, timeout: float = 30.0) -> bool:
        """Wait until ``message`` was edited (chat.update) at least once; False on timeout."""
        with self._lock:
            return self.updated.wait_for(lambda: message.edited > 0, timeout)

    def click(
        self,
        message: Message,
        action_id: str,
        user: str,
        *,
        value: str | None = None,
        selected_date: str | None = None,
        sign: bool = True,
        age_seconds: float = 0.0,
        replay: tuple[bytes, dict[str, str]] | None = None,
        retry_of: tuple[bytes, dict[str, str]] | None = None,
    ) -> tuple[Interaction, tuple[bytes, dict[str, str]]]:
        """Click ``action_id`` in ``message`` as ``user``; the answer and what was sent.

        ``sign=False`` sends no signature, ``age_seconds`` an old timestamp, ``replay`` the
        exact body and headers of an earlier request, ``retry_of`` the body of an earlier
        request freshly signed (a retry, as Slack retries with ``X-Slack-Retry-Num``).
        """
        import hashlib
        import hmac

        import requests

        if retry_of is not None:
            body = retry_of[0]
        if replay is None and retry_of is None:
            element, block_id = self._element(message, action_id)
            action: dict[str, Any] = {
                "action_id": action_id,
                "block_id": block_id,
                "type": element.get("type"),
                "action_ts": f"{time.time():.6f}",
            }
            if element.get("type") == "button":
                action["value"] = element.get("value")
            elif element.get("type") == "datepicker":
                action["selected_date"] = selected_date
            else:
                action["value"] = value
            payload = {
                "type": "block_actions",
                "user": {"id": user},
                "api_app_id": "A0SYNCD",
                "container": {"type": "message", "message_ts": message.ts},
                "channel": {"id": message.channel},
                "message": {"ts": message.ts, "text": message.text, "blocks": message.blocks},
                "response_url": f"{self.url}/actions/{message.ts}",
                "trigger_id": f"{time.time():.0f}.trigger",
                "actions": [action],
            }
            from urllib.parse import urlencode

            body = urlencode({"payload": json.dumps(payload)}).encode()
        if replay is None:
            stamp = str(int(time.time() - age_seconds))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
            }
            if retry_of is not None:
                headers["X-Slack-Retry-Num"] = "1"
                headers["X-Slack-Retry-Reason"] = "http_timeout"
            if sign:
                base = b"v0:" + stamp.encode() + b":" + body
                digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
                headers["X-Slack-Signature"] = "v0=" + digest
        else:
            body, headers = replay
        session = requests.Session()
        session.trust_env = False
        began = time.monotonic()
        resp = session.post(self.interactivity_url, data=body, headers=headers, timeout=10)
        took = time.monotonic() - began
        done = Interaction(action_id, resp.status_code, took, "X-Slack-Signature" in headers)
        with self._lock:
            self.interactions.append(done)
        return done, (body, headers)

    @staticmethod
    def _element(message: Message, action_id: str) -> tuple[dict[str, Any], str]:
        for block in message.blocks:
            elements = block.get("elements") or []
            if block.get("type") == "input":
                elements = [block.get("element") or {}]
            for element in elements:
                if element.get("action_id") == action_id:
                    return element, str(block.get("block_id", ""))
        raise KeyError(f"no {action_id} in the message")

    def _check(self, args: dict[str, Any]) -> str | None:
        blocks = args.get("blocks") or []
        text = args.get("text") or ""
        if not text and not blocks:
            return "no_text"
        if len(text) > MAX_TEXT:
            return "msg_too_long"
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            return "invalid_blocks"
        for block in blocks:
            if not isinstance(block, dict) or "type" not in block:
                return "invalid_blocks"
            if block["type"] == "section":
                body = (block.get("text") or {}).get("text", "")
                fields = block.get("fields") or []
                if len(body) > MAX_SECTION_TEXT or len(fields) > 10:
                    return "invalid_blocks"
        return None

    def _post(self, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        channel = str(args.get("channel", ""))
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        problem = self._check(args)
        if problem:
            return 200, {"ok": False, "error": problem}, {}
        return self._deliver(channel, args, "api")

    def _deliver(
        self, channel: str, args: dict[str, Any], via: str
    ) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            now = self.clock()
            last = self._last_post.get(channel)
            wait = 0
            if last is not None and now - last < 1.0:
                wait = max(1, math.ceil(1.0 - (now - last)))
            if self._throttled.get(channel, now) > now:
                wait = max(wait, math.ceil(self._throttled[channel] - now))
            if via == "api":
                self.post_attempts.append((now, channel, 429 if wait else 200))
            if wait:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
            self._last_post[channel] = now
            ts = f"{1_700_000_000 + len(self.messages)}.000100"
            meta = args.get("metadata")
            self.messages.append(
                Message(
                    channel,
                    args.get("text") or "",
                    list(args.get("blocks") or []),
                    ts,
                    via,
                    json.loads(meta) if isinstance(meta, str) else meta,
                )
            )
        return 200, {"ok": True, "channel": channel, "ts": ts}, {}

    def _webhook(self, req: Request) -> tuple[int, Any, dict[str, str]]:
        try:
            args = json.loads(req.get_data() or b"{}")
        except ValueError:
            return 400, "invalid_payload", {}
        problem = self._check(args)
        if problem:
            return 400, problem, {}
        status, body, headers = self._deliver(self.webhook_channel, args, "webhook")
        return status, ("ok" if status == 200 else body.get("error", "")), headers

    def render_html(self, channel: str | None = None) -> str:
        """The messages as Slack shows them, by conversation (:mod:`sandbox.slack_page`).

        ``/?channel=D…`` shows one conversation.
        """
        with self._lock:
            messages, users = list(self.messages), dict(self.users)
        if channel:
            messages = [m for m in messages if m.channel == channel]
        return page(messages, users)


def seed_demo(sandbox: SlackSandbox, reps: list[str]) -> dict[str, str]:
    """Give every rep but the last a Slack account (the last shows the fallback channel)."""
    return {email: sandbox.add_user(email) for email in reps[:-1]}
