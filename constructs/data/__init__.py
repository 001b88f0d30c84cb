"""Data layer: Airflow's state (metadata DB, DAG file system, task-log buckets, secrets). Imports `shared` and
`network`."""
