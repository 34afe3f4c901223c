"""Salesforce failures translated into :mod:`syncd.errors`, in this one place.

Salesforce answers errors as a JSON array of ``{"message", "errorCode", "fields"}`` (REST) or
``{"error", "error_description"}`` (OAuth). The mapping, by what the caller must do:

===============================================  =========================================
HTTP 401 ``INVALID_SESSION_ID``                  :class:`SessionExpired` (log in again once)
OAuth ``invalid_grant`` / ``invalid_client`` …   :class:`~syncd.errors.AuthExpired`
403 ``REQUEST_LIMIT_EXCEEDED`` "TotalRequests"   :class:`~syncd.errors.BudgetExhausted`
403 ``REQUEST_LIMIT_EXCEEDED`` (concurrency)     :class:`~syncd.errors.RateLimited`
429, 500, 502, 503, 504, ``UNABLE_TO_LOCK_ROW``  :class:`~syncd.errors.Transient`
timeouts, connection errors                      :class:`~syncd.errors.Transient`
anything else                                    :class:`~syncd.errors.Permanent` with the code
===============================================  =========================================

A write error that no record can be blamed for (:func:`org_wide_refusal`: the key field hidden
by field-level security, no access to the object, the API disabled for the user) becomes
:class:`~syncd.errors.WritesRefused`, whether Salesforce said it for the whole request or for
each record: the pass stops with its items pending instead of dead-lettering all of them.

Messages carry the error code, the HTTP status and the resource path, never the request body,
headers or query string, so neither secrets nor record content reach a log line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from syncd.errors import (
    AuthExpired,
    BudgetExhausted,
    Permanent,
    RateLimited,
    SyncdError,
    Transient,
    WritesRefused,
)

#: Per-record (and whole-request) error codes that succeed when simply tried again.
RETRYABLE_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "DUPLICATE_VALUE", "SERVER_UNAVAILABLE"})
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class SessionExpired(AuthExpired):
    """The access token was rejected (401 INVALID_SESSION_ID): log in again, then repeat.

    It is an :class:`AuthExpired` so that, if a fresh login is rejected too, the caller sees
    the right kind of error without knowing about this one.
    """


class LoginRefused(AuthExpired):
    """Salesforce refused to sign syncd in (the token request): the whole org is stopped."""


@dataclass(frozen=True)
class SfError:
    """One ``{errorCode, message, fields}`` entry of a Salesforce error body."""

    code: str
    message: str
    fields: tuple[str, ...] = ()


def parse_errors(body: Any) -> list[SfError]:
    """The error entries of a Salesforce error body (REST array, single object or OAuth)."""
    items = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        code = item.get("errorCode") or item.get("statusCode") or item.get("error") or "UNKNOWN"
        message = item.get("message") or item.get("error_description") or ""
        out.append(SfError(str(code), str(message), tuple(item.get("fields") or ())))
    return out


def _body(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP date: rare from Salesforce; fall back to our own backoff


def _where(resp: requests.Response) -> str:
    # Path only: the query string of a SOQL call holds searched-for addresses.
    return f"{resp.request.method if resp.request else ''} {urlsplit(resp.url).path}".strip()


def is_daily_limit(err: SfError, usage: tuple[int, int] | None = None) -> bool:
    """True when REQUEST_LIMIT_EXCEEDED is the org's daily allocation, not concurrency.

    Salesforce says "TotalRequests Limit exceeded" for the daily allocation; concurrency limits
    name themselves (ConcurrentPerOrgLongTxn, ...). When the same response's Sforce-Limit-Info
    shows allocation left, the org cannot be out of its daily calls, so the limit is a
    transient one whatever the message says.
    """
    if err.code != "REQUEST_LIMIT_EXCEEDED" or "totalrequests" not in err.message.lower():
        return False
    return usage is None or usage[1] <= 0 or usage[0] >= usage[1]


def from_response(
    resp: requests.Response, *, usage: tuple[int, int] | None = None, reserve: float = 0.0
) -> SyncdError:
    """The syncd error for a failed REST response (status >= 300)."""
    return from_status(
        resp.status_code,
        _body(resp),
        where=_where(resp),
        retry_after=_retry_after(resp),
        usage=usage,
        reserve=reserve,
    )


def from_status(
    status: int,
    body: Any,
    *,
    where: str,
    retry_after: float | None = None,
    usage: tuple[int, int] | None = None,
    reserve: float = 0.0,
) -> SyncdError:
    """The syncd error for a status and error body (a response, or a composite subrequest)."""
    errors = parse_errors(body)
    first = errors[0] if errors else SfError(f"HTTP_{status}", "")
    text = f"Salesforce {first.code} (HTTP {status}) on {where}: {first.message}"
    if status == 401 and first.code == "INVALID_SESSION_ID":
        return SessionExpired(text)
    if first.code == "REQUEST_LIMIT_EXCEEDED":
        if is_daily_limit(first, usage):
            used, limit = usage if usage else (0, 0)
            return BudgetExhausted(used, limit, reserve)
        return RateLimited(text, retry_after=retry_after)
    if status in TRANSIENT_STATUSES:
        cls = RateLimited if status == 429 else Transient
        return cls(text, retry_after=retry_after)
    if first.code in RETRYABLE_CODES:
        return Transient(text, retry_after=retry_after)
    if status == 401:
        return LoginRefused(text)
    return Permanent(text, code=first.code, fields=first.fields)


def from_oauth_response(resp: requests.Response) -> SyncdError:
    """The syncd error for a failed token request; the credentials never appear in it."""
    body = _body(resp)
    code = str(body.get("error", f"HTTP_{resp.status_code}")) if isinstance(body, dict) else ""
    desc = str(body.get("error_description", "")) if isinstance(body, dict) else ""
    if resp.status_code in TRANSIENT_STATUSES:
        return Transient(
            f"Salesforce login unavailable (HTTP {resp.status_code})",
            retry_after=_retry_after(resp),
        )
    code = code or f"HTTP_{resp.status_code}"
    hint = f": {desc}" if desc else ""
    return LoginRefused(f"Salesforce login refused ({code}){hint}")


def from_transport(exc: requests.RequestException, what: str) -> SyncdError:
    """Timeouts and connection failures are transient; other transport errors permanent."""
    kind = type(exc).__name__
    if isinstance(exc, requests.exceptions.SSLError):
        # A TLS failure will not fix itself: wrong CA bundle or an intercepting proxy.
        return Permanent(f"TLS verification failed for {what} ({kind})", code="TLS_ERROR")
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return Transient(f"Salesforce unreachable on {what} ({kind})")
    return Permanent(f"Salesforce request failed on {what} ({kind})", code="TRANSPORT")


#: Codes that say nothing about a record: the user, the object or a column is at fault.
_ACCESS_CODES = frozenset(
    {"INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_ACCESS", "INVALID_TYPE", "NOT_FOUND"}
)
_API_CODES = frozenset({"API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED"})
_KEY_FIX = (
    "run `syncd setup salesforce`: the field {key} is missing or field-level security hides it "
    "from the API user (`syncd doctor` says which)"
)


def org_wide_refusal(
    sobject: str, key_field: str, code: str, message: str, fields: tuple[str, ...] = ()
) -> WritesRefused | None:
    """The :class:`WritesRefused` for a write error no record is to blame for, else None.

    ``NOT_FOUND`` on an upsert is "Provided external ID field does not exist or is not
    accessible"; ``INVALID_FIELD`` names a column the user cannot see; a create-only error on
    the key field means field-level security grants it Read only.
    """
    names = {f.lower() for f in fields}
    about_key = key_field.lower() in names or key_field.lower() in message.lower()
    head = f"Salesforce refuses every {sobject} write ({code})"
    if about_key and code in {"NOT_FOUND", "INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE"}:
        return WritesRefused(head, code=code, fix=_KEY_FIX.format(key=f"{sobject}.{key_field}"))
    if code == "INVALID_FIELD":
        cols = ", ".join(fields) or "the fields named in the error"
        fix = f"give the API user Read and Edit on {sobject} {cols} (field-level security)"
        return WritesRefused(head, code=code, fix=fix)
    if code in _ACCESS_CODES:
        fix = f"give the API user create and edit on {sobject} (profile or permission set)"
        return WritesRefused(head, code=code, fix=fix)
    if code in _API_CODES:
        fix = "give the API user the API Enabled permission (profile or permission set)"
        return WritesRefused(head, code=code, fix=fix)
    return None
