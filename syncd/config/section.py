"""The base of every config table: frozen, strict, and reporting all of its problems at once.

Pydantic stops a model at nothing but reports one error per field; what it cannot do for us is
turn ``token_env`` / ``token_file`` into a :class:`SecretRef`, say "did you mean" for an unknown
key, reject an inline secret with instructions, and check fields against each other (auth mode
needs these secrets) *in the same run* as the field errors. :class:`Section` does those in a
wrap validator and re-raises everything as one ``ValidationError``, so locations stay relative
and pydantic prefixes them as it climbs out (``salesforce.private_key``).
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from syncd.config.secrets import SecretRef, looks_secret
from syncd.config.validators import type_name

Loc = tuple[str | int, ...]
_KNOWN_ERROR_TYPES = frozenset(typing.get_args(ErrorType))
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _mentions_secret(annotation: object) -> bool:
    if annotation is SecretRef:
        return True
    return any(_mentions_secret(arg) for arg in typing.get_args(annotation))


def _error(loc: Loc, message: str, value: object = None) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError("syncd", message.replace("{", "(").replace("}", ")")),
        loc=loc,
        input=value,
    )


def _rebuild(exc: ValidationError) -> list[InitErrorDetails]:
    """Turn a caught ``ValidationError`` back into details we can raise again with our own."""
    details: list[InitErrorDetails] = []
    for err in exc.errors():
        ctx = err.get("ctx") or {}
        kind = err["type"]
        if kind in _KNOWN_ERROR_TYPES and "error" not in ctx:
            detail = InitErrorDetails(type=kind, loc=err["loc"], input=err["input"])
            if ctx:
                detail["ctx"] = ctx
        else:
            # Custom (ours, or a connector's) or wrapping an exception: keep its final text.
            message = str(ctx["error"]) if "error" in ctx else err["msg"]
            safe = message.replace("{", "(").replace("}", ")")
            safe_ctx = {k: v for k, v in ctx.items() if k != "error"} or None
            detail = InitErrorDetails(
                type=PydanticCustomError(kind, safe, safe_ctx), loc=err["loc"], input=err["input"]
            )
        details.append(detail)
    return details


class Section(BaseModel):
    """A config table. Subclasses declare fields; secrets are ``SecretRef | None`` fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: Fields that take a plain value OR a ``<name>_env`` / ``<name>_file`` reference.
    ref_ok_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def secret_fields(cls) -> list[str]:
        """Names of the fields written as ``<name>_env`` / ``<name>_file``."""
        return [n for n, f in cls.model_fields.items() if _mentions_secret(f.annotation)]

    @classmethod
    def allowed_keys(cls) -> list[str]:
        """Every key an operator may write in this table."""
        keys: list[str] = []
        secrets = set(cls.secret_fields())
        for name in cls.model_fields:
            if name in secrets:
                keys += [f"{name}_env", f"{name}_file"]
            if name not in secrets or name in cls.ref_ok_fields:
                keys.append(name)
        return keys

    @classmethod
    def cross_check(cls, data: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
        """Problems between fields, from the table with secrets already turned into refs."""
        return iter(())

    @model_validator(mode="wrap")
    @classmethod
    def _collect_everything(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return handler(data)  # a built instance, or pydantic's "must be a table"
        data = dict(data)
        errors: list[InitErrorDetails] = []
        base_dir = (info.context or {}).get("base_dir")
        for name in cls.secret_fields():
            errors += _take_secret(cls, name, data, base_dir)
        allowed = cls.allowed_keys()
        for key in [k for k in data if k not in cls.model_fields]:
            value = data.pop(key)
            if looks_secret(key) and isinstance(value, str):
                errors.append(_inline(key, value))
            else:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                errors.append(_error((key,), f"unknown key{hint}", value))
        seen = {e["loc"] for e in errors}
        errors += [_error(loc, msg) for loc, msg in cls.cross_check(data) if loc not in seen]
        try:
            result = handler(data)
        except ValidationError as exc:
            ours = {e["loc"] for e in errors}
            errors = [e for e in _rebuild(exc) if e["loc"] not in ours] + errors
            result = None
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return result


def _inline(key: str, value: object) -> InitErrorDetails:
    # The loader words the fix, because it knows the full key path to suggest names from.
    return InitErrorDetails(
        type=PydanticCustomError("inline_secret", "inline secret", {"key": key}),
        loc=(key,),
        input="<redacted>",
    )


def _take_secret(
    cls: type[Section], name: str, data: dict[str, Any], base_dir: Path | None
) -> list[InitErrorDetails]:
    """Replace ``name_env`` / ``name_file`` in ``data`` by ``name: SecretRef``; return problems."""
    env_key, file_key = f"{name}_env", f"{name}_file"
    given = [k for k in (env_key, file_key) if k in data]
    if name in data and not isinstance(data[name], SecretRef):
        if name in cls.ref_ok_fields:
            if given:
                return [_error((name,), f"give {name} or {given[0]}, not both")]
            return []
        value = data.pop(name)
        for k in given:
            data.pop(k)
        if isinstance(value, str):
            return [_inline(name, value)]
        return [_error((name,), f"write {env_key} or {file_key} instead of {name}", "<redacted>")]
    if len(given) == 2:
        data.pop(env_key)
        data.pop(file_key)
        return [_error((name,), f"give either {env_key} or {file_key}, not both")]
    if not given:
        if cls.model_fields[name].is_required():
            return [_error((name,), f"required; write {env_key} = … or {file_key} = …")]
        return []
    key = given[0]
    raw = data.pop(key)
    if not isinstance(raw, str) or not raw.strip():
        what = "an environment variable name" if key == env_key else "a file path"
        return [_error((key,), f"must be {what} as a non-empty string, not {type_name(raw)}")]
    if key == env_key:
        if not _ENV_NAME.fullmatch(raw):
            return [_error((key,), f"{raw!r} is not a valid environment variable name")]
        data[name] = SecretRef(env=raw)
        return []
    path = Path(raw).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path  # relative to the config file, not the working directory
    data[name] = SecretRef(file=path)
    return []
