"""``syncd demo``: try syncd with nothing connected.

Until the capture pipeline lands, the demo validates the example configuration, creates a state
store in a temporary directory, and prints ``syncd status`` for it. Later issues make it start
the sandbox world and run a real capture pass.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config.example.toml"


def _env_names(node: Any) -> Iterator[str]:
    """Every value of a ``*_env`` key in a parsed TOML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("_env") and isinstance(value, str):
                yield value
            else:
                yield from _env_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _env_names(item)


def dummy_environment(config_path: Path) -> dict[str, str]:
    """Dummy values for the environment variables a config names, where they are unset."""
    with config_path.open("rb") as fh:
        document = tomllib.load(fh)
    names = {name for name in _env_names(document) if not os.environ.get(name)}
    return {name: f"demo-{name.lower()}" for name in sorted(names)}


def run_demo(*, json_output: bool = False) -> int:
    """Validate the example config, open a fresh store, and report; returns the exit code."""
    from syncd.config import check_config
    from syncd.state import Store

    console = Console(stderr=json_output)
    if not EXAMPLE_CONFIG.exists():
        console.print(f"demo: {EXAMPLE_CONFIG} not found; run from a source checkout")
        return 1
    os.environ.update(dummy_environment(EXAMPLE_CONFIG))
    config, warnings = check_config(EXAMPLE_CONFIG)
    with tempfile.TemporaryDirectory(prefix="syncd-demo-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'syncd.db'}"
        store = Store.open(url)
        try:
            status = store.status().as_dict()
        finally:
            store.close()
    summary = {
        "stage": "foundation",
        "note": (
            "The capture pipeline has not landed yet: this demo validates the example "
            "configuration, creates a state store in a temporary directory and prints its status."
        ),
        "config": {
            "path": str(EXAMPLE_CONFIG),
            "valid": True,
            "warnings": [str(w) for w in warnings],
            "connectors": [c.name for c in config.connectors],
        },
        "store": {"url": "sqlite:///<temporary directory>/syncd.db", "status": status},
    }
    if json_output:
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
        return 0
    from syncd.cli import render_status

    console.print("[bold]syncd demo[/bold]")
    console.print(summary["note"])
    console.print(
        f"example config: valid, {len(config.connectors)} connector(s), {len(warnings)} warning(s)"
    )
    console.print("state store created (SQLite, migrated to the newest schema); status:")
    render_status(status, console)
    return 0
