"""Spark layer: the Spark Operator, the Spark job namespaces Airflow submits to (accounts, RBAC, identities) and the
History Servers. It imports shared, data, cluster and airflow (the names of Airflow's task-pod account)."""
