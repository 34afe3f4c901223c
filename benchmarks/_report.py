"""What every benchmark shares: the commit it measured and its row in docs/benchmarks.md.

Each benchmark owns one ``## …`` section of the file: the first run writes the section with a
note saying how the figures were counted and the table header; later runs add a row at the end
of that section's table, leaving every other section as it is. When a benchmark's columns
change, the new header (with ``note_for_new_header``) starts a new table under the old one.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"


def commit() -> str:
    """The short hash of the commit being measured."""
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or "unknown"


def stamp() -> str:
    """``| <date> | <commit> |``, the first two cells of every row."""
    return f"| {datetime.now(UTC):%Y-%m-%d} | {commit()} |"


def append_row(
    section: str, header: str, row: str, *, note: str = "", note_for_new_header: str = ""
) -> None:
    """Append ``row`` to the table of ``section``, creating the section when it is missing."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if section not in text:
        with DOC.open("a") as fh:
            fh.write(("" if text.endswith("\n") else "\n") + f"\n{section}\n{note}{header}{row}")
        return
    start = text.index(section)
    nxt = text.find("\n## ", start + len(section))
    end = len(text) if nxt == -1 else nxt + 1
    body = text[start:end].rstrip("\n") + "\n"
    if header.splitlines()[0] not in body:
        body += note_for_new_header + header
    body += row
    DOC.write_text(text[:start] + body + ("\n" if nxt != -1 else "") + text[end:])
