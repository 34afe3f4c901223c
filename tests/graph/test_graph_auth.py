"""Graph auth and the sandbox's strictness: secrets, certificates, revoked tokens, bad requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import trustme
from contract import pull_all
from graph_helpers import NOW, FakeClock, mail_connector

from sandbox.graph import GraphSandbox
from sandbox.graph.seed import add_message
from sandbox.graph.throttle import Throttle
from syncd.config.types import SecretRef
from syncd.errors import AuthExpired, ConfigError

REP = "rep@ourco.example"


@pytest.fixture
def graph(clock: FakeClock) -> Iterator[GraphSandbox]:
    with GraphSandbox(clock=clock.now) as sandbox:
        add_message(
            sandbox,
            REP,
            message_id="a@customer.example",
            sender="buyer@customer.example",
            to=[REP],
            subject="Hello",
            received=NOW - timedelta(days=1),
        )
        yield sandbox


def test_certificate_credentials_sign_a_client_assertion(
    graph: GraphSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    rsa = trustme.KeyType.RSA  # Entra ID app certificates are RSA
    leaf = trustme.CA(key_type=rsa).issue_cert("syncd-graph-app", key_type=rsa)
    key = tmp_path / "app.key"
    key.write_bytes(leaf.private_key_pem.bytes())
    cert = tmp_path / "app.pem"
    cert.write_bytes(leaf.cert_chain_pems[0].bytes())
    graph.add_certificate(cert.read_bytes())
    connector = mail_connector(
        graph,
        clock,
        (REP,),
        certificate_key=SecretRef(file=key),
        certificate_path=str(cert),
    )
    batches, _ = pull_all(connector, REP, None)
    assert [a.subject for b in batches for a in b.activities] == ["Hello"]
    assert graph.tokens_issued == 1


def test_an_ec_key_is_a_config_problem_naming_the_key(
    graph: GraphSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    leaf = trustme.CA().issue_cert("syncd-graph-app")  # EC by default: Entra wants RSA
    key = tmp_path / "app.key"
    key.write_bytes(leaf.private_key_pem.bytes())
    cert = tmp_path / "app.pem"
    cert.write_bytes(leaf.cert_chain_pems[0].bytes())
    connector = mail_connector(
        graph, clock, (REP,), certificate_key=SecretRef(file=key), certificate_path=str(cert)
    )
    with pytest.raises(ConfigError) as caught:
        connector.pull(REP, None)
    assert caught.value.problems[0].path == "connectors.outlook.certificate_key"


def test_a_wrong_secret_is_auth_expired_and_never_shown(
    graph: GraphSandbox, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_TEST_WRONG_GRAPH_SECRET", "not-the-secret-xyz")
    connector = mail_connector(
        graph,
        clock,
        (REP,),
        client_secret=SecretRef(env="SYNCD_TEST_WRONG_GRAPH_SECRET"),
    )
    with pytest.raises(AuthExpired) as caught:
        connector.pull(REP, None)
    assert "not-the-secret-xyz" not in str(caught.value)
    assert "not-the-secret-xyz" not in repr(connector.client)


def test_a_revoked_access_token_is_replaced_once(graph: GraphSandbox, clock: FakeClock) -> None:
    connector = mail_connector(graph, clock, (REP,))
    pull_all(connector, REP, None)
    graph.expire_access_tokens()
    batches, _ = pull_all(connector, REP, None)
    assert len([a for b in batches for a in b.activities]) == 1
    assert graph.tokens_issued == 2


def test_the_sandbox_is_strict_like_graph(graph: GraphSandbox) -> None:
    session = requests.Session()
    session.trust_env = False
    session.verify = graph.ca_bundle
    form = {
        "grant_type": "client_credentials",
        "client_id": graph.client_id,
        "client_secret": graph.client_secret,
        "scope": "https://graph.microsoft.com/.default",
    }
    token = session.post(f"{graph.authority}/oauth2/v2.0/token", data=form).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    base = f"{graph.graph_url}/users/{REP}"
    assert session.get(f"{base}/mailFolders/inbox/messages/delta").status_code == 401
    unknown = session.get(f"{base}/mailFolders/inbox/messages/delta?$top=5", headers=auth)
    assert unknown.status_code == 400
    bad_select = session.get(f"{base}/mailFolders/inbox/messages/delta?$select=nope", headers=auth)
    assert bad_select.status_code == 400
    gone = session.get(f"{base}/mailFolders/inbox/messages/delta?$deltatoken=garbage", headers=auth)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "syncStateNotFound"
    no_window = session.get(f"{base}/calendarView/delta", headers=auth)
    assert no_window.status_code == 400
    many = {"requests": [{"id": str(i), "method": "GET", "url": "/users/x"} for i in range(21)]}
    assert session.post(f"{graph.graph_url}/$batch", json=many, headers=auth).status_code == 400
    session.close()


def test_the_throttle_records_a_fifth_concurrent_request_and_an_early_retry() -> None:
    now = [NOW]
    throttle = Throttle(lambda: now[0])
    for _ in range(4):
        assert throttle.enter("app", REP).retry_after is None
    fifth = throttle.enter("app", REP)
    assert fifth.retry_after == 1 and throttle.concurrency_breaches == 1
    assert throttle.enter("app", REP).retry_after is not None  # before its Retry-After
    assert throttle.early_requests == 1
    for _ in range(4):
        throttle.leave("app", REP)
    now[0] += timedelta(seconds=2)
    assert throttle.enter("app", REP).retry_after is None
    assert throttle.enter("other-app", REP).retry_after is None  # limits are per app


def test_the_throttle_enforces_the_ten_minute_budget() -> None:
    now = [NOW]
    throttle = Throttle(lambda: now[0], budget=3)
    for _ in range(3):
        assert throttle.enter("app", REP).retry_after is None
        throttle.leave("app", REP)
    assert throttle.enter("app", REP).retry_after is not None
    now[0] += timedelta(minutes=10, seconds=1)
    assert throttle.enter("app", REP).retry_after is None
