"""Spark on Airflow: submits Spark's PySpark Pi example to the Spark Operator and waits for it to finish.

Parity with data-on-eks' `example_pyspark_pi_job`, made current and scoped: Spark 4 on Apache's own image, the
SparkApplication in `example_pyspark_pi_job.yaml` beside this file, the driver on on-demand and the executors on
Spot nodes of the `spark-compute-optimized` NodePool, and event logs in the team's own bucket. Airflow's task pod
may touch SparkApplications and their pods in `spark-team-a` only (a namespaced Role, no cluster-wide binding).

The team bucket's name reaches the YAML as the Airflow Variable `spark_team_a_bucket`, which the deployment sets
on every Airflow pod (AIRFLOW_VAR_SPARK_TEAM_A_BUCKET); the region as a param from the pod's AWS_DEFAULT_REGION.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import SparkKubernetesOperator
from airflow.sdk import DAG

# The job namespace (config `spark.job_namespaces`). Passed to the operator explicitly: its `namespace` argument,
# not the YAML's metadata.namespace, decides where the application is created (the default is "default").
SPARK_NAMESPACE = "spark-team-a"

with DAG(
    dag_id="example_pyspark_pi_job",
    description="PySpark Pi on the Spark Operator: driver on-demand, executors on Spot",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={
        "owner": "airflow",
        # A failed driver fails the task, which deletes its application: the retry resubmits the whole job.
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
    },
    # Read once at parse time from the pod's environment (the release sets it), never a network call.
    params={"aws_region": os.environ.get("AWS_DEFAULT_REGION", "")},
    tags=["spark", "demo"],
) as dag:
    SparkKubernetesOperator(
        task_id="pyspark_pi",
        application_file="example_pyspark_pi_job.yaml",
        namespace=SPARK_NAMESPACE,
        kubernetes_conn_id="kubernetes_default",
        # Follow the driver's log into the task log, then delete the application (its driver and executors).
        get_logs=True,
        delete_on_termination=True,
        # A retried task finds the driver its previous try started instead of submitting a second job.
        reattach_on_restart=True,
    )
