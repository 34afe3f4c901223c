"""Slack delivery from the store's alert queue, through slack_sdk.

App mode: a DM to the deal owner (``users.lookupByEmail``, cached, then
``conversations.open``), else the fallback channel. Webhook mode: every message to the one
channel of an incoming webhook. About one message per second per channel, and the other methods
within their Slack rate tier's calls a minute (:data:`TIERS`), paced on an injectable clock
and sleep; a 429's Retry-After is honoured through :mod:`syncd.retry`, except for
chat.postMessage: a 429 there holds that channel until Retry-After passes (nothing is posted
to it before; https://api.slack.com/apis/rate-limits#headers) while the other channels'
messages go on; the pass then waits for the hold to end, or leaves that channel's messages
queued for a later pass when the wait would pass :data:`HOLD_WAIT_MAX`.
Alerts that cannot be delivered (Slack 5xx, outage, network) stay queued for a later pass,
retried with exponential backoff (5 minutes doubling to an hour, or Slack's Retry-After), and
each is marked sent exactly when Slack accepted it, so it goes out once.

A token Slack refuses (``invalid_auth``, ``token_revoked``, ``account_inactive`` …, see
https://api.slack.com/methods/chat.postMessage#errors) pauses delivery: the alert stays queued,
nothing more is tried, and each later pass first asks ``auth.test``
(https://api.slack.com/methods/auth.test) and resumes once the token works. ``paused`` says
why (the status page and ``syncd_alert_delivery_paused`` show it).

Slack's errors are translated here, at the edge: 429/``ratelimited`` → RateLimited, 5xx and
network errors → Transient, a refused token → AuthExpired, anything else → Permanent.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from syncd import retry
from syncd.config import SlackAlerts
from syncd.errors import AuthExpired, Permanent, RateLimited, SyncdError, Transient

log = logging.getLogger(__name__)

#: Seconds between two messages to one channel (Slack allows about one a second).
PER_CHANNEL_INTERVAL = 1.0
#: Added to a pacing wait so that clock + wait is past the interval whatever the float rounding.
PACE_MARGIN = 0.001
#: How long an undeliverable alert waits in the queue before the next try (doubling per
#: attempt up to :data:`REQUEUE_MAX`).
REQUEUE_AFTER = timedelta(minutes=5)
REQUEUE_MAX = timedelta(hours=1)
#: Longest a delivery pass waits, in all, for rate-limited channels to open again; past it
#: their messages stay queued for a later pass.
HOLD_WAIT_MAX = 60.0
#: Calls a minute per Web API method, by Slack's rate tiers
#: (https://api.slack.com/apis/rate-limits; Tier 3: 50+, Tier 4: 100+ a minute; each method's
#: page names its tier). chat.postMessage is paced per channel instead (about one a second).
TIERS = {
    "users.lookupByEmail": 50,  # Tier 3
    "conversations.open": 50,  # Tier 3
    "chat.update": 50,  # Tier 3
    "users.info": 100,  # Tier 4
    "auth.test": 100,  # Special, generous: Tier 4 here
}
#: Slack's answers for a token that no longer works: delivery pauses until it does.
AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "org_login_required",
        "ekm_access_denied",
    }
)


def requeue_after(attempts: int, retry_after: float | None = None) -> timedelta:
    """The wait before the next try of an alert tried ``attempts`` times (Retry-After wins)."""
    if retry_after:
        return timedelta(seconds=retry_after)
    return min(REQUEUE_AFTER * 2 ** min(attempts, 8), REQUEUE_MAX)


POLICY = retry.RetryPolicy(max_attempts=4, max_total_wait=60.0, cap=8.0)


def _retry_after(headers: Any) -> float | None:
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def translate(status: int, error: str | None, headers: Any, where: str) -> Exception:
    """One Slack failure as a syncd error."""
    if status == 429 or error == "ratelimited":
        return RateLimited(f"Slack rate limit on {where}", retry_after=_retry_after(headers))
    if status >= 500:
        return Transient(f"Slack unavailable ({status}) on {where}")
    if error in AUTH_ERRORS:
        return AuthExpired(f"Slack refused the token on {where}: {error}")
    return Permanent(f"Slack refused {where}: {error or status}", code=error or str(status))


def user_target(email: str) -> str:
    """The queue's target for a DM to the Salesforce user with this email."""
    return f"user:{email.lower()}"


