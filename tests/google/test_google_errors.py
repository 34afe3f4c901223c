"""Google client errors are translated at the edge into syncd's error tree."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httplib2
import pytest
from google.auth.exceptions import RefreshError, TransportError
from google_helpers import FakeClock, deliver_mail, gmail_connector
from googleapiclient.errors import HttpError

from connectors._google import translate
from sandbox.google import GoogleSandbox
from syncd.errors import AuthExpired, CursorExpired, Permanent, RateLimited, Transient


def _http_error(status: int, reason: str = "", retry_after: str | None = None) -> HttpError:
    headers = {"status": str(status)} | ({"retry-after": retry_after} if retry_after else {})
    body = {"error": {"code": status, "errors": [{"reason": reason}], "message": "x"}}
    return HttpError(httplib2.Response(headers), json.dumps(body).encode())


@pytest.mark.parametrize(
    ("error", "expected", "retry_after"),
    [
        (_http_error(429, "rateLimitExceeded", "12"), RateLimited, 12.0),
        (_http_error(403, "userRateLimitExceeded", "3"), RateLimited, 3.0),
        (_http_error(403, "rateLimitExceeded"), RateLimited, None),
        (_http_error(403, "forbidden"), Permanent, None),
        (_http_error(503, "backendError", "5"), Transient, 5.0),
        (_http_error(401, "authError"), AuthExpired, None),
        (_http_error(400, "invalidArgument"), Permanent, None),
    ],
)
def test_http_errors(error: HttpError, expected: type, retry_after: float | None) -> None:
    translated = translate(error)
    assert type(translated) is expected
    if isinstance(translated, Transient):
        assert translated.retry_after == retry_after


def test_expiry_status_is_cursor_expired_only_where_the_caller_says() -> None:
    assert isinstance(translate(_http_error(404, "notFound"), expired_status=404), CursorExpired)
    assert isinstance(translate(_http_error(410, "fullSyncRequired"), expired_status=410),
                      CursorExpired)  # fmt: skip
    assert isinstance(translate(_http_error(404, "notFound")), Permanent)


def test_refresh_and_network_errors() -> None:
    detail = {"error": "invalid_grant", "error_description": "secret"}
    refused = translate(RefreshError("invalid_grant: Token has been expired or revoked.", detail))
    assert isinstance(refused, AuthExpired) and "secret" not in str(refused)
    assert isinstance(translate(TransportError("connection reset")), Transient)
    assert isinstance(translate(ConnectionResetError()), Transient)


def test_a_message_deleted_between_listing_and_fetching_is_dropped(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    clock = FakeClock(now)
    with GoogleSandbox(clock=clock) as sandbox:
        sandbox.add_user("rep@ourco.com")
        ids = deliver_mail(sandbox, "rep@ourco.com", 0, 3, now - timedelta(days=1))
        connector = gmail_connector(sandbox, tmp_path, ("rep@ourco.com",), clock)
        sandbox.gmail.delete_after_listing.add(ids[1])
        batch = connector.pull("rep@ourco.com", None)
    assert sorted(a.source_id for a in batch.activities) == sorted([ids[0], ids[2]])
    assert batch.skips == ()
