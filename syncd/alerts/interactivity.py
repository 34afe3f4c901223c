"""The Slack interactivity endpoint: verify, acknowledge at once, do the work after.

Slack POSTs a button click to the app's Request URL as ``payload=<json>``
(https://api.slack.com/interactivity/handling#payloads) and expects HTTP 200 within three
seconds. Every request is checked as Slack documents
(https://api.slack.com/authentication/verifying-requests-from-slack) with slack_sdk's
``SignatureVerifier``: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}`` under the signing
secret, compared in constant time, the timestamp within five minutes. A request whose
signature was already seen is a replay and is refused too (unless Slack marks it a retry
with ``X-Slack-Retry-Num``). A valid click is answered 200 with an empty body at once and
queued; one worker thread does the work (Salesforce, flags, the message update) afterwards.
The same click arriving again (Slack retries) is acknowledged and not done twice.

The receiver is mounted at ``/webhooks/slack`` on the service: it authenticates requests by
Slack's signature, never by the status page's token.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier
from werkzeug.wrappers import Request, Response

from syncd.alerts.actions import Click, clicks

log = logging.getLogger(__name__)

#: Slack's window for a request's timestamp, seconds.
WINDOW = 5 * 60
#: Clicks remembered for idempotency.
REMEMBERED = 10_000


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class Interactivity:
    """A WSGI receiver of Slack's block actions."""

    def __init__(
        self,
        signing_secret: str,
        do: Callable[[Click], None],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self._clock = clock
        self._do = do
        self._lock = threading.Lock()
        self._signatures: OrderedDict[str, float] = OrderedDict()
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._queue: queue.Queue[Click | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self.done = 0
        self.refused = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """WSGI entry point."""
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Verify, acknowledge, queue."""
        body = request.get_data(cache=True)
        ts = request.headers.get("X-Slack-Request-Timestamp")
        sig = request.headers.get("X-Slack-Signature")
        if not self._verifier.is_valid(body, ts, sig):
            return self._refuse("invalid or stale signature")
        with self._lock:
            now = self._clock()
            while self._signatures and next(iter(self._signatures.values())) < now - WINDOW:
                self._signatures.popitem(last=False)
            retry = request.headers.get("X-Slack-Retry-Num") is not None
            if sig in self._signatures and not retry:
                return self._refuse("replayed request")
            self._signatures[str(sig)] = now
        try:
            form = parse_qs(body.decode())
            payload = json.loads(form["payload"][0])
        except (KeyError, ValueError, UnicodeDecodeError):
            return Response("bad payload\n", status=400, mimetype="text/plain")
        for click in clicks(payload):
            with self._lock:
                if click.key in self._keys:
                    continue  # Slack retried it: acknowledged, done once
                self._keys[click.key] = None
                while len(self._keys) > REMEMBERED:
                    self._keys.popitem(last=False)
            self._start()
            self._queue.put(click)
        return Response("", status=200)

    def _refuse(self, why: str) -> Response:
        self.refused += 1
        log.warning("slack interactivity request refused: %s", why)
        return Response(why + "\n", status=401, mimetype="text/plain")

    def _start(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="slack-actions", daemon=True
                )
                self._worker.start()

    def _work(self) -> None:
        while (click := self._queue.get()) is not None:
            try:
                self._do(click)
                self.done += 1
            except Exception:  # one failed action must not stop the worker
                log.exception("slack action failed", extra={"action": click.action})

    def stop(self) -> None:
        """Let the worker finish what is queued, then end it."""
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=30)
            self._worker = None


def receiver(app: Any) -> Interactivity | None:
    """The endpoint for ``app`` when ``[alerts.slack]`` has a signing secret, else None.

    The work runs on the receiver's own thread with its own Salesforce client and Slack
    client (the capture thread's are never shared). The actor is the Salesforce User whose
    email is the clicking Slack user's, when there is one; it is recorded with the action.
    With JWT bearer sign-in the Opportunity is updated as that user (their own session);
    otherwise, or when they cannot sign in, as the integration user.
    """
    from syncd.alerts.actions import perform, updated_blocks
    from syncd.alerts.slack import SlackDelivery
    from syncd.errors import SyncdError
    from syncd.salesforce.client import SalesforceClient
    from syncd.salesforce.soql import select, where_eq

    slack = app.config.alerts.slack
    if slack is None or not slack.takes_clicks or slack.signing_secret is None:
        return None
    delivery = SlackDelivery.from_config(slack, api_url=slack.api_url)
    sf = app.config.salesforce
    clients: dict[str, Any] = {}

    def salesforce(username: str = "") -> Any:
        """The integration user's client, or (JWT bearer) one signed in as ``username``."""
        if username not in clients:
            settings = sf.model_copy(update={"username": username}) if username else sf
            clients[username] = SalesforceClient.from_config(settings)
        return clients[username]

    def do(click: Click) -> None:
        client = salesforce()
        email = delivery.user_email(click.slack_user)
        actor, acting = None, client
        if email:
            query = select(["Id", "Username"], "User", where_eq("Email", email))
            row = next(iter(client.query_page(query).get("records", [])), None)
            actor = row["Id"] if row else None
            if row and sf.auth == "jwt":
                # The JWT bearer flow signs in as any pre-authorised user: the change is the
                # rep's own in Salesforce (LastModifiedById), not the integration user's.
                try:
                    acting = salesforce(row["Username"])
                    acting.login()
                except SyncdError:
                    log.info("slack action: rep cannot sign in, done as the integration user")
                    acting = client
        try:
            line = perform(
                click,
                store=app.store,
                salesforce=acting,
                actor=actor,
                now=app.clock(),
                as_rep=acting is not client,
            )
        except (SyncdError, ValueError) as err:
            log.warning("slack action not done", extra={"action": click.action}, exc_info=True)
            line = f":warning: Could not do that ({type(err).__name__}); try again in Salesforce."
        if click.channel and click.ts:
            delivery.update(click.channel, click.ts, updated_blocks(click.blocks, line), line)

    return Interactivity(slack.signing_secret.resolve(), do)
