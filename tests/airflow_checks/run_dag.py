"""Run one DAG end to end with `dag.test()` on a throwaway SQLite database and report the states, as JSON.

Usage: python run_dag.py DAG_FOLDER DAG_ID (inside .venv-airflow, with AIRFLOW_HOME set to an empty throwaway
folder: the database is created there, so nothing outside it is touched).

`dag.test()` runs the scheduler's dependency loop in this process and each task through the Task SDK runner, the
same code a KubernetesExecutor task pod runs, minus the pod. It needs the metadata tables and the DAG folder as
the `dags-folder` bundle, which is why [core] dags_folder must point at DAG_FOLDER.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from _check_output import JsonAnswer


def main(dag_folder: Path, dag_id: str) -> None:
    answer = JsonAnswer()
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dag_folder)
    started = time.monotonic()

    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.db import initdb

    initdb()  # what `airflow db migrate` does on an empty database: tables from the ORM, then stamped
    migrated = time.monotonic()

    dag = DagBag(dag_folder=dag_folder, safe_mode=False).dags[dag_id]
    dag_run = dag.test()
    finished = time.monotonic()

    answer.send(
        {
            "dag_id": dag_run.dag_id,
            "run_type": str(dag_run.run_type),
            "state": str(dag_run.state),
            "task_states": {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()},
            "try_numbers": {ti.task_id: ti.try_number for ti in dag_run.get_task_instances()},
            "seconds": {"migrate": round(migrated - started, 2), "dag_test": round(finished - migrated, 2)},
        }
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
