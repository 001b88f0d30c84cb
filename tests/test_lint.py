"""The code passes ruff (pyflakes, pycodestyle, bugbear, import order, Airflow's AIR rules) and is formatted, with the
settings in ruff.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.synth import REPO_ROOT

RUFF = str(Path(sys.executable).parent / "ruff")


def test_ruff_check() -> None:
    result = subprocess.run([RUFF, "check", "."], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = subprocess.run(
        [RUFF, "format", "--check", "."], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
