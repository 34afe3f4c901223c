"""What every phone connector shares: numbers in E.164, the rep on the call, the missed-call rule.

Numbers. :func:`to_e164` is the normaliser's (``phonenumbers`` with the configured
``capture.default_region``; the ITU ``00`` international prefix read as ``+`` even where the
default region dials abroad with 011; extensions dropped), so the directory indexes contact
numbers by exactly the same rule. Connectors hand the normaliser numbers already in E.164, so
every format matches the way the directory indexes Contact Phone, MobilePhone, HomePhone,
OtherPhone and Lead Phone, MobilePhone.

The rep. A phone system knows its users by its own ids; :func:`rep_address` turns the user into
the rep's email (the ``users`` mapping in the settings wins, then the email the phone system
reports). That email is the call's mailbox, so matching makes the Salesforce User with that
email the Task's owner. A company-wide call log is pulled once per connector under the
settings' ``mailbox`` (a unit name); when the operator lists rep mailboxes instead, each pull
keeps only that rep's calls.

Rate. :class:`MinuteLimiter` keeps a connector under a vendor's "N requests in any window"
limit on its own (RingCentral's Heavy group per minute, Zoom's Heavy APIs per second).

Pages: :func:`connectors._pages.page_items` (re-exported here) reads a listing's array.

Recordings. A recording URL that needs a vendor login or expires in minutes is no link for a
rep: with ``recording_links = true`` connectors pass the vendor's own page for the call where it
has one (Aircall's ``asset``), else :func:`recording_where` says where the recording lives.

Missed calls. ``missed_calls = "log"`` (the default) writes missed and unanswered calls as Tasks
with their disposition, because an attempted call is activity a manager wants to see;
``"skip"`` drops them with the skip reason ``missed_call``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from connectors._pages import page_items
from connectors.base import Connector
from syncd import retry
from syncd.capture.normalize_call import normalize_call, to_e164
from syncd.config import ConnectorSettings
from syncd.email_address import normalize_address
from syncd.errors import AuthExpired, Permanent, RateLimited, Transient
from syncd.model import Call, Skip, SkipReason

__all__ = [
    "MinuteLimiter",
    "PhoneApi",
    "PhoneSettings",
    "is_missed",
    "page_items",
    "recording_where",
    "rep_address",
    "to_call",
    "to_e164",
    "wants",
]

#: Dispositions (lower case) that mean nobody talked.
MISSED = frozenset(
    {"missed", "no answer", "no_answer", "unanswered", "abandoned", "busy", "voicemail", "rejected"}
)


class PhoneSettings(ConnectorSettings):
    """Keys every phone connector has.

    ``mailbox``: the unit a company-wide log is pulled under (status and cursors show it).
    ``users``: phone-system user id or email → the rep's email, where they differ.
    ``missed_calls``: "log" (default) or "skip", see the module docstring.
    ``recording_links``: pass the call's recording URL on (off by default: recordings are
    personal data many companies keep out of the CRM).
    """

    mailbox: str = "phone-system"
    users: dict[str, str] = {}
    missed_calls: Literal["log", "skip"] = "log"
    recording_links: bool = False

    def named_mailboxes(self) -> tuple[str, ...]:
        """The unit the company-wide log is pulled under (after any listed ``mailboxes``)."""
        return super().named_mailboxes() or (self.mailbox,)


def recording_where(provider: str, detail: str) -> str:
    """Where a recording a rep cannot open from a link lives: ``in <provider> (<detail>)``."""
    return f"in {provider} ({detail})"


def is_missed(disposition: str | None) -> bool:
    """True when the disposition says nobody talked."""
    return (disposition or "").strip().lower() in MISSED


def rep_address(settings: PhoneSettings, user_id: Any, email: Any) -> str | None:
    """The rep's email for a phone-system user (the ``users`` mapping first), or None."""
    for ident in (user_id, email):
        if ident is not None and str(ident) in settings.users:
            return normalize_address(settings.users[str(ident)])
    return normalize_address(email) if email else None


