"""A Slack Web API emulator, strict the way Slack is.

Methods: auth.test, users.lookupByEmail, conversations.open, chat.postMessage; plus an
incoming webhook.

- Tokens: ``Authorization: Bearer xoxb-…`` must be the bot token, else ``invalid_auth``
  (no header: ``not_authed``). Web API errors are HTTP 200 with ``{"ok": false, "error": …}``.
- Block Kit limits: more than 50 blocks or a section text over 3,000 characters →
  ``invalid_blocks``; a ``text`` over 40,000 characters → ``msg_too_long``.
- Rate limit: about one message per second per channel, on an injectable clock; a faster
  post gets HTTP 429 ``ratelimited`` with ``Retry-After``.
- Faults: ``outage(n)`` answers the next ``n`` requests with HTTP 503.
- Records every message (``messages``), counts every request (``calls``), and serves an HTML
  page of the messages at ``/`` for people running the demo.
"""

from __future__ import annotations

import html
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

log = logging.getLogger(__name__)

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_TEXT = 40000
BOT_TOKEN = "xoxb-sandbox-bot-token"


@dataclass
class Message:
    """One delivered message."""

    channel: str
    text: str
    blocks: list[dict[str, Any]]
    ts: str
    via: str = "api"


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

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._last_post: dict[str, float] = {}
        self._outage = 0
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
            return 200, self.render_html(), {}
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
        handler = {
            "auth.test": self._auth_test,
            "users.lookupByEmail": self._lookup,
            "conversations.open": self._open,
            "chat.postMessage": self._post,
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
            if last is not None and now - last < 1.0:
                wait = max(1, math.ceil(1.0 - (now - last)))
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
            self._last_post[channel] = now
            ts = f"{1_700_000_000 + len(self.messages)}.000100"
            self.messages.append(
                Message(channel, args.get("text") or "", list(args.get("blocks") or []), ts, via)
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

    def render_html(self) -> str:
        """A plain page listing every message, newest first."""
        rows = []
        for m in reversed(self.messages):
            texts = [m.text] + [
                (b.get("text") or {}).get("text", "")
                for b in m.blocks
                if b.get("type") == "section"
            ]
            body = "<br>".join(html.escape(t) for t in texts if t)
            rows.append(f"<tr><td>{html.escape(m.channel)}</td><td>{body}</td></tr>")
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>Slack sandbox</title></head>"
            f"<body><h1>Slack sandbox: {len(self.messages)} messages</h1>"
            "<table border='1'><tr><th>channel</th><th>message</th></tr>"
            + "".join(rows)
            + "</table></body></html>"
        )


def seed_demo(sandbox: SlackSandbox, reps: list[str]) -> dict[str, str]:
    """Give every rep but the last a Slack account (the last shows the fallback channel)."""
    return {email: sandbox.add_user(email) for email in reps[:-1]}
