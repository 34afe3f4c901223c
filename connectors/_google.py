"""What Gmail and Google Calendar share: settings, credentials, clients, errors, batches.

Authentication is either a service account with domain-wide delegation (the key JSON from
``service_account_key_env``/``_file``; each mailbox is reached with ``with_subject(mailbox)``)
or, for small teams, per-user OAuth refresh tokens: ``oauth_tokens_dir`` holds one
authorized-user JSON per mailbox (``<mailbox>.json``), readable by its owner only (mode 0600,
checked: a token readable by others is a config problem, not a warning).

Clients are built with ``googleapiclient.discovery.build_from_document`` from the discovery
documents the library ships (parsed once per process, shared by every mailbox's client), over an
``AuthorizedHttp`` whose httplib2 trusts only the configured CA bundle when one is given. Vendor
errors are translated here and nowhere else:

- 429, and 403 ``rateLimitExceeded``/``userRateLimitExceeded``/``dailyLimitExceeded``/
  ``quotaExceeded`` → :class:`RateLimited` carrying ``Retry-After`` (a quota answer is never a
  skip or a dead letter); 5xx and network errors → :class:`Transient`;
- 401 and a refused refresh (``invalid_grant``) → :class:`AuthExpired`;
- 404 on Gmail history and 410 on Calendar → :class:`CursorExpired` (the caller says which);
- anything else → :class:`Permanent`.
"""

from __future__ import annotations

import functools
import json
import stat
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from googleapiclient import discovery_cache
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest
from pydantic import model_validator

from syncd import retry
from syncd.config import ConnectorSettings, SecretRef, secret_field
from syncd.errors import (
    AuthExpired,
    ConfigError,
    CursorExpired,
    Permanent,
    Problem,
    RateLimited,
    SyncdError,
    Transient,
)

#: Calls per batch request: Google allows 100 and recommends at most 50.
BATCH_SIZE = 50
#: Quota answers: retried (then the mailbox is given back), never a skip or a dead letter.
_RATE_REASONS = {
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "dailyLimitExceeded",
    "quotaExceeded",
}


class GoogleSettings(ConnectorSettings):
    """``[[connectors]]`` keys both Google connectors take."""

    service_account_key: SecretRef | None = secret_field("service account key JSON")
    oauth_tokens_dir: str | None = None
    api_endpoint: str | None = None
    ca_bundle: str | None = None

    @model_validator(mode="after")
    def _one_way_in(self) -> GoogleSettings:
        if (self.service_account_key is None) == (self.oauth_tokens_dir is None):
            raise ValueError(
                "set exactly one of service_account_key_env/_file (domain-wide delegation)"
                " or oauth_tokens_dir (per-user refresh tokens)"
            )
        return self

    def file_problems(self) -> Iterator[tuple[str, str]]:
        """Each named mailbox's OAuth token file: present and mode 0600 (as pulls require)."""
        if self.oauth_tokens_dir is None:
            return
        folder = Path(self.oauth_tokens_dir)
        if not folder.is_dir():
            yield "oauth_tokens_dir", f"{folder} is not a directory"
            return
        for mailbox in self.named_mailboxes():
            path = folder / f"{mailbox}.json"
            if not path.is_file():
                yield "oauth_tokens_dir", f"no token file {path.name} for {mailbox}"
            elif (mode := path.stat().st_mode) & (stat.S_IRWXG | stat.S_IRWXO):
                yield (
                    "oauth_tokens_dir",
                    f"{path} is mode {stat.S_IMODE(mode):04o}: run chmod 600 on it (a token file"
                    " others can read is refused)",
                )


class QuotaMeter:
    """Vendor quota units spent, per mailbox, as the caller charges them."""

    def __init__(self, units: dict[str, int]) -> None:
        self.units = units
        self.used: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def charge(self, mailbox: str, method: str, n: int = 1) -> None:
        """Count ``n`` calls of ``method`` for ``mailbox``."""
        self.used[mailbox] += self.units.get(method, 1) * n
        self.calls[method] += n


