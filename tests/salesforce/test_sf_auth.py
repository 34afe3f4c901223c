"""Authentication, setup and doctor against the sandbox org over real HTTPS."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest
from sf_helpers import SleepLog, make_client

from syncd.errors import AuthExpired
from syncd.salesforce.client import SalesforceClient
from syncd.salesforce.doctor import run_doctor
from syncd.salesforce.setup import ensure_key_field


@pytest.mark.parametrize("auth", ["client_credentials", "jwt", "password"])
def test_each_auth_mode_logs_in_and_queries(org: Any, auth: str) -> None:
    client = make_client(org, auth)
    rows = client.query_all("SELECT Id FROM User")
    assert rows, "the org has at least the integration user"
    assert client.logins == 1
    assert client.calls_made == 1
    assert client.usage is not None and client.usage.used >= 1


@pytest.mark.parametrize(
    ("auth", "field", "secret"),
    [
        ("client_credentials", "client_secret", "wrong-secret-value-123"),
        ("password", "password", "wrong-password-value-456"),
    ],
)
def test_bad_secret_is_auth_expired_without_the_secret(
    org: Any, auth: str, field: str, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(org, auth, **{field: secret})
    with pytest.raises(AuthExpired) as info:
        client.query_all("SELECT Id FROM User")
    assert secret not in str(info.value)
    assert secret not in repr(client)
    assert secret not in caplog.text


def test_jwt_signed_by_another_key_is_refused(org: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    client = make_client(org, "jwt", private_key=pem)
    with pytest.raises(AuthExpired) as info:
        client.login()
    assert "PRIVATE KEY" not in str(info.value)


def test_expired_session_logs_in_again_once(org: Any) -> None:
    client = make_client(org)
    client.query_all("SELECT Id FROM User")
    org.faults.inject("expire_sessions")
    client.query_all("SELECT Id FROM User")
    assert client.logins == 2
    assert org.calls["oauth"] == 2


def test_setup_is_idempotent_and_says_what_it_did(org: Any) -> None:
    # The module fixture created the field; asking again finds it.
    assert ensure_key_field(make_client(org)) == "exists"
    task = make_client(org).describe("Task")
    field = {f["name"]: f for f in task["fields"]}["Syncd_Key__c"]
    assert field["externalId"] and field["unique"] and field["length"] == 255


def test_doctor_reports_every_check_ok(org: Any) -> None:
    checks = run_doctor(lambda: make_client(org))
    names = [c.name for c in checks]
    assert names == [
        "salesforce: reachable",
        "salesforce: login",
        "salesforce: key field on Task",
        "salesforce: key field on Event",
        "salesforce: key field on EmailMessage",  # email_as "auto" on an Enhanced Email org
        "salesforce: permissions on Task",
        "salesforce: permissions on Event",
        "salesforce: permissions on EventRelation",
        "salesforce: API budget",
        "salesforce: multi-day events",
        "salesforce: event relations",
        "salesforce: email written as",
    ]
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert "multiday_events = false" in checks[-3].detail
    assert "Shared Activities on" in checks[-2].detail
    assert 'email_as = "auto": each email is one EmailMessage' in checks[-1].detail


def test_doctor_explains_a_bad_login_and_skips_the_rest(org: Any) -> None:
    checks = run_doctor(lambda: make_client(org, client_secret="nope-not-it-789"))
    assert checks[0].ok
    assert not checks[1].ok and checks[1].fix
    assert all(not c.ok and "skipped" in c.detail for c in checks[2:])
    assert not any("nope-not-it-789" in f"{c.detail} {c.fix}" for c in checks)


def test_doctor_reports_a_tls_problem(org: Any, tmp_path: Any) -> None:
    import trustme

    wrong_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong_ca))
    from sf_helpers import credentials

    from syncd.salesforce.client import ClientOptions, SalesforceClient

    def factory() -> SalesforceClient:
        return SalesforceClient(
            credentials(org), ClientOptions(login_url=org.url, ca_bundle=str(wrong_ca))
        )

    checks = run_doctor(factory)
    assert len(checks) == 1 and not checks[0].ok
    assert "ca_bundle" in checks[0].fix


def test_every_call_has_a_timeout_and_a_slow_answer_is_retried(org: Any) -> None:
    sleep = SleepLog()
    client = make_client(org, sleep=sleep)
    client.login()
    fast = SalesforceClient(client._creds, replace(client.options, timeout=0.3), sleep=sleep)
    org.faults.inject("slow", path="/query", seconds=2.0, times=1)
    rows = fast.query_all("SELECT Id FROM User")
    assert rows and len(sleep.waits) == 1  # one timeout, retried once
    assert org.calls["query"] == 2


def test_usage_and_calls_made_follow_the_org(org: Any) -> None:
    client = make_client(org)
    for _ in range(3):
        client.query_all("SELECT Id FROM User")
    client.limits()
    assert client.calls_made == 4
    assert client.usage is not None
    assert client.usage.used == org.api_calls_used and client.usage.limit == org.api_limit


def _client_at(org: Any, login_url: str, auth: str, **options: Any) -> SalesforceClient:
    from sf_helpers import credentials

    from syncd.salesforce.client import ClientOptions

    return SalesforceClient(
        credentials(org, auth),
        ClientOptions(login_url=login_url, ca_bundle=str(org.ca_bundle), **options),
    )


def test_client_credentials_on_the_login_host_is_refused_and_doctor_names_my_domain(
    org: Any,
) -> None:
    with pytest.raises(AuthExpired) as info:
        _client_at(org, org.login_url, "client_credentials").login()
    assert "request not supported on this domain" in str(info.value)
    checks = {
        c.name: c for c in run_doctor(lambda: _client_at(org, org.login_url, "client_credentials"))
    }
    login = checks["salesforce: login"]
    assert not login.ok and "My Domain" in login.fix and "salesforce.login_url" in login.fix
    # The same credentials on the My Domain sign in.
    _client_at(org, org.url, "client_credentials").login()


@pytest.mark.parametrize("host", ["login", "my_domain"])
def test_jwt_signs_in_from_either_host_with_salesforces_audience(org: Any, host: str) -> None:
    url = org.login_url if host == "login" else org.url
    client = _client_at(org, url, "jwt")
    assert client.query_all("SELECT Id FROM User")
    assert client.instance_url == org.url  # the token answer names the My Domain


def test_a_jwt_audience_salesforce_refuses_is_named_by_doctor(org: Any) -> None:
    def factory() -> SalesforceClient:
        return _client_at(org, org.url, "jwt", jwt_audience=org.url)

    with pytest.raises(AuthExpired, match="audience is invalid"):
        factory().login()
    login = {c.name: c for c in run_doctor(factory)}["salesforce: login"]
    assert not login.ok and "salesforce.jwt_audience" in login.fix


def test_doctor_offline_names_the_host_it_could_not_reach(org: Any) -> None:
    import socket

    from sf_helpers import credentials

    from syncd.salesforce.client import ClientOptions

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"https://127.0.0.1:{port}"
    checks = run_doctor(lambda: SalesforceClient(credentials(org), ClientOptions(login_url=url)))
    assert not checks[0].ok
    assert f"127.0.0.1:{port}/" in checks[0].detail, checks[0].detail  # was "GET  (…)"
