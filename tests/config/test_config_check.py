"""check_config: the outside world (env vars, secret files, CA bundle) and the example file."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from syncd.app import check_config, load_config
from syncd.config import Config
from syncd.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def example_env_vars() -> list[str]:
    """The variables the example's header says to set (read from the file, not hard-coded)."""
    header = EXAMPLE.read_text().split("\n\n", 1)[0]
    line = next(x for x in header.splitlines() if "export " in x)
    return re.findall(r"([A-Z][A-Z0-9_]+)=", line)


def test_example_config_passes_check_with_the_named_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = example_env_vars()
    assert names, "the example names the variables to set"
    for name in names:
        monkeypatch.setenv(name, "dummy")
    config, warnings = check_config(EXAMPLE)
    assert warnings == []
    assert [c.type for c in config.connectors] == ["mbox"]
    assert config.connectors_by_name["archive"].interval == timedelta(minutes=5)
    assert config.salesforce is not None and config.salesforce.auth == "client_credentials"
    assert config.alerts.slack is not None and config.alerts.slack.cooldown == timedelta(days=3)
    referenced = {ref.env for _, ref in config.secret_refs()}
    assert referenced == set(names)  # every variable the header names is one the file uses


def test_example_config_without_variables_names_each_missing_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in example_env_vars():
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as caught:
        check_config(EXAMPLE)
    paths = {p.path for p in caught.value.problems}
    assert paths == {"salesforce.client_secret_env", "alerts.slack.token_env"}
    assert all(p.line for p in caught.value.problems)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syncd.toml"
    path.write_text(text)
    return path


def test_missing_env_var_and_file_are_errors_at_check_time_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNCD_TEST_ABSENT", raising=False)
    monkeypatch.setenv("SYNCD_TEST_EMPTY", "")
    path = write(
        tmp_path,
        """\
[salesforce]
auth = "password"
client_id_env = "SYNCD_TEST_EMPTY"
username = "int@example.com"
client_secret_env = "SYNCD_TEST_ABSENT"
password_file = "secrets/sf-password"
ca_bundle = "ca.pem"
""",
    )
    config = load_config(path)  # the file itself is fine
    assert config.salesforce is not None
    assert config.salesforce.ca_bundle == tmp_path / "ca.pem"  # relative to the config file
    with pytest.raises(ConfigError) as caught:
        check_config(path)
    found = {p.path: p for p in caught.value.problems}
    assert set(found) == {
        "salesforce.client_id_env",
        "salesforce.client_secret_env",
        "salesforce.password_file",
        "salesforce.ca_bundle",
    }
    assert "SYNCD_TEST_EMPTY is empty" in found["salesforce.client_id_env"].message
    assert "SYNCD_TEST_ABSENT is not set" in found["salesforce.client_secret_env"].message
    assert "does not exist" in found["salesforce.password_file"].message
    assert str(tmp_path / "secrets" / "sf-password") in found["salesforce.password_file"].message
    assert found["salesforce.password_file"].line == 6
    assert found["salesforce.ca_bundle"].line == 7


def test_check_problems_are_collected_with_load_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNCD_TEST_ABSENT", raising=False)
    path = write(
        tmp_path,
        '[alerts.slack]\ntoken_env = "SYNCD_TEST_ABSENT"\ncooldown = "soon"\n',
    )
    with pytest.raises(ConfigError) as caught:
        check_config(path)
    assert {p.path for p in caught.value.problems} == {
        "alerts.slack.cooldown",
        "alerts.slack.token_env",
    }


def test_group_readable_secret_file_is_a_warning(tmp_path: Path) -> None:
    token = tmp_path / "slack-token"
    token.write_text("xoxb-file-secret\n")
    token.chmod(0o640)
    key = tmp_path / "sf.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o600)
    path = write(
        tmp_path,
        f"""\
[salesforce]
auth = "jwt"
client_id = "abc"
username = "int@example.com"
private_key_file = "{key}"

[alerts.slack]
token_file = "{token}"
""",
    )
    config, warnings = check_config(path)
    assert [w.path for w in warnings] == ["alerts.slack.token_file"]
    assert "readable by group or others (mode 0640)" in warnings[0].message
    assert warnings[0].line == 8
    assert sorted(config.secret_values()) == ["-----BEGIN PRIVATE KEY-----", "xoxb-file-secret"]


