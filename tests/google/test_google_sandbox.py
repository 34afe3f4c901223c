"""The Google sandbox is strict where Google is: auth, parameters, batch limits, rate limits."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google_helpers import FakeClock, calendar_connector, gmail_connector

from sandbox.google import GoogleSandbox
from sandbox.google.seed import seed_demo

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
REP = "rep@ourco.com"
SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
READONLY = "https://www.googleapis.com/auth/gmail.readonly"
CALENDAR = "https://www.googleapis.com/auth/calendar.events.readonly"


@pytest.fixture
def google() -> GoogleSandbox:
    with GoogleSandbox(clock=FakeClock(NOW)) as sb:
        sb.add_user(REP)
        yield sb


def _session(sb: GoogleSandbox) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    session.verify = sb.ca_bundle
    return session


def _assertion(
    sb: GoogleSandbox, key_pem: str, email: str, sub: str = REP, scope: str = SCOPE
) -> str:
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": email, "sub": sub, "scope": scope, "aud": f"{sb.url}/token",
              "iat": now, "exp": now + 3600}  # fmt: skip
    return jwt.encode(claims, key_pem, algorithm="RS256")


def _token(sb: GoogleSandbox, session: requests.Session, scope: str = SCOPE) -> str:
    info = sb.service_account()
    assertion = _assertion(sb, info["private_key"], info["client_email"], scope=scope)
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    answer = session.post(f"{sb.url}/token", data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_the_token_endpoint_verifies_the_assertion(google: GoogleSandbox) -> None:
    session = _session(google)
    info = google.service_account()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()  # fmt: skip
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    forged_assertion = _assertion(google, forged, info["client_email"])
    bad = session.post(
        f"{google.url}/token", data={"grant_type": grant, "assertion": forged_assertion}
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    stranger = session.post(f"{google.url}/token", data={
        "grant_type": grant,
        "assertion": _assertion(google, info["private_key"], info["client_email"], "x@else.com"),
    })  # fmt: skip
    assert stranger.status_code == 401 and stranger.json()["error"] == "unauthorized_client"
    assert _token(google, session).startswith("ya29.")


def test_api_calls_need_a_token_known_parameters_and_the_own_mailbox(google: GoogleSandbox) -> None:
    session = _session(google)
    base = f"{google.url}/gmail/v1/users"
    assert session.get(f"{base}/me/profile").status_code == 401
    auth = {"Authorization": f"Bearer {_token(google, session)}"}
    assert session.get(f"{base}/me/profile", headers=auth).json()["emailAddress"] == REP
    unknown = session.get(f"{base}/me/messages", params={"pageSize": 5}, headers=auth)
    assert unknown.status_code == 400 and "pageSize" in unknown.json()["error"]["message"]
    assert session.get(f"{base}/boss@ourco.com/profile", headers=auth).status_code == 403
    assert session.get(f"{base}/me/nothing", headers=auth).status_code == 404
    missing = session.get(f"{base}/me/history", headers=auth)
    assert missing.status_code == 400


def test_a_batch_holds_at_most_100_calls_and_answers_each(google: GoogleSandbox) -> None:
    session = _session(google)
    auth = {"Authorization": f"Bearer {_token(google, session)}"}

    def body(n: int) -> tuple[str, bytes]:
        boundary = "===b==="
        parts = [
            f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <{uuid.uuid4()}+{i}>"
            f"\r\n\r\nGET /gmail/v1/users/me/profile HTTP/1.1\r\n\r\n"
            for i in range(n)
        ]
        return f"multipart/mixed; boundary={boundary}", (
            "".join(parts) + f"--{boundary}--"
        ).encode()

    kind, data = body(101)
    too_many = session.post(f"{google.url}/batch/gmail/v1", data=data,
                            headers=auth | {"Content-Type": kind})  # fmt: skip
    assert too_many.status_code == 400
    kind, data = body(3)
    ok = session.post(f"{google.url}/batch/gmail/v1", data=data,
                      headers=auth | {"Content-Type": kind})  # fmt: skip
    assert ok.status_code == 200 and ok.text.count("HTTP/1.1 200 OK") == 3
    assert google.quota.used[REP] == 3  # every call in a batch is charged


def test_injected_rate_limits_carry_retry_after(google: GoogleSandbox) -> None:
    session = _session(google)
    auth = {"Authorization": f"Bearer {_token(google, session)}"}
    google.inject_rate_limit(REP, 1, status=403, wait=9)
    refused = session.get(f"{google.url}/gmail/v1/users/me/profile", headers=auth)
    assert refused.status_code == 403 and refused.headers["Retry-After"] == "9"
    assert refused.json()["error"]["errors"][0]["reason"] == "userRateLimitExceeded"


def test_calendar_sync_tokens_refuse_time_bounds_and_cap_page_size(google: GoogleSandbox) -> None:
    session = _session(google)
    auth = {"Authorization": f"Bearer {_token(google, session, CALENDAR)}"}
    url = f"{google.url}/calendar/v3/calendars/primary/events"
    first = session.get(url, params={"maxResults": 5000}, headers=auth)
    token = first.json()["nextSyncToken"]
    both = session.get(url, params={"syncToken": token, "timeMin": "2026-01-01T00:00:00Z"},
                       headers=auth)  # fmt: skip
    assert both.status_code == 400


def test_seed_demo_gives_each_rep_mail_and_meetings_syncd_captures(
    google: GoogleSandbox, tmp_path: Path
) -> None:
    reps = ["ana@ourco.com", "ben@ourco.com"]
    contacts = ["alice@globex.com", "carol@initech.io"]
    counts = seed_demo(
        google, reps, contacts, random.Random(7), now=NOW, messages_per_rep=5, meetings_per_rep=2
    )
    clock = FakeClock(NOW)
    gmail = gmail_connector(google, tmp_path / "m", tuple(reps), clock, internal=("ourco.com",))
    gcal = calendar_connector(google, tmp_path / "c", tuple(reps), clock, internal=("ourco.com",))
    mail = sum(len(gmail.pull(r, None).activities) for r in reps)
    meetings = sum(len(gcal.pull(r, None).activities) for r in reps)
    assert mail == counts.messages == 10
    # Private and declined meetings are captured here and skipped later by privacy.
    assert meetings == counts.meetings + 2 * len(reps)
    assert counts.noise_messages == 4  # SPAM and a draft per rep, never captured


def test_scopes_are_enforced_per_method_and_parameter(google: GoogleSandbox) -> None:
    # https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/list:
    # q "cannot be used when accessing the api using the gmail.metadata scope"; Gmail refuses
    # it (and bodies) whenever the metadata scope is in the token, even beside readonly.
    session = _session(google)
    google.gmail.deliver(REP, [("Subject", "x")], when=NOW)
    base = f"{google.url}/gmail/v1/users/me/messages"
    for scope in (SCOPE, f"{SCOPE} {READONLY}"):
        auth = {"Authorization": f"Bearer {_token(google, session, scope)}"}
        refused = session.get(base, params={"q": "after:1"}, headers=auth)
        assert refused.status_code == 403, scope
        assert refused.json()["error"]["message"] == (
            "Metadata scope does not support 'q' parameter"
        )
        listed = session.get(base, params={"includeSpamTrash": "false"}, headers=auth)
        assert listed.status_code == 200
        mid = listed.json()["messages"][0]["id"]
        for fmt in ("full", "raw", None):
            params = {"format": fmt} if fmt else {}
            assert session.get(f"{base}/{mid}", params=params, headers=auth).status_code == 403
        ok = session.get(f"{base}/{mid}", params={"format": "metadata"}, headers=auth)
        assert ok.status_code == 200
    readonly = {"Authorization": f"Bearer {_token(google, session, READONLY)}"}
    assert session.get(base, params={"q": "after:1"}, headers=readonly).status_code == 200
    assert session.get(f"{base}/{mid}", params={"format": "raw"}, headers=readonly).ok
    calendar_only = {"Authorization": f"Bearer {_token(google, session, CALENDAR)}"}
    denied = session.get(base, headers=calendar_only)
    assert denied.status_code == 403
    assert denied.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"
