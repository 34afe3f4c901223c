"""Fixtures for the Outlook connectors: a Graph sandbox on a fake clock, and connectors on it."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in ("connectors", "salesforce", "runner"):
    sys.path.insert(0, str(HERE.parent / folder))
