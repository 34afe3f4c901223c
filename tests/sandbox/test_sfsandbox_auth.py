"""OAuth grants, SOAP login, session expiry and bad credentials against the sandbox over TLS."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from sfsandbox_helpers import FakeClock, connect, http_session, token
from simple_salesforce import Salesforce, SalesforceExpiredSession
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from sandbox.salesforce import SalesforceSandbox


def _client(sandbox: SalesforceSandbox, body: dict) -> Salesforce:
    return Salesforce(
        instance_url=body["instance_url"],
        session_id=body["access_token"],
        session=http_session(sandbox),
    )


def test_client_credentials_grant_returns_a_working_session(sandbox: SalesforceSandbox) -> None:
    reply = token(
        sandbox,
        grant_type="client_credentials",
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    assert reply.status_code == 200
    body = reply.json()
    assert body["instance_url"] == sandbox.url
    assert body["token_type"] == "Bearer"
    assert set(body) >= {"access_token", "id", "issued_at", "signature"}
    result = _client(sandbox, body).query("SELECT Id, Username FROM User")
    assert sandbox.username in [r["Username"] for r in result["records"]]


def test_password_grant_needs_the_security_token(sandbox: SalesforceSandbox) -> None:
    form = {
        "grant_type": "password",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "username": sandbox.username,
    }
    good = token(sandbox, **form, password=sandbox.password + sandbox.security_token)
    assert good.status_code == 200
    bad = token(sandbox, **form, password=sandbox.password)
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


def test_bad_client_credentials_are_rejected(sandbox: SalesforceSandbox) -> None:
    wrong_secret = token(
        sandbox, grant_type="client_credentials", client_id=sandbox.client_id, client_secret="x"
    )
    assert wrong_secret.status_code == 400
    assert wrong_secret.json()["error"] == "invalid_client"
    wrong_id = token(sandbox, grant_type="client_credentials", client_id="nope", client_secret="x")
    assert wrong_id.json()["error"] == "invalid_client_id"
    unknown = token(sandbox, grant_type="authorization_code")
    assert unknown.json()["error"] == "unsupported_grant_type"


def _assertion(sandbox: SalesforceSandbox, clock: FakeClock, **claims: object) -> str:
    payload = {
        "iss": sandbox.client_id,
        "sub": sandbox.username,
        "aud": "https://login.salesforce.com",
        "exp": int((clock() + timedelta(minutes=3)).timestamp()),
    } | claims
    return jwt.encode(payload, sandbox.jwt_private_key_pem, algorithm="RS256")


def test_jwt_bearer_grant_checks_signature_and_claims(
    sandbox: SalesforceSandbox, clock: FakeClock
) -> None:
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    ok = token(sandbox, grant_type=grant, assertion=_assertion(sandbox, clock))
    assert ok.status_code == 200, ok.text
    assert _client(sandbox, ok.json()).query("SELECT COUNT() FROM User")["totalSize"] >= 1

    unknown_user = token(
        sandbox, grant_type=grant, assertion=_assertion(sandbox, clock, sub="who@nowhere.example")
    )
    assert unknown_user.status_code == 400
    assert unknown_user.json()["error"] == "invalid_grant"
    wrong_aud = token(
        sandbox, grant_type=grant, assertion=_assertion(sandbox, clock, aud="https://evil")
    )
    assert wrong_aud.json()["error"] == "invalid_grant"
    wrong_iss = token(sandbox, grant_type=grant, assertion=_assertion(sandbox, clock, iss="x"))
    assert wrong_iss.json()["error"] == "invalid_client_id"
    expired = _assertion(sandbox, clock, exp=int((clock() - timedelta(seconds=5)).timestamp()))
    assert token(sandbox, grant_type=grant, assertion=expired).json()["error"] == "invalid_grant"
    # Signed by a key the connected app does not know.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        jwt.decode(_assertion(sandbox, clock), options={"verify_signature": False}),
        stranger,
        algorithm="RS256",
    )
    assert token(sandbox, grant_type=grant, assertion=forged).json()["error"] == "invalid_grant"


def test_soap_login_as_simple_salesforce_does_it(sandbox: SalesforceSandbox) -> None:
    session_id, instance = SalesforceLogin(
        username=sandbox.username,
        password=sandbox.password,
        security_token=sandbox.security_token,
        scratch_url=sandbox.url,
        session=http_session(sandbox),
    )
    assert instance == sandbox.url.removeprefix("https://")
    sf = Salesforce(instance=instance, session_id=session_id, session=http_session(sandbox))
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] >= 1
    with pytest.raises(SalesforceAuthenticationFailed):
        SalesforceLogin(
            username=sandbox.username,
            password="wrong",
            security_token="",
            scratch_url=sandbox.url,
            session=http_session(sandbox),
        )


def test_idle_sessions_expire_on_the_clock(clock: FakeClock) -> None:
    with SalesforceSandbox(clock=clock, session_idle_timeout=600) as sb:
        sf = connect(sb)
        clock.advance(500)
        sf.query("SELECT Id FROM User")  # use keeps the session alive
        clock.advance(500)
        sf.query("SELECT Id FROM User")
        clock.advance(601)
        with pytest.raises(SalesforceExpiredSession) as err:
            sf.query("SELECT Id FROM User")
        assert err.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
        assert connect(sb).query("SELECT COUNT() FROM User")["totalSize"] >= 1


def test_oauth_does_not_count_against_the_api_allocation(clock: FakeClock) -> None:
    with SalesforceSandbox(clock=clock) as sb:
        sf = connect(sb)
        connect(sb)
        assert sb.calls["oauth"] == 2
        assert sb.api_calls_used == 0
        sf.query("SELECT Id FROM User")
        assert sb.api_calls_used == 1


def test_jwt_audience_is_only_salesforces_login_hosts(
    sandbox: SalesforceSandbox, clock: FakeClock
) -> None:
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    sandbox_org = _assertion(sandbox, clock, aud="https://test.salesforce.com")
    assert token(sandbox, grant_type=grant, assertion=sandbox_org).status_code == 200
    own_host = token(
        sandbox, grant_type=grant, assertion=_assertion(sandbox, clock, aud=sandbox.url)
    )
    assert own_host.status_code == 400
    assert own_host.json() == {"error": "invalid_grant", "error_description": "audience is invalid"}


def test_client_credentials_only_on_the_my_domain_host(
    sandbox: SalesforceSandbox, clock: FakeClock
) -> None:
    assert urlsplit(sandbox.login_url).hostname != urlsplit(sandbox.url).hostname
    session = http_session(sandbox)

    def at_login_host(**form: str) -> requests.Response:
        return session.post(f"{sandbox.login_url}/services/oauth2/token", data=form, timeout=10)

    refused = at_login_host(
        grant_type="client_credentials",
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_grant",
        "error_description": "request not supported on this domain",
    }
    # The login host still serves JWT bearer and username-password, answering the My Domain.
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    jwt_ok = at_login_host(grant_type=grant, assertion=_assertion(sandbox, clock))
    password_ok = at_login_host(
        grant_type="password",
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        username=sandbox.username,
        password=sandbox.password + sandbox.security_token,
    )
    for ok in (jwt_ok, password_ok):
        assert ok.status_code == 200, ok.text
        assert ok.json()["instance_url"] == sandbox.url
