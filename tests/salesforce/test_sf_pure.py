"""Pure parts of the Salesforce side: key normalisation, SOQL escaping, error translation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from syncd.errors import AuthExpired, BudgetExhausted, Permanent, RateLimited, Transient
from syncd.salesforce import errors as sferrors
from syncd.salesforce import soql
from syncd.salesforce.auth import jwt_audience
from syncd.salesforce.client import ClientOptions, SalesforceClient, SalesforceCredentials
from syncd.salesforce.normalize import digits_only, domain_key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("https://www.Example.com/about", "example.com"),
        ("www.example.co.uk", "example.co.uk"),
        ("EXAMPLE.com", "example.com"),
        ("http://shop.example.com:8080/x?y=1", "shop.example.com"),
        ("jo@Example.com", "example.com"),
        ("", None),
    ],
)
def test_domain_key(raw: str, key: str | None) -> None:
    assert domain_key(raw) == key


def test_digits_only() -> None:
    assert digits_only("+1 (415) 555-0100") == "14155550100"
    assert digits_only("ext 12") is None


@given(st.text())
def test_quoted_value_round_trips(value: str) -> None:
    # Whatever the value, the quoted literal is one string token: unescaping it gives it back.
    clause = soql.where_eq("Email", value)
    literal = clause.removeprefix("Email = ")
    assert literal.startswith("'") and literal.endswith("'")
    body = literal[1:-1]
    out, i = [], 0
    escapes = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            out.append(escapes.get(nxt, nxt))
            i += 2
            continue
        assert ch != "'", "an unescaped quote would end the literal early"
        out.append(ch)
        i += 1
    assert "".join(out) == value


def test_injection_attempt_stays_one_literal() -> None:
    clause = soql.where_eq("Email", "x' OR Email != '")
    assert clause == "Email = 'x\\' OR Email != \\''"


def test_where_in_escapes_each_value_and_refuses_empty() -> None:
    assert soql.where_in("Email", ["o'b@x.com", "a@x.com"]) == "Email IN ('o\\'b@x.com','a@x.com')"
    with pytest.raises(ValueError, match="at least one"):
        soql.where_in("Email", [])


def test_select_rejects_non_identifiers() -> None:
    assert soql.select(["Id", "Account.Website"], "Contact") == (
        "SELECT Id, Account.Website FROM Contact"
    )
    with pytest.raises(ValueError, match="not a SOQL"):
        soql.select(["Id FROM User --"], "Contact")


def test_datetime_literal_is_utc_and_needs_a_zone() -> None:
    ts = datetime(2024, 5, 1, 11, 30, 15, 999, tzinfo=timezone(timedelta(hours=2)))
    assert soql.datetime_literal(ts) == "2024-05-01T09:30:15.000Z"
    later = ts.replace(microsecond=250_999)
    assert soql.modified_since(later) == "SystemModstamp > 2024-05-01T09:30:15.250Z"
    with pytest.raises(ValueError, match="aware"):
        soql.datetime_literal(datetime(2024, 5, 1))  # noqa: DTZ001 - the point of the test


def _response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = json.dumps(body).encode()
    resp.headers.update(headers or {})
    resp.url = "https://org.example/services/data/v60.0/query/?q=SELECT+Id+FROM+Contact"
    resp.request = requests.Request("GET", resp.url).prepare()
    return resp


def _err(code: str, message: str = "m", fields: list[str] | None = None) -> list[dict]:
    return [{"errorCode": code, "message": message, "fields": fields or []}]


def test_translation_by_what_the_caller_must_do() -> None:
    expired = sferrors.from_response(_response(401, _err("INVALID_SESSION_ID")))
    assert isinstance(expired, sferrors.SessionExpired) and isinstance(expired, AuthExpired)

    busy = sferrors.from_response(
        _response(
            403,
            _err("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded"),
            {"Retry-After": "7"},
        )
    )
    assert isinstance(busy, RateLimited) and busy.retry_after == 7.0

    daily = sferrors.from_response(
        _response(403, _err("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")),
        usage=(1000, 1000),
        reserve=0.2,
    )
    assert isinstance(daily, BudgetExhausted) and daily.used == 1000

    for status in (500, 502, 503, 504):
        assert type(sferrors.from_response(_response(status, _err("SERVER_ERROR")))) is Transient
    locked = sferrors.from_response(_response(400, _err("UNABLE_TO_LOCK_ROW")))
    assert isinstance(locked, Transient)

    bad = sferrors.from_response(_response(400, _err("STRING_TOO_LONG", "too long", ["Subject"])))
    assert isinstance(bad, Permanent) and bad.code == "STRING_TOO_LONG"
    assert bad.fields == ("Subject",)
    # The query string (searched-for addresses) never reaches the message.
    assert "SELECT" not in str(bad) and "/services/data/v60.0/query/" in str(bad)


def test_oauth_errors_never_echo_the_request() -> None:
    resp = _response(400, {"error": "invalid_grant", "error_description": "authentication failure"})
    resp.request = requests.Request(
        "POST", "https://org.example/services/oauth2/token", data={"client_secret": "s3cr3t-value"}
    ).prepare()
    err = sferrors.from_oauth_response(resp)
    assert isinstance(err, AuthExpired)
    assert "invalid_grant" in str(err) and "s3cr3t-value" not in str(err)
    assert isinstance(sferrors.from_oauth_response(_response(503, {})), Transient)


def test_credentials_and_client_reprs_hide_secrets() -> None:
    creds = SalesforceCredentials(
        auth="password",
        client_id="cid",
        username="u@example.com",
        client_secret="SECRET-1",
        password="PASSWORD-2",
        security_token="TOKEN-3",
    )
    client = SalesforceClient(creds, ClientOptions(login_url="https://login.example"))
    for text in (repr(creds), repr(client)):
        for secret in ("SECRET-1", "PASSWORD-2", "TOKEN-3"):
            assert secret not in text
    with pytest.raises(ValueError, match="auth mode"):
        SalesforceCredentials(auth="oauth-magic", client_id="x")


class _Ref:
    def __init__(self, value: str) -> None:
        self._value = value

    def resolve(self) -> str:
        return self._value


class _Settings:
    login_url = "https://login.example/"
    instance_url = None
    auth = "client_credentials"
    client_id = "cid"
    client_secret = _Ref("shh")
    password = None
    security_token = None
    private_key = None
    username = None
    jwt_audience = "https://community.example"
    api_version = "61.0"
    ca_bundle = "/tmp/ca.pem"
    api_reserve = 0.3
    timeout = timedelta(seconds=12)


def test_from_config_reads_the_fixed_attribute_names() -> None:
    client = SalesforceClient.from_config(_Settings())
    assert client.options == ClientOptions(
        login_url="https://login.example",
        api_version="61.0",
        ca_bundle="/tmp/ca.pem",
        api_reserve=0.3,
        timeout=12.0,
        jwt_audience="https://community.example",
    )
    assert client.auth_mode == "client_credentials"
    assert client._token_request()["client_secret"] == "shh"


def test_jwt_assertion_claims() -> None:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    creds = SalesforceCredentials(auth="jwt", client_id="cid", username="u@x", private_key=pem)
    client = SalesforceClient(
        creds, ClientOptions(login_url="https://login.example"), now=lambda: now
    )
    form = client._token_request()
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(
        form["assertion"],
        key.public_key(),
        algorithms=["RS256"],
        audience="https://login.salesforce.com",  # Salesforce's, not the URL asked
        options={"verify_exp": False},
    )
    assert claims["iss"] == "cid" and claims["sub"] == "u@x"
    assert claims["exp"] == int((now + timedelta(minutes=3)).timestamp())

    broken = SalesforceCredentials(auth="jwt", client_id="c", username="u", private_key="PEMSECRET")
    with pytest.raises(AuthExpired) as info:
        SalesforceClient(broken, ClientOptions(login_url="https://l.example"))._token_request()
    assert "PEMSECRET" not in str(info.value)


def test_from_config_with_the_real_config_model(monkeypatch: pytest.MonkeyPatch) -> None:
    models = pytest.importorskip("syncd.config.models")
    monkeypatch.setenv("SYNCD_TEST_SF_SECRET", "from-the-env")
    monkeypatch.setenv("SYNCD_TEST_SF_CLIENT_ID", "cid-from-env")
    settings = models.SalesforceConfig.model_validate(
        {
            "auth": "client_credentials",
            "login_url": "https://acme.my.salesforce.com",
            "client_id_env": "SYNCD_TEST_SF_CLIENT_ID",
            "client_secret_env": "SYNCD_TEST_SF_SECRET",
            "api_reserve": 0.25,
        }
    )
    client = SalesforceClient.from_config(settings)
    form = client._token_request()
    assert form["client_id"] == "cid-from-env" and form["client_secret"] == "from-the-env"
    assert client.options.login_url == "https://acme.my.salesforce.com"
    assert client.options.api_reserve == 0.25 and client.options.timeout == 30.0
    assert "from-the-env" not in repr(client)


@pytest.mark.parametrize(
    ("login_url", "override", "audience"),
    [
        ("https://login.salesforce.com", None, "https://login.salesforce.com"),
        ("https://acme.my.salesforce.com", None, "https://login.salesforce.com"),
        ("https://test.salesforce.com", None, "https://test.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", None, "https://test.salesforce.com"),
        (
            "https://acme.my.salesforce.com",
            "https://community.acme.com/",
            "https://community.acme.com",
        ),
    ],
)
def test_the_jwt_audience_is_salesforces_login_host_not_the_url_asked(
    login_url: str, override: str | None, audience: str
) -> None:
    assert jwt_audience(login_url, override) == audience
