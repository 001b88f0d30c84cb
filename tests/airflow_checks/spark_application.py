"""Render a SparkKubernetesOperator task of a DAG as a task pod would, and answer with what it would submit.

stdin:  {"dag_id": ..., "task_id": ..., "env": {"AIRFLOW_VAR_...": ..., "AWS_DEFAULT_REGION": ...}}
stdout: {"operator": class path, "namespace": ..., "application_file": the file named before rendering,
         "application": the SparkApplication after Jinja (the operator's own template_body["spark"]),
         "kubernetes_conn_id": ..., "delete_on_termination": ..., "reattach_on_restart": ...}

`env` is set before the DAG file is imported (the DAG reads AWS_DEFAULT_REGION at parse time). Templates are
rendered with the task's own Jinja environment (search path = the DAG's folder), and `var.value` goes through the
task SDK's secrets backends, of which environment variables are the first, as in a task pod.
"""

from __future__ import annotations

import json
import os
import sys

from _check_output import JsonAnswer


def main() -> None:
    answer = JsonAnswer()
    request = json.load(sys.stdin)
    os.environ.update(request["env"])
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.execution_time.context import VariableAccessor

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"], safe_mode=False)
    dag = bag.dags[request["dag_id"]]
    task = dag.get_task(request["task_id"])
    named_file = task.application_file
    context = {
        "params": dict(task.params.dump()),
        "var": {"value": VariableAccessor(deserialize_json=False), "json": VariableAccessor(deserialize_json=True)},
        "dag": dag,
        "task": task,
    }
    task.render_template_fields(context, jinja_env=dag.get_template_env())
    answer.send(
        {
            "operator": f"{type(task).__module__}.{type(task).__qualname__}",
            "namespace": task.namespace,
            "application_file": named_file,
            "application": task.manage_template_specs()["spark"],
            "kubernetes_conn_id": task.kubernetes_conn_id,
            "delete_on_termination": task.delete_on_termination,
            "reattach_on_restart": task.reattach_on_restart,
        }
    )


if __name__ == "__main__":
    main()
