"""Every problem in a config file is reported at once, with its key path and line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest

from connectors.base import Connector, builtins
from connectors.memory import MemoryConnector
from syncd.app import load_config
from syncd.config import ConnectorSettings, Duration, SecretRef, secret_field
from syncd.errors import ConfigError, Problem


class DialerSettings(ConnectorSettings):
    """A throwaway connector model with its own keys, to test connector-specific validation."""

    region: str = "eu"
    page_delay: Duration | None = None
    since: date | None = None
    api_key: SecretRef = secret_field("vendor API key", required=True)


class DialerConnector(Connector):
    """Known only to the registry of this test module."""

    type: ClassVar[str] = "test_dialer"
    kinds: ClassVar[frozenset[str]] = frozenset({"call"})
    settings_model: ClassVar[type[ConnectorSettings]] = DialerSettings


TYPES = builtins().with_types(MemoryConnector, DialerConnector)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syncd.toml"
    path.write_text(text)
    return path


def problems_of(path: Path) -> dict[str, Problem]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, TYPES)
    assert caught.value.source == str(path)
    by_path = {p.path: p for p in caught.value.problems}
    assert len(by_path) == len(caught.value.problems), "one problem per key"
    return by_path


SEVERAL_MISTAKES = """\
[service]
log_format = "xml"

[salesforce]
auth = "client_credentials"
client_id = "abc"
api_verison = "59.0"
client_secret = "hunter2-inline"

[[connectors]]
type = "memory"
name = "mail"
interval = "5 minutes"

[[connectors]]
type = "gmial"
name = "other"

[rules]
schedule = "0 25 * * *"
"""


def test_several_distinct_mistakes_are_reported_together_with_paths_and_lines(
    tmp_path: Path,
) -> None:
    found = problems_of(write(tmp_path, SEVERAL_MISTAKES))
    expected = {
        "service.log_format": (2, "must be 'text' or 'json', not 'xml'"),
        "salesforce.api_verison": (7, "unknown key; did you mean 'api_version'?"),
        "salesforce.client_secret": (8, "inline secrets are not allowed"),
        # client credentials against the default login.salesforce.com: a real org refuses it
        "salesforce.login_url": (4, "served only on your org's My Domain"),
        "connectors[0].interval": (13, "'5 minutes' is not a duration"),
        "connectors[1].type": (16, "unknown connector type 'gmial'"),
        "rules.schedule": (20, "is not a valid cron expression"),
    }
    assert set(found) == set(expected)
    for key, (line, fragment) in expected.items():
        assert fragment in found[key].message, key
        assert found[key].line == line, key
    # The inline-secret message says how to fix it, and never repeats the value.
    fix = found["salesforce.client_secret"].message
    assert "client_secret_env = " in fix and "client_secret_file = " in fix
    assert "known: " in found["connectors[1].type"].message
    assert "memory" in found["connectors[1].type"].message


def test_error_text_lists_every_problem_and_hides_inline_secret(tmp_path: Path) -> None:
    path = write(tmp_path, SEVERAL_MISTAKES)
    with pytest.raises(ConfigError) as caught:
        load_config(path, TYPES)
    text = str(caught.value)
    assert "7 configuration problems" in text
    assert "connectors[0].interval (line 13)" in text
    assert "hunter2-inline" not in text
    assert "hunter2-inline" not in repr(caught.value.problems)


def test_toml_syntax_error_is_one_problem_with_its_line(tmp_path: Path) -> None:
    found = problems_of(write(tmp_path, "[state]\nurl = 'sqlite://'\nbroken = = 1\n"))
    (problem,) = found.values()
    assert problem.line == 3
    assert "not valid TOML" in problem.message


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    found = problems_of(tmp_path / "absent.toml")
    assert "cannot read" in next(iter(found.values())).message


def test_unknown_connector_type_suggests_the_close_one(tmp_path: Path) -> None:
    found = problems_of(write(tmp_path, '[[connectors]]\ntype = "memroy"\nname = "x"\n'))
    assert "did you mean 'memory'?" in found["connectors[0].type"].message


def test_duplicate_connector_names(tmp_path: Path) -> None:
    text = "".join(f'[[connectors]]\ntype = "memory"\nname = "{n}"\n' for n in ("a", "b", "a"))
    found = problems_of(write(tmp_path, text))
    assert list(found) == ["connectors[2].name"]
    assert "duplicate connector name 'a' (connectors[0])" in found["connectors[2].name"].message
    assert found["connectors[2].name"].line == 9


def test_connector_specific_keys_are_validated_by_its_own_model(tmp_path: Path) -> None:
    text = """\
[[connectors]]
type = "test_dialer"
name = "calls"
regoin = "us"
page_delay = "-3s"

