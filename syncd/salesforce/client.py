"""The Salesforce client: authentication, one HTTP session, timeouts, retries and API usage.

Every call syncd makes to Salesforce goes through :class:`SalesforceClient`:

- **Auth.** Three OAuth flows against ``{login_url}/services/oauth2/token`` (forms built in
  :mod:`.auth`): client credentials, JWT bearer (an RS256 assertion signed with pyjwt) and
  username-password.
  The token and instance URL then feed a ``simple_salesforce.Salesforce`` in session-id mode;
  because simple-salesforce cannot refresh a bare session, this client logs in again itself
  when a call answers 401 INVALID_SESSION_ID, once, and repeats the call.
- **Session.** A ``requests.Session`` subclass applies a default timeout to every request
  (simple-salesforce sets none), ignores the environment (``REQUESTS_CA_BUNDLE`` would
  otherwise override ``verify``), verifies TLS with the configured CA bundle, counts calls,
  reads ``Sforce-Limit-Info`` from every response, and turns failures into syncd errors
  (see :mod:`syncd.salesforce.errors`) before simple-salesforce sees them.
- **Retries** go through :mod:`syncd.retry` with an injectable sleep.
- **Budget.** Before each write, if the org's used API calls reach ``limit * (1 - reserve)``
  the write is refused with :class:`~syncd.errors.BudgetExhausted`, keeping the reserve for
  the people using the org.

Secrets live only in :class:`SalesforceCredentials` (hidden from its repr) and in the session's
Authorization header; no message or log line built here contains them.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
from simple_salesforce import Salesforce
from tenacity import RetryCallState

from syncd import retry
from syncd.config import SalesforceConfig
from syncd.errors import BudgetExhausted
from syncd.salesforce import errors as sferrors
from syncd.salesforce.auth import SalesforceCredentials, token_form

__all__ = ["ApiUsage", "ClientOptions", "SalesforceClient", "SalesforceCredentials"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_USAGE = re.compile(r"(?:^|[;\s])api-usage=(\d+)/(\d+)")
#: Salesforce allows 25 subrequests per composite call but at most 5 of them queries.
QUERIES_PER_COMPOSITE = 5


#: ``[salesforce]``'s defaults (built unvalidated: ``auth`` has none), for clients built in code.
_DEFAULTS = SalesforceConfig.model_construct()


@dataclass(frozen=True)
class ClientOptions:
    """Where and how to talk to the org."""

    login_url: str
    instance_url: str | None = None
    api_version: str = _DEFAULTS.api_version
    ca_bundle: str | None = None
    api_reserve: float = _DEFAULTS.api_reserve
    timeout: float = _DEFAULTS.timeout.total_seconds()
    #: The JWT assertion's ``aud`` when not derived from the login URL (a community URL).
    jwt_audience: str | None = None

    @classmethod
    def from_config(cls, sf: SalesforceConfig) -> ClientOptions:
        """Build from ``config.salesforce``."""
        return cls(
            login_url=sf.login_url.rstrip("/"),
            instance_url=sf.instance_url,
            api_version=sf.api_version,
            ca_bundle=str(sf.ca_bundle) if sf.ca_bundle else None,
            api_reserve=sf.api_reserve,
            timeout=sf.timeout.total_seconds(),
            jwt_audience=sf.jwt_audience,
        )


@dataclass(frozen=True)
class ApiUsage:
    """The org's rolling 24-hour API usage as Salesforce last reported it."""

    used: int
    limit: int

    def threshold(self, reserve: float) -> float:
        """Usage at which syncd stops writing, leaving ``reserve`` of the limit to humans."""
        return self.limit * (1.0 - reserve)


class _Session(requests.Session):
    """A session with a default timeout that reports every response to its client."""

    def __init__(self, client: SalesforceClient, timeout: float, verify: str | bool) -> None:
        super().__init__()
        self.trust_env = False  # REQUESTS_CA_BUNDLE and proxies from the env would win otherwise
        self.verify = verify
        self._client = client
        self._timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Send with a timeout; failures become syncd errors (see :mod:`.errors`)."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        parts = urlsplit(str(url))
        # The host too: offline, "unreachable on GET  (ConnectionError)" named nothing.
        where = f"{method!s} {parts.netloc}{parts.path or '/'}"
        try:
            resp = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            raise sferrors.from_transport(exc, where) from None
        self._client._observe(resp)
        return resp


