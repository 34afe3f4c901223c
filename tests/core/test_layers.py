"""The layers of docs/architecture.md hold at import time: no layer loads one below it.

(``syncd.config``'s own check is tests/config/test_config_layers.py.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: A module of each layer, and the prefixes of the layers it must not load.
CASES = [
    ("syncd.capture.runner", ("connectors", "syncd.app", "syncd.cli")),
    ("syncd.rules.run", ("connectors", "syncd.app", "syncd.cli")),
    ("syncd.salesforce.client", ("connectors", "syncd.capture", "syncd.rules")),
    ("syncd.state", ("connectors", "syncd.capture", "syncd.rules")),
]


@pytest.mark.parametrize(("module", "forbidden"), CASES, ids=[c[0] for c in CASES])
def test_a_layer_loads_nothing_below_it(module: str, forbidden: tuple[str, ...]) -> None:
    check = (
        f"import {module}, sys; "
        f"loaded = sorted(m for m in sys.modules if m.startswith({forbidden!r})); "
        "assert not loaded, loaded"
    )
    proc = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