[[connectors]]
type = "test_dialer"
name = "calls2"
api_key = "abc123"
"""
    found = problems_of(write(tmp_path, text))
    assert "did you mean 'region'?" in found["connectors[0].regoin"].message
    assert found["connectors[0].regoin"].line == 4
    assert "negative" in found["connectors[0].page_delay"].message
    assert "required; write api_key_env" in found["connectors[0].api_key"].message
    assert found["connectors[1].api_key"].message.startswith("inline secrets are not allowed")
    assert "abc123" not in found["connectors[1].api_key"].message


def test_connector_secret_by_reference(tmp_path: Path) -> None:
    text = '[[connectors]]\ntype = "test_dialer"\nname = "calls"\napi_key_env = "DIAL_KEY"\n'
    config = load_config(write(tmp_path, text), TYPES)
    (settings,) = config.connectors
    assert isinstance(settings, DialerSettings)
    assert settings.api_key == SecretRef(env="DIAL_KEY")
    assert settings.api_key.key == "connectors[0].api_key_env"
    assert config.connectors_by_name["calls"] is settings


def test_secret_given_both_ways_and_inline_secret_in_unknown_place(tmp_path: Path) -> None:
    text = """\
[alerts.slack]
token_env = "A"
token_file = "/b"

[capture]
password = "letmein"
"""
    found = problems_of(write(tmp_path, text))
    assert "not both" in found["alerts.slack.token"].message
    assert found["capture.password"].message.startswith("inline secrets are not allowed")
    assert "letmein" not in str(found)


def test_auth_mode_needs_its_credentials(tmp_path: Path) -> None:
    text = '[salesforce]\nauth = "password"\nclient_id = "x"\n'
    found = problems_of(write(tmp_path, text))
    assert set(found) == {
        "salesforce.client_secret",
        "salesforce.username",
        "salesforce.password",
    }
    assert all("required when auth = 'password'" in p.message for p in found.values())
    assert {p.line for p in found.values()} == {1}  # the table header: the keys are absent


def test_wrong_types_and_bounds_read_like_sentences(tmp_path: Path) -> None:
    text = """\
[capture]
capture_body = "yes"
backfill_days = 4000
internal_domains = "example.com"
default_region = "XX"

[salesforce]
auth = "client_credentials"
client_id_env = "SF_ID"
client_secret_env = "SF_SECRET"
api_reserve = 1.0
login_url = "http://login.salesforce.com"

[service]
listen = "localhost"

[[rules.rule]]
type = "engagement_drop"
percent = 150
per_stage = { Proposal = "five" }

[[rules.rule]]
type = "missing_fields"
fields = ["Amount", "Next Step", "Budget__c"]
"""
    found = problems_of(write(tmp_path, text))
    messages = {k: p.message for k, p in found.items()}
    assert messages["capture.capture_body"] == "must be true or false, not string"
    assert messages["capture.backfill_days"] == "must be at most 3650, not 4000"
    assert messages["capture.internal_domains"] == "must be an array, not string"
    assert "not a phone region code" in messages["capture.default_region"]
    assert messages["salesforce.api_reserve"] == "must be less than 1, not 1.0"
    assert "https:// URL" in messages["salesforce.login_url"]
    assert "host:port" in messages["service.listen"]
    assert messages["rules.rule[0].percent"] == "must be at most 100, not 150"
    assert messages["rules.rule[0].per_stage.Proposal"] == "must be an integer, not string"
    assert found["rules.rule[0].per_stage.Proposal"].line == 20
    assert messages["rules.rule[1].fields[1]"] == (
        "'Next Step' is not a Salesforce field API name (did you mean 'NextStep'?)"
    )
    assert not any(
        k.startswith("rules.rule[1].fields[") and k != "rules.rule[1].fields[1]" for k in messages
    )


def test_top_level_mistakes(tmp_path: Path) -> None:
    text = """\
[salesforc]
auth = "jwt"

[connectors]
type = "memory"

[alerts.slak]
mode = "app"
"""
    found = problems_of(write(tmp_path, text))
    assert found["salesforc"].message == "unknown key; did you mean 'salesforce'?"
    assert found["salesforc"].line == 1
    assert found["connectors"].message == "must be an array, not table"
    assert found["alerts.slak"].message == "unknown key; did you mean 'slack'?"
    assert found["alerts.slak"].line == 7


def test_connector_fields_of_the_wrong_type(tmp_path: Path) -> None:
    text = """\
[[connectors]]
type = "test_dialer"
name = "calls"
api_key_env = "K"
region = 3
since = "2024-01-01"
"""
    found = problems_of(write(tmp_path, text))
    assert found["connectors[0].region"].message == "must be a string, not integer"
    assert "a date, written unquoted like 2024-01-31" in found["connectors[0].since"].message


def test_slack_quiet_hours_are_checked(tmp_path: Path) -> None:
    text = """\
[alerts.slack]
token_env = "SLACK_TOKEN"
quiet_hours = "25:00-8"
"""
    messages = {k: p.message for k, p in problems_of(write(tmp_path, text)).items()}
    assert "HH:MM-HH:MM" in messages["alerts.slack.quiet_hours"]
