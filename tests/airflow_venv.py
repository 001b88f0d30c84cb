"""The real Airflow in .venv-airflow (scripts/airflow_venv.sh), as the tests use it: run a check script of
tests/airflow_checks/ inside it and get its JSON answer, and check Airflow option names.

The CDK app's .venv cannot import Airflow (the two pin different versions of shared packages), so everything that
needs Airflow runs in a subprocess with a throwaway AIRFLOW_HOME and none of the caller's AIRFLOW* variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DAGS_DIR = REPO_ROOT / "dags"
CHECKS_DIR = Path(__file__).resolve().parent / "airflow_checks"


# Seconds each check script took, by script name, for the timing line tests/test_dags.py prints.
CHECK_SECONDS: dict[str, float] = {}


def airflow_python() -> Path:
    """The Airflow venv's interpreter. A bare `pytest` without the venv skips, saying why; under CI=true it fails."""
    venv = Path(os.environ.get("AIRFLOW_EKS_AIRFLOW_VENV", REPO_ROOT / ".venv-airflow")).resolve()
    python = venv / "bin" / "python"
    if not python.is_file():
        message = (
            f"Airflow venv {venv} is absent (run scripts/airflow_venv.sh, which ./scripts/test.sh does, "
            "or set AIRFLOW_EKS_AIRFLOW_VENV to point at one)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return python


def run_check(script: str, *arguments: str, stdin: Any = None, timeout: float = 600) -> Any:
    """Run tests/airflow_checks/<script> in the Airflow venv and return its parsed JSON answer.

    `stdin` is sent as JSON. The script gets an empty AIRFLOW_HOME (so SQLite and any file Airflow writes stay in
    it), the KubernetesExecutor the deployment runs, no example DAGs and none of this process's AIRFLOW* settings.
    """
    python = airflow_python()
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AIRFLOW") and name not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as airflow_home:
        environment |= {
            "AIRFLOW_HOME": airflow_home,
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
            "AIRFLOW__CORE__EXECUTOR": "KubernetesExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        started = time.monotonic()
        completed = subprocess.run(
            [str(python), str(CHECKS_DIR / script), *arguments],
            input=None if stdin is None else json.dumps(stdin, default=str),
            capture_output=True,
            text=True,
            cwd=airflow_home,
            env=environment,
            timeout=timeout,
            check=False,
        )
        CHECK_SECONDS[script] = CHECK_SECONDS.get(script, 0.0) + time.monotonic() - started
    if completed.returncode != 0:
        raise AssertionError(
            f"{script} {' '.join(arguments)} exited {completed.returncode}; stderr ends:\n{completed.stderr[-4000:]}"
        )
    return json.loads(completed.stdout)


def airflow_option_report(config: Mapping[str, Mapping[str, Any]], env_names: Iterable[str]) -> dict[str, Any]:
    """tests/airflow_checks/config_options.py's whole answer: `problems` and, per known option, its default and
    where it comes from (core or the provider package)."""
    request = {"config": {section: dict(options) for section, options in config.items()}, "env_names": list(env_names)}
    key = json.dumps(request, sort_keys=True, default=str)
    if key not in _OPTION_REPORTS:
        _OPTION_REPORTS[key] = run_check("config_options.py", stdin=request)
    return _OPTION_REPORTS[key]


_OPTION_REPORTS: dict[str, dict[str, Any]] = {}


def check_airflow_options(config: Mapping[str, Mapping[str, Any]], env_names: Iterable[str]) -> list[str]:
    """One human line per problem with Airflow options the deployment sets; [] when all are fine.

    `config` is chart-style (`config:` in the chart's values: section -> option -> value); `env_names` are
    environment variable names, of which only AIRFLOW__SECTION__OPTION (with Airflow's _CMD / _SECRET variants)
    name options; AIRFLOW_CONN_*, AIRFLOW_VAR_* and anything else is ignored. A problem is an unknown section or
    option (with a did-you-mean), an option deprecated or renamed in 3.x (`conf.deprecated_options`, a
    `version_deprecated` description, `airflow config lint`'s list), or a _cmd/_secret variant of an option that
    Airflow does not read that way. Options that installed providers define count as known.
    """
    return list(airflow_option_report(config, env_names)["problems"])
