"""The config package sits below everything, and its sections are read typed, defaults once.

- importing ``syncd.config`` loads no connector or capture module (the loader is handed the
  connector types by the wiring layer);
- no code reads a setting by name with a fallback (``getattr(settings, "x", default)``);
- no default of a config key is written again outside the config models.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pydantic_core import PydanticUndefined

from syncd.config import models
from syncd.config.section import Section

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "syncd").rglob("*.py"), *(ROOT / "connectors").rglob("*.py")])

CHECK = (
    "import syncd.config, sys; "
    "loaded = sorted(m for m in sys.modules if m.startswith(('connectors', 'syncd.capture'))); "
    "assert not loaded, loaded"
)
#: A setting read by string name with a default: what typed sections replace.
GETATTR_WITH_DEFAULT = re.compile(r"getattr\((settings|self\.settings|cfg|config)[^)]*,")
#: The same through an attribute path or under a section's name (``connector.settings``, ``slack``).
GETATTR_ON_A_SECTION = re.compile(
    r"getattr\([\w.]*\b(settings|config|cfg|capture|slack|sf)\s*,\s*[\"'][^\"']+[\"']\s*,"
)


def _lines(paths: list[Path]) -> list[tuple[str, int, str]]:
    return [
        (str(path.relative_to(ROOT)), number, line)
        for path in paths
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
    ]


def test_importing_config_loads_no_connector_or_capture_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_no_setting_is_read_by_name_with_a_fallback() -> None:
    found = [
        hit
        for hit in _lines(SOURCES)
        if GETATTR_WITH_DEFAULT.search(hit[2]) or GETATTR_ON_A_SECTION.search(hit[2])
    ]
    assert found == []


def _literal_defaults() -> dict[str, set[str]]:
    """Each config key's default written as source (strings, numbers, booleans)."""
    out: dict[str, set[str]] = {}
    for section in vars(models).values():
        if not (isinstance(section, type) and issubclass(section, Section)):
            continue
        for name, field in section.model_fields.items():
            value = field.default
            if isinstance(value, str):
                out.setdefault(name, set()).add(f"[\"']{re.escape(value)}[\"']")
            elif isinstance(value, bool | int | float) and value is not PydanticUndefined:
                out.setdefault(name, set()).add(rf"{re.escape(repr(value))}\b")
    return out


def test_each_config_default_is_written_once_in_the_config_models() -> None:
    defaults = _literal_defaults()
    assert defaults["default_region"] == {"[\"']US[\"']"} and "capture_body" in defaults
    outside = [p for p in SOURCES if p.parent.name != "config" or p.parent.parent.name != "syncd"]
    found = []
    for path, number, line in _lines(outside):
        for name, values in defaults.items():
            for value in values:
                # `name: T = value`, `name=value` or `("name", value)`
                pattern = rf"\b{name}\b[^=\n(]*=\s*{value}|[\"']{name}[\"']\s*,\s*{value}"
                if re.search(pattern, line):
                    found.append((path, number, line.strip()))
    assert found == []
