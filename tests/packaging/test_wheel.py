"""The wheel users install: built without warnings, it runs ``syncd demo`` outside the checkout.

``python -m build`` makes the sdist and the wheel (no warnings: ``project.license`` is an SPDX
string); the wheel goes into a fresh venv in a temporary directory, whose interpreter runs
from there, not from the checkout. The venv reaches this environment's dependencies through a
plain path line in a ``.pth`` file (no network, and no ``.pth`` of this environment is run, so
the checkout's editable install stays out): syncd itself must come from the wheel, and
``syncd demo --json`` and ``syncd check-config`` on the example config must work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from syncd.demo.world import EXAMPLE_CONFIG, dummy_environment

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_wheel_builds_cleanly_and_runs_the_demo_from_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # (PYTHONDONTWRITEBYTECODE, set by some test runners, makes setuptools warn it is obeyed.)
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    log = run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, ROOT,
              cwd=tmp_path, env=clean)  # fmt: skip
    assert "warning" not in log.lower(), log
    (wheel,) = dist.glob("syncd-*.whl")
    assert len(list(dist.glob("syncd-*.tar.gz"))) == 1

    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                    cwd=tmp_path).strip())  # fmt: skip
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "--quiet", wheel, cwd=tmp_path)  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "PYTHON"))}
    env["HOME"] = str(tmp_path / "home")
    where = run(python, "-c", "import syncd, sandbox; print(syncd.__file__, sandbox.__file__)",
                cwd=tmp_path, env=env)  # fmt: skip
    assert all(p.startswith(str(site)) for p in where.split()), where

    syncd = [fresh / "bin" / "syncd"]  # the console script the wheel declares
    summary = json.loads(run(*syncd, "demo", "--json", cwd=tmp_path, env=env).splitlines()[0])
    assert summary["written"] and summary["dead_letters"] == 0
    config = tmp_path / "syncd.toml"
    config.write_text(EXAMPLE_CONFIG.read_text())
    checked = run(*syncd, "check-config", "-c", config, cwd=tmp_path,
                  env=env | dummy_environment(EXAMPLE_CONFIG))  # fmt: skip
    assert ": ok (" in checked
