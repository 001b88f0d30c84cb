"""Airflow layer: the Airflow release on the cluster and what it needs there (namespace, pod identities,
ExternalSecrets, the DAG volume and its delivery, the ingress). It imports shared, network, data and cluster."""