def test_secret_values_skip_what_does_not_resolve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_TEST_TOKEN", "xoxb-env-secret")
    monkeypatch.delenv("SYNCD_TEST_ABSENT", raising=False)
    path = write(
        tmp_path,
        """\
[salesforce]
login_url = "https://acme.my.salesforce.com"
auth = "client_credentials"
client_id = "abc"
client_secret_env = "SYNCD_TEST_ABSENT"

[alerts.slack]
token_env = "SYNCD_TEST_TOKEN"
""",
    )
    config = load_config(path)
    assert config.secret_values() == ["xoxb-env-secret"]


def test_secret_values_never_appear_in_config_or_error_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_TEST_TOKEN", "xoxb-env-secret")
    secret_file = tmp_path / "pw"
    secret_file.write_text("file-secret-pw")
    secret_file.chmod(0o600)
    path = write(
        tmp_path,
        f"""\
[salesforce]
auth = "password"
client_id = "abc"
username = "int@example.com"
client_secret_env = "SYNCD_TEST_TOKEN"
password_file = "{secret_file}"

[alerts.slack]
token_env = "SYNCD_TEST_TOKEN"
cooldown = "never"
""",
    )
    with pytest.raises(ConfigError) as caught:
        check_config(path)
    shown = str(caught.value) + repr(caught.value.problems)
    assert "alerts.slack.cooldown" in shown
    path.write_text(path.read_text().replace('"never"', '"1d"'))
    config, _ = check_config(path)
    shown += str(config) + repr(config) + repr(config.model_dump())
    for secret in ("xoxb-env-secret", "file-secret-pw"):
        assert secret not in shown
    assert set(config.secret_values()) == {"xoxb-env-secret", "file-secret-pw"}


def test_config_is_frozen_all_the_way_down(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, '[[rules.rule]]\ntype = "no_activity"\nper_stage = { Proposal = 3 }\n')
    )
    assert isinstance(config, Config)
    with pytest.raises(ValueError, match="frozen"):
        config.rules.schedule = "* * * * *"  # type: ignore[misc]
    assert isinstance(config.rules.rule, tuple)
    with pytest.raises(TypeError):
        config.rules.rule[0].per_stage["Proposal"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        config.connectors_by_name["x"] = None  # type: ignore[index]


def test_defaults_when_tables_are_absent(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.salesforce is None and config.alerts.slack is None
    assert config.state.url == "sqlite:///syncd.db"
    assert config.service.listen == "127.0.0.1:9464"
    assert config.capture.default_region == "US"
    assert config.rules.schedule == "0 7 * * 1-5"
    assert config.secret_values() == []


def test_the_commented_connector_examples_are_valid(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # config.example.toml shows every connector type commented out; uncommented, each must
    # pass validation, so the documentation cannot drift from the code.
    text = EXAMPLE.read_text()
    start = text.index("# More connector types")
    block = text[start : text.index("[rules]\n", start)]
    lines = []
    for line in block.splitlines():
        if line.startswith("# [[connectors]]") or re.match(r"^# [a-z_]+ = ", line):
            lines.append(line[2:])
        else:
            lines.append("")
    key_file = tmp_path / "google-key.json"
    key_file.write_text("{}")
    key_file.chmod(0o600)
    body = text.replace(block, "\n".join(lines) + "\n").replace(
        "/etc/syncd/google-service-account.json", str(key_file)
    )
    config_path = tmp_path / "syncd.toml"
    config_path.write_text(body)
    for name in set(re.findall(r'_env = "([A-Z0-9_]+)"', body)):
        monkeypatch.setenv(name, "dummy")
    config, warnings = check_config(config_path)
    types = {c.type for c in config.connectors}
    assert types >= {"gmail", "google_calendar", "outlook_mail", "outlook_calendar",
                     "ringcentral", "aircall", "zoom_phone", "call_files", "mbox"}  # fmt: skip
    assert warnings == []
