"""Parse every file of DAG folders the way the dag-processor does and describe what it found, as JSON.

Usage: python dag_integrity.py DAG_FOLDER... (inside .venv-airflow, with AIRFLOW_HOME set to a throwaway folder).
Answers {"versions": {distribution: version}, "folders": {DAG_FOLDER: {"files", "import_errors", "warnings",
"dags"}}}; several folders share one interpreter start-up.

Every warning is recorded, not only the first per location, so a DeprecationWarning or RemovedInAirflow*Warning
that a DAG file triggers shows up under `warnings` and the test fails on it, as it does on an import error.
"""

from __future__ import annotations

import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from _check_output import JsonAnswer


def installed_airflow_versions() -> dict[str, str]:
    return {
        dist.metadata["Name"].lower(): dist.version
        for dist in metadata.distributions()
        if dist.metadata["Name"].lower().startswith("apache-airflow")
    }


def describe_folder(dag_folder: Path) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    # safe_mode=False imports every .py file, not only those that mention "dag" and "airflow": a helper module that
    # fails to import breaks the DAGs that use it just the same.
    dag_bag = DagBag(dag_folder=dag_folder, safe_mode=False)

    def relative(path: str) -> str:
        return Path(path).resolve().relative_to(dag_folder.resolve()).as_posix()

    return {
        "files": sorted(stat.file for stat in dag_bag.dagbag_stats),
        "import_errors": {relative(path): error for path, error in dag_bag.import_errors.items()},
        "warnings": {relative(path): list(found) for path, found in dag_bag.captured_warnings.items()},
        "dags": {
            dag_id: {
                "file": relative(dag.fileloc),
                "schedule": dag.schedule if isinstance(dag.schedule, str | None) else repr(dag.schedule),
                "timetable": type(dag.timetable).__name__,
                "catchup": dag.catchup,
                "tags": sorted(dag.tags),
                "start_date": dag.start_date.isoformat() if dag.start_date else None,
                "tasks": {
                    task.task_id: {
                        "retries": task.retries,
                        "retry_delay_seconds": task.retry_delay.total_seconds(),
                        "executor": task.executor,
                        "operator": type(task).__name__,
                    }
                    for task in dag.tasks
                },
            }
            for dag_id, dag in sorted(dag_bag.dags.items())
        },
    }


def main(dag_folders: list[Path]) -> None:
    answer = JsonAnswer()
    warnings.simplefilter("always")
    answer.send(
        {
            "versions": installed_airflow_versions(),
            "folders": {str(folder): describe_folder(folder) for folder in dag_folders},
        }
    )


if __name__ == "__main__":
    main([Path(argument) for argument in sys.argv[1:]])
