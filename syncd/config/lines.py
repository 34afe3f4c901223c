"""Best-effort line numbers for key paths, found by reading the TOML text.

tomllib returns plain dicts without positions, so this walks the text itself: it tracks the
current ``[table]`` / ``[[array]]`` header (counting array-of-tables occurrences to produce
``connectors[1]``) and records the line of every ``key = value``. Lines inside multi-line
strings are skipped. Anything it cannot place is simply absent: the caller shows no line.
"""

from __future__ import annotations

import re

_BARE = r"[A-Za-z0-9_-]+"
_KEY_PART = rf'(?:{_BARE}|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_ARRAY_HEADER = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]")
_TABLE_HEADER = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]")
_KEY_LINE = re.compile(rf"^\s*({_DOTTED})\s*=")
_PART = re.compile(_KEY_PART)


def _parts(dotted: str) -> list[str]:
    return [p.strip("\"'") for p in _PART.findall(dotted)]


def key_lines(text: str) -> dict[str, int]:
    """Map ``salesforce.auth`` / ``connectors[1].interval`` / ``rules.rule[0]`` to 1-based lines."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}  # array-of-tables path (with parent indices) → items seen
    prefix = ""
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        if match := _ARRAY_HEADER.match(line):
            base = _resolve(_parts(match.group(1)), counts)
            counts[base] = counts.get(base, 0) + 1
            prefix = f"{base}[{counts[base] - 1}]"
            lines.setdefault(prefix, number)
        elif match := _TABLE_HEADER.match(line):
            prefix = _resolve(_parts(match.group(1)), counts)
            lines.setdefault(prefix, number)
        elif match := _KEY_LINE.match(line):
            path = ".".join([prefix, *_parts(match.group(1))] if prefix else _parts(match.group(1)))
            lines.setdefault(path, number)
            rest = line[match.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
    return lines


def _resolve(parts: list[str], counts: dict[str, int]) -> str:
    """Join header parts, indexing each parent that is an array of tables at its latest item."""
    path = ""
    for position, part in enumerate(parts):
        path = f"{path}.{part}" if path else part
        if position < len(parts) - 1 and path in counts:
            path = f"{path}[{counts[path] - 1}]"
    return path


def line_of(path: str, lines: dict[str, int]) -> int | None:
    """The line of ``path``, else of its ``_env``/``_file`` form, else of the nearest parent."""
    for candidate in (path, f"{path}_env", f"{path}_file"):
        if candidate in lines:
            return lines[candidate]
    while path:
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
        if path in lines:
            return lines[path]
    return None
