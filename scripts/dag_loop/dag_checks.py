"""What the local DAG loop (scripts/dags.sh) and the DAG tests both do with the real Airflow of .venv-airflow: parse
a DAG folder as the dag-processor does (tests/airflow_checks/dag_integrity.py), and run one DAG end to end with
`dag.test()` (the script's `test`, which tests/test_dags_script.py runs).
One module, so `./scripts/dags.sh lint` passes exactly when the tests' import check does.

Import it only inside .venv-airflow, with AIRFLOW_HOME (and [core] dags_folder) set before the first call: Airflow
is imported on first use and reads its configuration then.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DAG

# Operators from these modules (or subclasses of them) talk to the Kubernetes API of the cluster the task pod runs
# in (KubernetesPodOperator, SparkKubernetesOperator, @task.kubernetes, ...): nothing local can stand in for it.
CLUSTER_OPERATOR_MODULES = ("airflow.providers.cncf.kubernetes.",)


def installed_airflow_versions() -> dict[str, str]:
    return {
        dist.metadata["Name"].lower(): dist.version
        for dist in metadata.distributions()
        if dist.metadata["Name"].lower().startswith("apache-airflow")
    }


def load_dag_bag(dag_folder: Path) -> DagBag:
    """Every file of the folder imported, every warning recorded (not only the first per location), so a
    DeprecationWarning or RemovedInAirflow*Warning a DAG file triggers lands in `captured_warnings`."""
    from airflow.dag_processing.dagbag import DagBag

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        # safe_mode=False imports every .py file, not only those that mention "dag" and "airflow": a helper module
        # that fails to import breaks the DAGs that use it just the same.
        return DagBag(dag_folder=dag_folder, safe_mode=False)


def needs_cluster(task: Any) -> bool:
    return any(klass.__module__.startswith(CLUSTER_OPERATOR_MODULES) for klass in type(task).__mro__)


def describe_folder(dag_folder: Path) -> dict[str, Any]:
    """{"files", "import_errors", "warnings", "dags", "rule_problems"} of one folder, paths relative to it."""
    dag_bag = load_dag_bag(dag_folder)

    def relative(path: str) -> str:
        return Path(path).resolve().relative_to(dag_folder.resolve()).as_posix()

    described = {
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
                        "needs_cluster": needs_cluster(task),
                    }
                    for task in dag.tasks
                },
            }
            for dag_id, dag in sorted(dag_bag.dags.items())
        },
    }
    return described | {"rule_problems": rule_problems(described["dags"])}


def rule_problems(dags: dict[str, Any]) -> list[str]:
    """The rules of dags/README.md's "Writing a DAG here" that a parsed DAG shows, one line per breach."""
    problems = []
    for dag_id, dag in dags.items():
        where = f"{dag['file']}: {dag_id}"
        if dag["start_date"] is None:
            problems.append(f"{where}: no start_date (give a fixed, timezone-aware one)")
        if dag["catchup"] is not False:
            problems.append(f"{where}: catchup is on (a new deployment would run every interval since start_date)")
        for task_id, task in dag["tasks"].items():
            if task["retries"] < 1 or task["retry_delay_seconds"] <= 0:
                # A task pod can be lost to a node scale-down or a Spot interruption: retry, do not fail the run.
                problems.append(f"{where}.{task_id}: retries {task['retries']} (at least 1, with a retry_delay)")
            if task["executor"] is not None:
                problems.append(
                    f"{where}.{task_id}: executor={task['executor']!r} (every task runs on the "
                    "deployment's KubernetesExecutor)"
                )
    return problems


def run_once(dag: DAG, *, logical_date: datetime | None) -> dict[str, Any]:
    """Run the DAG with `dag.test()` (the scheduler's dependency loop in this process, each task through the Task
    SDK runner a task pod runs, minus the pod) and describe the run. Needs a migrated metadata database and
    [core] dags_folder = the DAG's folder (its `dags-folder` bundle).

    Every task runs at most once: retries exist for task pods lost to a scale-down or a Spot interruption, and
    `dag.test()` would otherwise sit out each retry_delay before reporting a failure that will not go away.
    """
    for task in dag.tasks:
        task.retries = 0
    # No logical date is dag.test()'s own default (now), not None (Airflow 3's run without a logical date).
    dag_run = dag.test() if logical_date is None else dag.test(logical_date=logical_date)
    task_instances = sorted(
        dag_run.get_task_instances(), key=lambda ti: (ti.start_date is None, ti.start_date or 0, ti.task_id)
    )
    return {
        "dag_id": dag_run.dag_id,
        "run_id": dag_run.run_id,
        "logical_date": dag_run.logical_date.isoformat() if dag_run.logical_date else None,
        "state": str(dag_run.state),
        # In the order they ran; a task that never started (upstream failed) comes last.
        "task_states": {ti.task_id: str(ti.state) for ti in task_instances},
    }
