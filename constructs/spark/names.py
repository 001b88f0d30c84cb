"""The names the Spark Operator release, the job namespaces and the example DAG agree on, defined once."""

from __future__ import annotations

OPERATOR_NAMESPACE = "spark-operator"
RELEASE = "spark-operator"
# Drivers and executors run as this account in each job namespace; its Pod Identity role opens the team's bucket.
JOB_SERVICE_ACCOUNT = "spark-jobs"
# The Role Airflow's task pods get in each job namespace: what SparkKubernetesOperator does there, nothing more.
SUBMITTER_ROLE = "airflow-spark-submitter"
HISTORY_SERVER = "spark-history-server"
HISTORY_SERVER_PORT = 18080
