"""The config package sits below everything: importing it loads no connector or capture code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = (
    "import syncd.config, sys; "
    "loaded = sorted(m for m in sys.modules if m.startswith(('connectors', 'syncd.capture'))); "
    "assert not loaded, loaded"
)


def test_importing_config_loads_no_connector_or_capture_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