@functools.lru_cache(maxsize=8)
def _service_account(key_json: str, scopes: tuple[str, ...]) -> Any:
    """The service account's credentials, its private key parsed once per process.

    Parsing the PEM key costs tens of milliseconds of CPU (the key is validated on load),
    which per mailbox was the largest CPU cost of a pass; ``with_subject`` copies share the
    parsed signer. Keyed by the key's text, so a rotated key is parsed again.
    """
    info = json.loads(key_json)
    return service_account.Credentials.from_service_account_info(info, scopes=list(scopes))


def credentials_for(settings: GoogleSettings, mailbox: str, scopes: list[str]) -> Any:
    """google-auth credentials acting as ``mailbox``; ``ConfigError`` when they cannot be."""
    key = f"connectors.{settings.name}"
    if settings.service_account_key is not None:
        try:
            base = _service_account(settings.service_account_key.resolve(), tuple(scopes))
        except (ValueError, KeyError) as exc:
            problem = Problem(f"{key}.service_account_key", "not a service account key JSON")
            raise ConfigError([problem]) from exc
        return base.with_subject(mailbox)
    assert settings.oauth_tokens_dir is not None
    path = Path(settings.oauth_tokens_dir) / f"{mailbox}.json"
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            problem = Problem(f"{key}.oauth_tokens_dir", f"{path} must be mode 0600")
            raise ConfigError([problem])
        info = json.loads(path.read_text(encoding="utf-8"))
        creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=scopes)
        # google-auth replaces the file's token_uri with Google's; keep the file's (a sandbox
        # or a private endpoint) when it names one.
        return creds.with_token_uri(info["token_uri"]) if info.get("token_uri") else creds
    except OSError as exc:
        problem = Problem(f"{key}.oauth_tokens_dir", f"no readable token file for {mailbox}")
        raise ConfigError([problem]) from exc
    except ValueError as exc:
        problem = Problem(f"{key}.oauth_tokens_dir", f"{path.name} is not an authorized-user JSON")
        raise ConfigError([problem]) from exc


@functools.cache
def discovery_document(api: str, version: str) -> dict[str, Any]:
    """The discovery document googleapiclient ships, parsed once and shared by every client.

    ``build(static_discovery=True)`` parses its own copy for every client: about 0.5 MB per
    mailbox, so ~1 GB for 1,000 Gmail and Calendar mailboxes. Clients only read it (the
    library's fix-ups of method parameters write the same values each time).
    """
    text = discovery_cache.get_static_doc(api, version)
    if text is None:
        raise ValueError(f"googleapiclient ships no discovery document for {api} {version}")
    document: dict[str, Any] = json.loads(text)
    return document


def build_service(
    settings: GoogleSettings, credentials: Any, api: str, version: str
) -> tuple[Any, str]:
    """A discovery client for ``api`` and the URL of its batch endpoint."""
    endpoint = settings.api_endpoint
    host = urlsplit(endpoint).hostname if endpoint else None
    # Loopback endpoints (the sandbox) must not go through a proxy from the environment.
    proxy: Any = (
        None if host in ("127.0.0.1", "localhost") else httplib2.proxy_info_from_environment
    )
    http = httplib2.Http(timeout=30, ca_certs=settings.ca_bundle, proxy_info=proxy)
    authed = google_auth_httplib2.AuthorizedHttp(credentials, http=http)
    options = {"api_endpoint": endpoint} if endpoint else None
    service = build_from_document(
        discovery_document(api, version), http=authed, client_options=options
    )
    root = f"{urlsplit(endpoint).scheme}://{urlsplit(endpoint).netloc}/" if endpoint else None
    default_root = (
        "https://gmail.googleapis.com/" if api == "gmail" else "https://www.googleapis.com/"
    )
    return service, f"{root or default_root}batch/{api}/{version}"


def _reason(exc: HttpError) -> str:
    try:
        body = json.loads(exc.content.decode("utf-8"))
        return str(body["error"]["errors"][0]["reason"])
    except (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError):
        return ""


