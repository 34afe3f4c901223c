"""Secret references (syncd.config.secrets): resolved when used, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.config.secrets import SecretRef
from syncd.errors import ConfigError


def test_secret_ref_resolves_env_and_file_without_ever_showing_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_TEST_SECRET", "s3cr3t-env-value")
    from_env = SecretRef(env="SYNCD_TEST_SECRET")
    secret_file = tmp_path / "token"
    secret_file.write_text("s3cr3t-file-value\n")
    from_file = SecretRef(file=secret_file)
    assert from_env.resolve() == "s3cr3t-env-value"
    assert from_file.resolve() == "s3cr3t-file-value"  # trailing newline stripped
    for ref in (from_env, from_file):
        assert "s3cr3t" not in repr(ref)
        assert "s3cr3t" not in str(ref)
    assert "SYNCD_TEST_SECRET" in repr(from_env)


def test_unavailable_secret_raises_config_error_naming_the_key(tmp_path: Path) -> None:
    ref = SecretRef(file=tmp_path / "missing", key="alerts.slack.token_file")
    with pytest.raises(ConfigError) as caught:
        ref.resolve()
    (problem,) = caught.value.problems
    assert problem.path == "alerts.slack.token_file"
    assert "does not exist" in problem.message


def test_secret_ref_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SecretRef()
    with pytest.raises(ValueError, match="exactly one"):
        SecretRef(env="A", file=Path("/b"))