class SalesforceClient:
    """An authenticated connection to one org; safe to use from one thread at a time."""

    def __init__(
        self,
        credentials: SalesforceCredentials,
        options: ClientOptions,
        *,
        policy: retry.RetryPolicy | str = "salesforce",
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._creds = credentials
        self.options = options
        self.policy = policy
        self.sleep = sleep
        self._now = now
        self._session = _Session(self, options.timeout, options.ca_bundle or True)
        self._sf: Salesforce | None = None
        self._lock = threading.Lock()
        self.instance_url: str | None = None
        #: The API user's id: the last segment of the token's identity URL (``id``).
        self.user_id: str | None = None
        #: REST API calls this client made (not counting logins), for reports and metrics.
        self.calls_made = 0
        self.logins = 0
        self.usage: ApiUsage | None = None

    @classmethod
    def from_config(cls, sf_settings: SalesforceConfig, **kwargs: Any) -> SalesforceClient:
        """A client for ``config.salesforce``."""
        return cls(
            SalesforceCredentials.from_config(sf_settings),
            ClientOptions.from_config(sf_settings),
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"SalesforceClient(auth={self._creds.auth!r}, login_url={self.options.login_url!r})"

    # -- responses -------------------------------------------------------------------------

    def _observe(self, resp: requests.Response) -> None:
        """Count the call, read the API usage, and raise the syncd error for a failure."""
        path = urlsplit(resp.url).path
        is_api = "/services/data/" in path
        with self._lock:
            if is_api:
                self.calls_made += 1
            info = resp.headers.get("Sforce-Limit-Info")
            match = _USAGE.search(info) if info else None
            if match:
                self.usage = ApiUsage(int(match.group(1)), int(match.group(2)))
        if is_api and resp.status_code >= 300:
            usage = (self.usage.used, self.usage.limit) if self.usage else None
            raise sferrors.from_response(resp, usage=usage, reserve=self.options.api_reserve)

    # -- authentication --------------------------------------------------------------------

    def _token_request(self) -> dict[str, str]:
        return token_form(
            self._creds, self.options.login_url, self._now(), self.options.jwt_audience
        )

    def _login_once(self) -> None:
        url = f"{self.options.login_url}/services/oauth2/token"
        resp = self._session.post(url, data=self._token_request())
        self.logins += 1
        if resp.status_code != 200:
            raise sferrors.from_oauth_response(resp)
        try:
            body = resp.json()
        except ValueError:
            body = {}
        instance = (self.options.instance_url or body.get("instance_url") or "").rstrip("/")
        if not instance or "access_token" not in body:
            raise sferrors.LoginRefused(
                "Salesforce login answered without an access token or instance URL"
            )
        self.instance_url = instance
        identity = str(body.get("id") or "").rstrip("/")
        self.user_id = identity.rsplit("/", 1)[-1] if "/id/" in identity else None
        self._sf = Salesforce(
            instance_url=instance,
            session_id=body["access_token"],
            version=self.options.api_version,
            session=self._session,
        )
        log.info("salesforce login ok", extra={"auth": self._creds.auth, "logins": self.logins})

    def login(self) -> None:
        """Log in (again), retrying transient failures; :class:`AuthExpired` when refused."""
        retry.call(self._login_once, self.policy, sleep=self.sleep, on_retry=self._on_retry)

    @property
    def auth_mode(self) -> str:
        """Which OAuth flow this client uses (not secret)."""
        return self._creds.auth

    def ping(self) -> int:
        """Reach the login URL over TLS without logging in; the HTTP status it answered."""
        return self._session.get(self.options.login_url).status_code

    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce handle, logging in on first use."""
        if self._sf is None:
            self.login()
        assert self._sf is not None
        return self._sf

    # -- calling ---------------------------------------------------------------------------

    def check_budget(self) -> None:
        """Raise :class:`BudgetExhausted` when writing now would eat into the reserve."""
        if self.usage is None:
            self.limits()  # one cheap read tells us where the org stands
        usage = self.usage
        if usage is None or usage.limit <= 0:
            return
        if usage.used >= usage.threshold(self.options.api_reserve):
            raise BudgetExhausted(usage.used, usage.limit, self.options.api_reserve)

    def attempt(self, fn: Callable[[Salesforce], T], *, write: bool = False) -> T:
        """One try of ``fn(sf)``: budget check for writes, one re-login on an expired session."""
        if write:
            self.check_budget()
        try:
            return fn(self.sf)
        except sferrors.SessionExpired:
            log.info("salesforce session expired; logging in again")
            self.login()
            return fn(self.sf)

    def retrying(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` under this client's retry policy and sleep."""
        return retry.call(fn, self.policy, sleep=self.sleep, on_retry=self._on_retry)

    def call(self, fn: Callable[[Salesforce], T], *, write: bool = False) -> T:
        """``fn(sf)`` with retries of transient failures."""
        return self.retrying(lambda: self.attempt(fn, write=write))

    @staticmethod
    def _on_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "salesforce call failed, retrying",
            extra={"attempt": state.attempt_number, "error": type(exc).__name__},
        )

    # -- REST helpers ----------------------------------------------------------------------

    def restful(
        self,
        path: str,
        *,
        method: str = "GET",
        params: dict[str, Any] | None = None,
        json: Any = None,
        retry_transient: bool = True,
        write: bool | None = None,
    ) -> Any:
        """A REST call relative to ``/services/data/vXX.X/``; writes check the budget first.

        ``write`` defaults to "the method is not GET"; a composite POST that only reads passes
        ``write=False``.
        """
        write = method.upper() != "GET" if write is None else write
        kwargs: dict[str, Any] = {"method": method, "params": params}
        if json is not None:
            kwargs["json"] = json

        def fn(sf: Salesforce) -> Any:
            return sf.restful(path, **kwargs)

        if retry_transient:
            return self.call(fn, write=write)
        return self.attempt(fn, write=write)

    def query_page(self, soql: str, *, include_deleted: bool = False) -> dict[str, Any]:
        """The first page of a SOQL query (``queryAll`` when ``include_deleted``)."""
        return self.call(lambda sf: sf.query(soql, include_deleted=include_deleted))

    def query_more(self, next_url: str) -> dict[str, Any]:
        """The page at a ``nextRecordsUrl``."""
        return self.call(lambda sf: sf.query_more(next_url, identifier_is_url=True))

    def query_pages(self, soql: str, *, include_deleted: bool = False) -> Iterator[list[dict]]:
        """Every page of a query, lazily (2,000 records a page).

        Like ``query_all_iter``, but each page is fetched under the retry policy, so a
        transient failure on page 20 repeats that page, not the whole query.
        """
        page = self.query_page(soql, include_deleted=include_deleted)
        while True:
            yield list(page.get("records", []))
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            page = self.query_more(page["nextRecordsUrl"])

    def query_all(self, soql: str, *, include_deleted: bool = False) -> list[dict]:
        """Every record of a query."""
        return [r for page in self.query_pages(soql, include_deleted=include_deleted) for r in page]

    def query_many(self, queries: dict[str, tuple[str, bool]]) -> dict[str, list[dict]]:
        """Run several queries, five to a ``composite`` call (one API call each), all pages.

        ``queries`` maps a name to ``(soql, include_deleted)``. First pages come back in
        batches through ``composite``; any further pages are read with ``query_more``. This is
        what keeps a directory load or refresh to a handful of calls.
        """
        names = list(queries)
        results: dict[str, list[dict]] = {}
        base = f"/services/data/v{self.options.api_version}"
        for start in range(0, len(names), QUERIES_PER_COMPOSITE):
            batch = names[start : start + QUERIES_PER_COMPOSITE]
            body = {
                "allOrNone": False,
                "compositeRequest": [
                    {
                        "method": "GET",
                        "referenceId": f"q{i}",
                        "url": f"{base}/{'queryAll' if queries[n][1] else 'query'}/?q="
                        + quote(queries[n][0], safe=""),
                    }
                    for i, n in enumerate(batch)
                ],
            }
            answer = self.restful("composite/", method="POST", json=body, write=False) or {}
            by_ref = {sub.get("referenceId"): sub for sub in answer.get("compositeResponse", [])}
            for i, name in enumerate(batch):
                sub = by_ref.get(f"q{i}") or {}
                status = int(sub.get("httpStatusCode", 500))
                if status >= 300:
                    # One failed subrequest: retry that query on its own (retries included).
                    if status == 401 or status in sferrors.TRANSIENT_STATUSES:
                        results[name] = self.query_all(
                            queries[name][0], include_deleted=queries[name][1]
                        )
                        continue
                    raise sferrors.from_status(
                        status, sub.get("body"), where=f"composite query {name}"
                    )
                page = sub.get("body") or {}
                records = list(page.get("records", []))
                while not page.get("done", True) and page.get("nextRecordsUrl"):
                    page = self.query_more(page["nextRecordsUrl"])
                    records.extend(page.get("records", []))
                results[name] = records
        return results

    def describe(self, sobject: str) -> dict[str, Any]:
        """The describe result of one sObject."""
        return self.restful(f"sobjects/{sobject}/describe/")

    def tooling_query(self, soql: str) -> list[dict]:
        """Records of a Tooling API query (one page is plenty for metadata look-ups)."""
        result = self.restful("tooling/query/", params={"q": soql})
        return list((result or {}).get("records", []))

    def limits(self) -> dict[str, Any]:
        """The org's ``/limits``; also refreshes :attr:`usage` from DailyApiRequests."""
        result = self.call(lambda sf: sf.restful("limits/")) or {}
        daily = result.get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            with self._lock:
                limit = int(daily["Max"])
                self.usage = ApiUsage(limit - int(daily["Remaining"]), limit)
        return result

    def close(self) -> None:
        """Release the HTTP connections."""
        self._session.close()
