"""Shared by the recorded-response contract tests: where the recordings are, and key paths.

``../shared/data/recorded/<vendor>/`` holds request/response pairs recorded from the real
services (method, endpoint, params; the response as sent). :func:`recordings` lists them, or
skips the calling test with a visible reason where the folder is absent (a fresh clone).

:func:`shape` flattens a JSON document into ``{key path: JSON type}``: object keys joined by
``.``, every list item folded into ``[]`` (so ``payload.parts[].body.size: number``).
:func:`shape_gaps` lists each key path of a recorded answer that an emulator's answer lacks or
types differently; an empty list means the emulator speaks the recording's shape. Where they
disagree the recording wins: fix the emulator, not the recording.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / ".." / "shared" / "data" / "recorded"


def recordings(vendor: str) -> list[tuple[Path, dict[str, Any]]]:
    """Every recorded pair of ``vendor`` (path, parsed JSON); skips when none are present."""
    folder = RECORDED / vendor
    if not folder.is_dir():
        pytest.skip(f"no recorded responses at {folder} (../shared/data/recorded is absent)")
    found = [(p, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(folder.rglob("*.json"))]
    if not found:
        pytest.skip(f"{folder} holds no recorded responses")
    return found


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape(document: Any, prefix: str = "") -> dict[str, str]:
    """``{key path: JSON type}`` of ``document`` (list items folded into ``[]``)."""
    found: dict[str, str] = {}
    if prefix:
        found[prefix] = _kind(document)
    if isinstance(document, dict):
        for key, value in document.items():
            found |= shape(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(document, list):
        for item in document:
            found |= shape(item, f"{prefix}[]")
    return found


def shape_gaps(
    recorded: Any, emulated: Any, *, ignore: Iterable[str] = (), nullable: bool = True
) -> list[str]:
    """Key paths of ``recorded`` missing from ``emulated`` or of another type there.

    ``ignore`` names paths (and everything under them) the test knowingly leaves out.
    ``nullable``: a recorded ``null`` matches any type (the service sends null for "unset").
    """
    want, have = shape(recorded), shape(emulated)
    skipped = tuple(ignore)
    gaps = []
    for path, kind in sorted(want.items()):
        if any(path == s or path.startswith((f"{s}.", f"{s}[")) for s in skipped):
            continue
        if path not in have:
            gaps.append(f"{path}: {kind} missing")
        elif have[path] != kind and not (nullable and "null" in (kind, have[path])):
            gaps.append(f"{path}: {kind} recorded, {have[path]} emulated")
    return gaps
