"""Parse every file of DAG folders the way the dag-processor does and describe what it found, as JSON.

Usage: python dag_integrity.py DAG_FOLDER... (inside .venv-airflow, with AIRFLOW_HOME set to a throwaway folder).
Answers {"versions": {distribution: version}, "folders": {DAG_FOLDER: {"files", "import_errors", "warnings",
"dags"}}}; several folders share one interpreter start-up. The checks are scripts/dag_loop/dag_checks.py's, the
ones `./scripts/dags.sh lint` runs, so the tests and the DAG author's loop cannot disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _check_output import JsonAnswer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "dag_loop"))
from dag_checks import describe_folder, installed_airflow_versions  # noqa: E402


def main(dag_folders: list[Path]) -> None:
    answer = JsonAnswer()
    answer.send(
        {
            "versions": installed_airflow_versions(),
            "folders": {str(folder): describe_folder(folder) for folder in dag_folders},
        }
    )


if __name__ == "__main__":
    main([Path(argument) for argument in sys.argv[1:]])