def translate(exc: BaseException, *, expired_status: int | None = None) -> SyncdError:
    """A Google client error → syncd's error tree (see the module docstring)."""
    if isinstance(exc, SyncdError):
        return exc
    if isinstance(exc, HttpError):
        status = int(exc.resp.status)
        reason = _reason(exc)
        after_raw = exc.resp.get("retry-after")
        after = float(after_raw) if after_raw and str(after_raw).isdigit() else None
        if status == expired_status:
            return CursorExpired(f"google answered {status}: the cursor is too old")
        if status == 429 or (status == 403 and reason in _RATE_REASONS):
            return RateLimited(f"google rate limit ({reason or status})", retry_after=after)
        if status >= 500:
            return Transient(f"google answered {status}", retry_after=after)
        if status == 401:
            return AuthExpired("google refused the credentials (401)")
        return Permanent(f"google answered {status} {reason}".strip(), code=reason or str(status))
    if isinstance(exc, RefreshError):
        # Only the OAuth error code: the description may echo account details.
        code = (
            exc.args[1].get("error") if len(exc.args) > 1 and isinstance(exc.args[1], dict) else ""
        )
        return AuthExpired(f"google token refresh refused ({code or 'refresh error'})")
    if isinstance(exc, TransportError | httplib2.HttpLib2Error | OSError):
        return Transient(f"network error talking to google: {type(exc).__name__}")
    return Permanent(f"unexpected google client error: {type(exc).__name__}")


_ERRORS = (HttpError, RefreshError, TransportError, httplib2.HttpLib2Error, OSError)


class Caller:
    """Runs requests under the retry policy, translating errors; counts HTTP requests."""

    def __init__(
        self,
        policy: retry.RetryPolicy | str = "default",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = policy
        self.sleep = sleep
        self.requests = 0

    def execute(self, request: HttpRequest, *, expired_status: int | None = None) -> Any:
        """One request; retried while it fails transiently."""

        def attempt() -> Any:
            self.requests += 1
            try:
                return request.execute(num_retries=0)
            except _ERRORS as exc:
                raise translate(exc, expired_status=expired_status) from exc

        return retry.call(attempt, self.policy, sleep=self.sleep)

    def batch(
        self,
        batch_uri: str,
        requests: Iterable[tuple[str, HttpRequest]],
        *,
        before: Callable[[int], None] | None = None,
    ) -> dict[str, Any | SyncdError]:
        """Run ``requests`` in batches of :data:`BATCH_SIZE`; result (or error) per id.

        Parts refused with a rate limit or a 5xx are sent again, alone, under the retry policy
        (honouring the longest Retry-After); other per-part errors are returned, not raised.
        ``before(n)`` runs before each batch of ``n`` calls is sent (quota pacing).
        """
        pending = dict(requests)
        results: dict[str, Any | SyncdError] = {}

        def attempt() -> None:
            answers: dict[str, Any] = {}

            def done(rid: str, response: Any, exc: BaseException | None) -> None:
                answers[rid] = translate(exc) if exc is not None else response

            for chunk in _chunks(list(pending), BATCH_SIZE):
                batch = BatchHttpRequest(callback=done, batch_uri=batch_uri)
                for rid in chunk:
                    batch.add(pending[rid], request_id=rid)
                if before is not None:
                    before(len(chunk))
                self.requests += 1
                try:
                    batch.execute()
                except _ERRORS as exc:
                    raise translate(exc) from exc
                if any(isinstance(answers.get(rid), RateLimited) for rid in chunk):
                    break  # the rest would be refused too: wait before sending more
            for rid, answer in answers.items():
                if not isinstance(answer, Transient):
                    results[rid] = answer
                    pending.pop(rid, None)
            if pending:
                waits = [a.retry_after for a in answers.values() if isinstance(a, Transient)]
                longest = max((w for w in waits if w is not None), default=None)
                raise RateLimited(f"{len(pending)} batched calls refused", retry_after=longest)

        try:
            retry.call(attempt, self.policy, sleep=self.sleep)
        except Transient as exc:
            for rid in pending:
                results[rid] = exc
        return results


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
