"""A scheduled hello-world DAG: the smallest proof that scheduling, task pods and task logs work end to end.

Parity with data-on-eks' `hello_world_scheduled_dag` (say_hello >> say_goodbye, tags aws/demo), rewritten for
Airflow 3: the Task SDK's TaskFlow API instead of BashOperator, and a fixed timezone-aware start date instead of
the removed `days_ago`. Each task is plain Python, so under the KubernetesExecutor it runs as its own pod from the
Airflow image and needs nothing from the cluster beyond that.
"""

from __future__ import annotations

import platform
import socket
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="hello_world_scheduled_dag",
    description="Scheduled hello world: one small task pod per task",
    # Once a day at 01:00 UTC. data-on-eks' "* 1 * * *" fires every minute of that hour; once is what it means, and
    # it lets the airflow-tasks node pool scale back to zero in between.
    schedule="0 1 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    # A new deployment runs the latest interval only, not one run per day since start_date.
    catchup=False,
    default_args={
        "owner": "airflow",
        # A task pod can be lost to a node scale-down or a Spot interruption; retry instead of failing the run.
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
    },
    tags=["aws", "demo"],
)
def hello_world_scheduled_dag() -> None:
    @task
    def say_hello() -> str:
        greeting = "hello from Airflow on EKS"
        print(greeting)
        return greeting  # an XCom, so say_goodbye proves task-to-task data passing through the API server

    @task
    def report_worker() -> dict[str, str]:
        # On the KubernetesExecutor the hostname is the task pod's name, which ties a task log to its pod.
        worker = {"hostname": socket.gethostname(), "python": platform.python_version()}
        print(f"running on {worker['hostname']} (Python {worker['python']})")
        return worker

    @task
    def say_goodbye(greeting: str, worker: dict[str, str]) -> None:
        print(f"goodbye, after {greeting!r}; report_worker ran on {worker['hostname']}")

    say_goodbye(say_hello(), report_worker())


hello_world_scheduled_dag()
