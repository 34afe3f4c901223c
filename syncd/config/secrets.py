"""Secrets in the configuration: references to an environment variable or a file, never values.

:class:`SecretRef` is where a secret lives (resolved only when used); :func:`secret_field`
declares one on a settings model; :func:`looks_secret` and :func:`inline_secret_message` are
how an inline secret is recognised and refused with the fix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_core import core_schema

from syncd.config.validators import fail, type_name
from syncd.errors import ConfigError, Problem

#: Keys whose plain-string value is an inline secret, wherever they appear.
SECRET_NAMES = frozenset(
    {
        "client_secret",
        "secret",
        "password",
        "token",
        "api_key",
        "private_key",
        "security_token",
        "refresh_token",
        "webhook_url",
        "signing_secret",
    }
)
_SECRET_SUFFIXES = ("_secret", "_password", "_token", "_api_key", "_private_key")


def looks_secret(key: str) -> bool:
    """Whether a key name says its value is a credential (``token``, ``bot_token``, …)."""
    return key in SECRET_NAMES or key.endswith(_SECRET_SUFFIXES)


class SecretRef:
    """Where a secret lives: an environment variable or a file. Never holds the value.

    ``key`` is the config key the operator wrote (``salesforce.client_secret_env``), filled in
    once the whole config is validated, so problems can point at it.
    """

    __slots__ = ("env", "file", "key")

    def __init__(self, *, env: str | None = None, file: Path | None = None, key: str = "") -> None:
        if (env is None) == (file is None):
            raise ValueError("a SecretRef names exactly one of env or file")
        self.env = env
        self.file = file
        self.key = key

    @property
    def source(self) -> str:
        """Human description of where the value is read from (safe to show)."""
        return f"environment variable {self.env}" if self.env else f"file {self.file}"

    def problem(self) -> str | None:
        """Why :meth:`resolve` would fail right now, or None when it would succeed."""
        if self.env is not None:
            if self.env not in os.environ:
                return f"environment variable {self.env} is not set"
            if not os.environ[self.env].strip():
                return f"environment variable {self.env} is empty"
            return None
        assert self.file is not None
        if not self.file.is_file():
            return f"secret file {self.file} does not exist"
        if not os.access(self.file, os.R_OK):
            return f"secret file {self.file} is not readable by this user"
        return None

    def resolve(self) -> str:
        """Read the secret now; raise ``ConfigError`` naming the key when it is unavailable."""
        problem = self.problem()
        if problem is None:
            try:
                if self.env is not None:
                    value = os.environ[self.env]
                else:
                    assert self.file is not None
                    value = self.file.read_text(encoding="utf-8")
            except (OSError, KeyError, UnicodeDecodeError) as exc:
                problem = f"cannot read {self.source}: {type(exc).__name__}"
            else:
                return value.rstrip("\r\n")
        raise ConfigError([Problem(self.key or self.source, problem)])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretRef):
            return NotImplemented
        return (self.env, self.file) == (other.env, other.file)

    def __hash__(self) -> int:
        return hash((self.env, self.file))

    def __repr__(self) -> str:
        where = f"env={self.env!r}" if self.env else f"file={str(self.file)!r}"
        return f"SecretRef({where})"

    __str__ = __repr__

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        # Sections turn ``x_env`` / ``x_file`` into a SecretRef before field validation.
        return core_schema.no_info_plain_validator_function(
            _secret_instance, serialization=core_schema.to_string_ser_schema()
        )


def _secret_instance(value: object) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    raise fail(f"must be given as <name>_env or <name>_file, not a {type_name(value)}")


def secret_field(description: str = "", *, required: bool = False) -> Any:
    """Declare a secret field on a settings model, e.g. ``api_key: SecretRef | None``.

    The operator writes ``api_key_env = "VAR"`` or ``api_key_file = "/path"``; an inline
    ``api_key = "…"`` is rejected with instructions.
    """
    if required:
        return Field(description=description, json_schema_extra={"secret": True})
    return Field(default=None, description=description, json_schema_extra={"secret": True})


def inline_secret_message(path: str, key: str) -> str:
    """How to fix an inline secret at ``path`` (its last component is ``key``)."""
    parts = [p for p in re.split(r"[.\[\]]+", path) if p and not p.isdigit()]
    stem = "_".join(parts).upper().replace("-", "_")
    slug = "-".join(parts).lower().replace("_", "-")
    return (
        "inline secrets are not allowed; put the value in an environment variable and write "
        f'{key}_env = "SYNCD_{stem}", or in a file readable only by syncd and write '
        f'{key}_file = "/etc/syncd/{slug}"'
    )
