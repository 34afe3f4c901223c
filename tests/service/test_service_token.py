"""A protected status page: bearer token, webhooks apart, a warning for an exposed listener.

The daemon's own wiring (``Service``) is built from a config file and serves on real sockets:
with ``service.token_env`` set, ``/``, ``/metrics`` refuse a request without the token (401,
``WWW-Authenticate: Bearer``) and answer with it; ``/healthz`` and ``/readyz`` stay open for
probes. With ``service.webhook_listen`` the webhooks are served there and nowhere else.
``check-config`` warns about a non-loopback ``listen`` without a token.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from service_helpers import free_port

from syncd.app import App, check_config, load_config
from syncd.cli import main
from syncd.service.scheduler import Service

TOKEN_ENV = "SYNCD_TEST_STATUS_TOKEN"
TOKEN = "s3cret-status-token-000"


def get(url: str, token: str | None = None, method: str = "GET") -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, method=method)  # noqa: S310 - loopback http
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def write(tmp_path: Path, service: str) -> Path:
    path = tmp_path / "syncd.toml"
    path.write_text(f'[state]\nurl = "sqlite:///{tmp_path / "s.db"}"\n\n[service]\n{service}\n')
    return path


def test_the_token_guards_the_page_and_metrics_and_webhooks_listen_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    port, hooks = free_port(), free_port()
    service_table = (
        f'listen = "127.0.0.1:{port}"\ntoken_env = "{TOKEN_ENV}"\n'
        f'webhook_listen = "127.0.0.1:{hooks}"'
    )
    config = load_config(write(tmp_path, service_table))
    with App(config) as app:
        service = Service(app)
        service._serve()
        try:
            base = f"http://127.0.0.1:{port}"
            for path in ("/", "/metrics"):
                status, headers = get(base + path)
                assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
                assert get(base + path, "wrong-token")[0] == 401
                assert get(base + path, TOKEN)[0] == 200
            assert get(base + "/healthz")[0] == 200
            assert get(base + "/readyz")[0] == 503  # open, and honest: no directory loaded
            # webhooks are not served on the status listener, only on their own address
            assert get(base + "/webhooks/slack", method="POST")[0] == 404
            assert get(f"http://127.0.0.1:{hooks}/metrics", TOKEN)[0] == 404
            assert get(f"http://127.0.0.1:{hooks}/webhooks/nobody", method="POST")[0] == 404
        finally:
            service._unserve()


def test_without_a_token_everything_answers_as_before(tmp_path: Path) -> None:
    port = free_port()
    with App(load_config(write(tmp_path, f'listen = "127.0.0.1:{port}"'))) as app:
        service = Service(app)
        service._serve()
        try:
            assert get(f"http://127.0.0.1:{port}/metrics")[0] == 200
        finally:
            service._unserve()


def test_check_config_warns_about_an_exposed_listener_without_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    exposed = write(tmp_path, 'listen = "0.0.0.0:9464"')
    _, warnings = check_config(exposed)
    assert [w.path for w in warnings] == ["service.listen"]
    assert "token_env" in warnings[0].message and warnings[0].line == 5
    assert main(["check-config", "-c", str(exposed)]) == 2  # no connector: not runnable
    assert "warnings:\n  - service.listen (line 5)" in capsys.readouterr().err
    for service in ('listen = "0.0.0.0:9464"\ntoken_env = "' + TOKEN_ENV + '"',
                    'listen = "[::1]:9464"', 'listen = "localhost:9464"'):  # fmt: skip
        assert check_config(write(tmp_path, service))[1] == []
