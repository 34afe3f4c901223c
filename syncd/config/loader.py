"""Read ``syncd.toml``: every problem in the file, with its key path and line, in one error.

``load_config`` checks the file itself; ``check_config`` also looks outside it (environment
variables, secret files, the CA bundle) the way ``syncd check-config`` needs.

Both take the connector types from their caller (the wiring layer), so this package imports
nothing of ``connectors`` or ``syncd.capture``: everything can import the config types.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import stat
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from syncd.config.lines import key_lines, line_of
from syncd.config.models import Config, ConnectorTypes
from syncd.config.secrets import SecretRef, inline_secret_message
from syncd.config.validators import type_name
from syncd.errors import ConfigError, Problem

log = logging.getLogger(__name__)

_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "an array",
    "tuple_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "date_type": "a date, written unquoted like 2024-01-31",
    "datetime_type": "a date and time, written unquoted like 2024-01-31T09:00:00Z",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "greater than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def load_config(path: str | os.PathLike[str], connector_types: ConnectorTypes) -> Config:
    """Parse and validate the TOML file at ``path``; raise one ``ConfigError`` listing all.

    ``connector_types`` are the connector settings models by ``type`` (from the wiring layer:
    ``syncd.app.load_config`` hands the production ones).
    """
    config, problems, _, _ = _load(Path(path), connector_types)
    if problems or config is None:
        raise ConfigError(problems, source=str(path))
    return config


def exposure_warnings(config: Config, lines: Mapping[str, int]) -> list[Problem]:
    """A warning when ``service.listen`` is reachable from other machines without a token."""
    service = config.service
    host = service.listen.rpartition(":")[0].strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost: assume it is reachable
        loopback = False
    if loopback or service.token is not None:
        return []
    message = (
        f"{service.listen} is reachable from other machines and no service.token_env or"
        " service.token_file is set: anyone who reaches it reads the status page and /metrics"
        " (reps' addresses, opportunity ids, error classes). Set service.token_env, or listen"
        " on 127.0.0.1 and give vendors' webhooks their own service.webhook_listen"
    )
    return [Problem("service.listen", message, lines.get("service.listen"))]


def runnable_problems(config: Config, lines: Mapping[str, int]) -> list[Problem]:
    """What ``run``, ``sync`` and ``backfill`` need beyond a valid file (an empty one is valid)."""
    problems = []
    if config.salesforce is None:
        problems.append(
            Problem("salesforce", "missing: run, sync and backfill need a [salesforce] table"
                    " (see config.example.toml)")
        )  # fmt: skip
    if not any(c.enabled for c in config.connectors):
        problems.append(
            Problem("connectors", "no enabled [[connectors]] table: there is nothing to capture",
                    lines.get("connectors"))
        )  # fmt: skip
    return problems


def by_line(problems: list[Problem]) -> list[Problem]:
    """``problems`` in file order; those without a line last, in their own order."""
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


def check_config(
    path: str | os.PathLike[str],
    connector_types: ConnectorTypes,
    *,
    secrets: bool = True,
    runnable: bool = False,
) -> tuple[Config, list[Problem]]:
    """Load, then check referenced env vars and files; return the config and the warnings.

    ``secrets=False`` leaves the secrets unread (commands that only read the local store);
    ``runnable=True`` also asks for what run/sync need (:func:`runnable_problems`). Problems
    come sorted by line, with every warning beside them.
    """
    path = Path(path)
    config, problems, raw, lines = _load(path, connector_types)
    warnings: list[Problem] = []
    failed = {p.path for p in problems}
    refs = config.secret_refs() if config is not None else _raw_refs(raw, "", path.resolve().parent)
    for key, ref in refs if secrets else ():
        if key in failed:
            continue
        line = line_of(key, lines)
        if (message := ref.problem()) is not None:
            problems.append(Problem(key, message, line))
        elif ref.file is not None and (mode := ref.file.stat().st_mode) & 0o077:
            warnings.append(
                Problem(
                    key,
                    f"secret file {ref.file} is readable by group or others "
                    f"(mode {stat.S_IMODE(mode):04o}); run chmod 600 on it",
                    line,
                )
            )
    if config is not None and config.salesforce and config.salesforce.ca_bundle:
        bundle = config.salesforce.ca_bundle
        if not bundle.is_file() or not os.access(bundle, os.R_OK):
            key = "salesforce.ca_bundle"
            problems.append(
                Problem(key, f"CA bundle {bundle} is not a readable file", lines.get(key))
            )
    if config is not None:
        warnings.extend(exposure_warnings(config, lines))
        for i, connector in enumerate(config.connectors):
            for field, message in connector.file_problems():
                key = f"connectors[{i}].{field}"
                problems.append(Problem(key, message, line_of(key, lines)))
        if runnable:
            problems.extend(runnable_problems(config, lines))
    if problems or config is None:
        raise ConfigError(by_line(problems), source=str(path), warnings=by_line(warnings))
    log.info("config checked: %d connectors, %d warnings", len(config.connectors), len(warnings))
    return config, warnings


def _load(
    path: Path, connector_types: ConnectorTypes
) -> tuple[Config | None, list[Problem], dict[str, Any], dict[str, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = Problem("(file)", f"cannot read the config file: {exc.__class__.__name__}")
        return None, [problem], {}, {}
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        return None, [Problem("(syntax)", f"not valid TOML: {exc}", line)], {}, {}
    lines = key_lines(text)
    try:
        context = {"base_dir": path.resolve().parent, "connector_types": connector_types}
        config = Config.model_validate(raw, context=context)
    except ValidationError as exc:
        return None, _problems(exc, lines), raw, lines
    for key, ref in config.secret_refs():
        ref.key = key
    return config, [], raw, lines


def _problems(exc: ValidationError, lines: dict[str, int]) -> list[Problem]:
    problems: dict[str, Problem] = {}
    for err in exc.errors():
        key = dotted(err["loc"])
        if key not in problems:  # one problem per key: union branches repeat themselves
            problems[key] = Problem(key, _message(err, key), line_of(key, lines))
    return sorted(problems.values(), key=lambda p: (p.line is None, p.line or 0))


def dotted(loc: tuple[str | int, ...]) -> str:
    """``("connectors", 1, "interval")`` → ``connectors[1].interval``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(err: ErrorDetails, key: str) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "inline_secret":
        return inline_secret_message(key, str(ctx.get("key", key.rsplit(".", 1)[-1])))
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}, not {value!r}"
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]}, not {type_name(value)}"
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        bound = ctx.get(name)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)  # the bound of a float field reads better as "100" than "100.0"
        return f"must be {words} {bound}, not {value!r}"
    if "error" in ctx:
        return str(ctx["error"])
    return str(err["msg"])


def _raw_refs(node: object, prefix: str, base_dir: Path) -> Iterator[tuple[str, SecretRef]]:
    """References in a table that failed validation, so they can be checked all the same."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, str) and value.strip() and key.endswith("_env"):
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
                    yield path, SecretRef(env=value, key=path)
            elif isinstance(value, str) and value.strip() and key.endswith("_file"):
                file = Path(value).expanduser()
                yield (
                    path,
                    SecretRef(file=file if file.is_absolute() else base_dir / file, key=path),
                )
            else:
                yield from _raw_refs(value, path, base_dir)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _raw_refs(item, f"{prefix}[{index}]", base_dir)