class SlackDelivery:
    """Sends queued alerts to Slack."""

    def __init__(
        self,
        *,
        token: str | None = None,
        webhook_url: str | None = None,
        api_url: str = SlackAlerts.model_fields["api_url"].default,
        fallback_channel: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout: int = 10,
    ) -> None:
        if (token is None) == (webhook_url is None):
            raise ValueError("give exactly one of a bot token or a webhook URL")
        # No slack_sdk retry handlers: retries live in syncd.retry, with our sleep.
        self._web = (
            WebClient(token=token, base_url=api_url, timeout=timeout, retry_handlers=[])
            if token
            else None
        )
        self._hook = (
            WebhookClient(webhook_url, timeout=timeout, retry_handlers=[]) if webhook_url else None
        )
        self.fallback_channel = fallback_channel
        self._sleep = sleep
        self._clock = clock
        self._users: dict[str, str | None] = {}
        self._dms: dict[str, str] = {}
        self._last_post: dict[str, float] = {}
        #: Channels Slack rate-limited, with the clock time their Retry-After ends.
        self._held: dict[str, float] = {}
        self.calls: Counter[str] = Counter()
        self._recent: dict[str, deque[float]] = {}
        #: Why delivery is paused (a refused token), or None.
        self.paused: str | None = None

    def __repr__(self) -> str:
        return f"SlackDelivery(mode={'webhook' if self._hook else 'app'})"

    @classmethod
    def from_config(cls, slack: SlackAlerts, **kwargs: Any) -> SlackDelivery:
        """Build from ``[alerts.slack]`` (secrets read from their env/file references)."""
        if slack.mode == "webhook":
            kwargs["webhook_url"] = slack.webhook_url.resolve()
        else:
            kwargs["token"] = slack.token.resolve()
        return cls(fallback_channel=slack.fallback_channel, **kwargs)

    # -- Web API calls -------------------------------------------------------------------

    def _tier(self, method: str) -> None:
        """Wait while ``method`` used its Slack rate tier's calls of the last minute."""
        per_minute = TIERS.get(method)
        if per_minute is None:
            return
        recent = self._recent.setdefault(method, deque())
        now = self._clock()
        while recent and recent[0] <= now - 60.0:
            recent.popleft()
        if len(recent) >= per_minute:
            self._sleep(recent[0] + 60.0 - now)
            recent.popleft()
        recent.append(self._clock())

    def _api(self, method: str, **kwargs: Any) -> Any:
        assert self._web is not None
        self._tier(method)
        self.calls[method] += 1
        try:
            return self._web.api_call(method, **kwargs)
        except SlackApiError as err:
            resp = err.response
            raise translate(resp.status_code, resp.get("error"), resp.headers, method) from None
        except (SlackClientError, OSError) as err:
            raise Transient(f"Slack unreachable on {method}: {type(err).__name__}") from None

    def _call(self, method: str, **kwargs: Any) -> Any:
        return retry.call(lambda: self._api(method, **kwargs), POLICY, sleep=self._sleep)

    def lookup(self, email: str) -> str | None:
        """The Slack user id for an email (cached, misses too), or None."""
        key = email.lower()
        if key not in self._users:
            try:
                resp = self._call("users.lookupByEmail", http_verb="GET", params={"email": key})
                self._users[key] = resp["user"]["id"]
            except Permanent as err:
                if err.code != "users_not_found":
                    raise
                self._users[key] = None
        return self._users[key]

    def resolve(self, target: str) -> str:
        """The channel a queued target goes to: a DM, a channel, or the fallback channel."""
        if not target.startswith("user:"):
            return target.removeprefix("channel:")
        email = target[len("user:") :]
        uid = self.lookup(email)
        if uid is None:
            if not self.fallback_channel:
                raise Permanent(
                    "no Slack user for the owner and no fallback channel", code="users_not_found"
                )
            return self.fallback_channel
        if uid not in self._dms:
            resp = self._call("conversations.open", json={"users": uid})
            self._dms[uid] = resp["channel"]["id"]
        return self._dms[uid]

    def user_email(self, user_id: str) -> str | None:
        """A Slack user's email (``users.info``, needs ``users:read.email``), or None."""
        if self._web is None or not user_id:
            return None
        try:
            resp = self._call("users.info", http_verb="GET", params={"user": user_id})
        except Permanent:
            return None
        email = ((resp.get("user") or {}).get("profile") or {}).get("email")
        return str(email).lower() if email else None

    def update(self, channel: str, ts: str, blocks: list[dict[str, Any]], text: str) -> None:
        """Replace a message's content (``chat.update``), e.g. the buttons by what was done."""
        if self._web is None:
            return
        self._call(
            "chat.update", json={"channel": channel, "ts": ts, "text": text, "blocks": blocks}
        )

    # -- posting -------------------------------------------------------------------------

    def _pace(self, channel: str) -> None:
        last = self._last_post.get(channel)
        if last is not None and (wait := PER_CHANNEL_INTERVAL - (self._clock() - last)) > 0:
            # A margin, not a loop: clock + wait can land a hair short of the interval, and
            # re-sleeping the remainder (~1e-16 s) need not move a float clock at all.
            self._sleep(wait + PACE_MARGIN)
        self._last_post[channel] = self._clock()

    def _post_once(self, channel: str, payload: dict[str, Any]) -> None:
        self._pace(channel)
        if self._hook is not None:
            self.calls["webhook"] += 1
            try:
                resp = self._hook.send(text=payload.get("text"), blocks=payload.get("blocks"))
            except (SlackClientError, OSError) as err:
                raise Transient(f"Slack webhook unreachable: {type(err).__name__}") from None
            if resp.status_code != 200:
                raise translate(resp.status_code, resp.body, resp.headers, "webhook")
            return
        self._api("chat.postMessage", json={"channel": channel, **payload})

    def channel_of(self, target: str) -> str:
        """Where a queued target's messages go (``webhook`` in webhook mode)."""
        return "webhook" if self._hook is not None else self.resolve(target)

    def held_for(self, channel: str) -> float:
        """Seconds until a rate-limited ``channel`` may be posted to again (0: now)."""
        until = self._held.get(channel)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._held[channel]
            return 0.0
        return left

    def post(self, target: str, payload: dict[str, Any]) -> None:
        """Deliver one message now (retrying 5xx under the policy).

        A 429 holds the channel for its Retry-After and raises :class:`ChannelHeld`; while
        it is held nothing is posted to it and this raises at once, without asking Slack.
        """
        channel = self.channel_of(target)
        left = self.held_for(channel)
        if left:
            raise ChannelHeld(f"Slack rate limit on {channel}: held", retry_after=left)
        try:
            retry.call(lambda: self._post_limited(channel, payload), POLICY, sleep=self._sleep)
        except _Held as held:
            err = held.error
            raise ChannelHeld(str(err), retry_after=err.retry_after) from None

    def _post_limited(self, channel: str, payload: dict[str, Any]) -> None:
        """One post; a 429 holds the channel and ends the try (no retry on this thread)."""
        try:
            self._post_once(channel, payload)
        except RateLimited as err:
            wait = err.retry_after if err.retry_after is not None else PER_CHANNEL_INTERVAL
            self._held[channel] = self._clock() + max(float(wait), PER_CHANNEL_INTERVAL)
            raise _Held(err) from None

    def check_auth(self) -> bool:
        """While paused, ask ``auth.test`` whether the token works again (True: resumed)."""
        if self.paused is None:
            return True
        if self._hook is not None:
            self.paused = None  # a webhook has no auth.test: the next post tells
            return True
        try:
            self._api("auth.test")
        except AuthExpired:
            return False
        except (Transient, Permanent):
            return False
        log.warning("slack: token works again, delivery resumes")
        self.paused = None
        return True

    def deliver(
        self,
        alerts: Any,
        *,
        now: Callable[[], Any],
        limit: int = 500,
        should_stop: Callable[[], bool] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Counter[str]:
        """Send the queued alerts that are due; counts of sent / requeued / failed / paused.

        Never loses an alert: what Slack could not take now stays queued with its error.
        ``should_stop`` (a drain) ends the pass between two messages; ``progress(done, of)``
        is told after each one.
        """
        counts: Counter[str] = Counter()
        if not self.check_auth():
            counts["paused"] = len(alerts.due(limit))
            return counts
        due = alerts.due(limit)
        todo = deque(due)
        waited = 0.0
        done = told = 0
        while todo:
            if should_stop is not None and should_stop():
                break
            alert = self._next(todo)
            if alert is None:
                # Every message left is for a rate-limited channel: wait for the first to
                # open, or leave them queued when that is too long.
                left = min(self._target_held(a.channel) for a in todo)
                if waited + left > HOLD_WAIT_MAX:
                    counts["held"] += len(todo)
                    break
                # With the margin: sleeping exactly `left` can leave a float clock a hair
                # short of the hold's end, and the remainder (~1e-16 s) need not move it.
                self._sleep(left + PACE_MARGIN)
                waited += left + PACE_MARGIN
                continue
            if progress is not None and done > told:
                progress(done, len(due))  # once per message done, not per try
                told = done
            try:
                self.post(alert.channel, alert.payload)
            except AuthExpired as err:
                # The token is refused: keep this and the rest queued, pause until it works.
                alerts.mark_failed(alert.id, str(err), retry_at=now())
                if self.paused is None:
                    log.error("slack: token refused, delivery paused (%s)", err)
                self.paused = str(err)
                counts["paused"] += 1
                break
            except ChannelHeld:
                # Its channel is held: it goes again once the hold ends, first of them.
                todo.appendleft(alert)
                continue
            except Transient as err:
                # Slack is down or throttling hard: keep this and the rest queued for later.
                counts["requeued"] += self._requeue(alerts, alert, err, now)
                break
            except Permanent as err:
                alerts.mark_failed(alert.id, str(err), retry_at=None)
                counts["failed"] += 1
                done += 1
                continue
            alerts.mark_sent(alert.id)
            counts["sent"] += 1
            done += 1
        log.info(
            "slack: %d sent, %d requeued, %d failed, %d paused, %d held",
            counts["sent"],
            counts["requeued"],
            counts["failed"],
            counts["paused"],
            counts["held"],
        )
        return counts

    def _next(self, todo: deque[Any]) -> Any | None:
        """The first queued alert whose channel is not held (taken out), or None."""
        for i, alert in enumerate(todo):
            if not self._held or not self._target_held(alert.channel):
                del todo[i]
                return alert
        return None

    def _target_held(self, target: str) -> float:
        """Seconds a target's channel is held; 0 when it is not, or unknown (posting says)."""
        try:
            return self.held_for(self.channel_of(target))
        except SyncdError:
            return 0.0

    @staticmethod
    def _requeue(alerts: Any, alert: Any, err: Transient, now: Callable[[], Any]) -> int:
        wait = requeue_after(alert.attempts, err.retry_after)
        alerts.mark_failed(alert.id, str(err), retry_at=now() + wait)
        log.warning("slack: delivery paused, alerts stay queued (%s)", type(err).__name__)
        return 1


class ChannelHeld(RateLimited):
    """The message's channel is rate-limited: nothing was posted, it waits for the hold."""


class _Held(Exception):
    """A 429 from chat.postMessage, kept from the retry loop (the channel is held instead)."""

    def __init__(self, error: RateLimited) -> None:
        super().__init__(str(error))
        self.error = error