def wants(settings: PhoneSettings, mailbox: str, rep: str | None) -> bool:
    """Whether a call of ``rep`` belongs to a pull of ``mailbox``."""
    if mailbox == settings.mailbox:
        return True
    return rep is not None and rep == normalize_address(mailbox)


def to_call(connector: Connector, record: Mapping[str, Any], mailbox: str) -> Call | Skip:
    """A neutral call record (see ``normalize_call``) → Call or Skip, with the phone rules.

    ``record["user_address"]`` is the rep; the call's mailbox is the rep's (so the rep's
    Salesforce user owns the Task), else ``mailbox``.
    """
    settings = connector.settings
    assert isinstance(settings, PhoneSettings)
    rep = normalize_address(record.get("user_address"))
    region = connector.context.capture.default_region
    neutral = dict(record)
    for side in ("from", "to"):
        # Pre-normalised so every connector reads numbers by the rules above.
        neutral[side] = to_e164(record.get(side), region)
    if not settings.recording_links:
        neutral.pop("recording_url", None)
    sid = str(record.get("call_id") or "?")
    if settings.missed_calls == "skip" and is_missed(record.get("disposition")):
        return Skip(sid, SkipReason.MISSED_CALL)
    origin = connector.context.origin(connector.name, rep or mailbox)
    return normalize_call(neutral, origin, source_id=sid)


# -- HTTP at the edge ------------------------------------------------------------------------


class PhoneApi:
    """A requests session to one phone system, translating its failures into syncd errors.

    ``trust_env`` is off so REQUESTS_CA_BUNDLE cannot override ``ca_bundle``. 429 becomes
    :class:`RateLimited` with the wait the vendor asked for (``Retry-After``, else
    ``reset_after(response)``), 5xx and network failures :class:`Transient`, both retried by
    :mod:`syncd.retry` with the injected ``sleep``; 401 :class:`AuthExpired` (the caller may
    take a new token once); other 4xx :class:`Permanent`. Credentials never reach an error.
    """

    def __init__(
        self,
        base_url: str,
        *,
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        reset_after: Callable[[requests.Response], float | None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = ca_bundle or True
        self.timeout = timeout
        self.sleep = sleep
        self.reset_after = reset_after
        self.calls = 0

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request with retries; returns a 2xx response or raises a syncd error."""
        return retry.call(lambda: self._once(method, path, **kwargs), sleep=self.sleep)

    def _once(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("https://") else self.base_url + path
        self.calls += 1
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise Transient(f"{method} {urlsplit(url).path}: {type(exc).__name__}") from None
        where = f"{method} {urlsplit(url).path}"
        if response.status_code == 429:
            wait = _retry_after(response)
            if wait is None and self.reset_after is not None:
                wait = self.reset_after(response)
            raise RateLimited(f"{where}: rate limited", retry_after=wait)
        if response.status_code >= 500:
            raise Transient(
                f"{where}: HTTP {response.status_code}", retry_after=_retry_after(response)
            )
        if response.status_code == 401:
            raise AuthExpired(f"{where}: the phone system refused the credentials (401)")
        if response.status_code >= 400:
            raise Permanent(f"{where}: HTTP {response.status_code}", code=str(response.status_code))
        return response

    def close(self) -> None:
        """Close the session."""
        self.session.close()


class MinuteLimiter:
    """At most ``limit`` requests in any ``window`` seconds, waiting (injected) when full."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit, self.window, self.clock, self.sleep = limit, window, clock, sleep
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self.waited = 0.0

    def acquire(self) -> None:
        """Wait until one more request fits, then count it."""
        now = self.clock()
        if now < self._blocked_until:
            self._wait(self._blocked_until - now)
            now = self.clock()
        while self._sent and now - self._sent[0] >= self.window:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            self._wait(self.window - (now - self._sent[0]))
            now = self.clock()
            while self._sent and now - self._sent[0] >= self.window:
                self._sent.popleft()
        self._sent.append(now)

    def observe(self, headers: Any) -> None:
        """Honour the server's count: none remaining means wait out its window."""
        if headers.get("X-Rate-Limit-Remaining") == "0":
            window = float(headers.get("X-Rate-Limit-Window") or self.window)
            self._blocked_until = self.clock() + window

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            self.sleep(seconds)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
