"""Bad `spark` input (config/settings/spark.py, and its checks against the cluster section in app.py) stops synth
with one clear line naming the key, before anything is created."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config_edits import config_error, config_with, delete_key, set_key

SPARK_BAD_INPUTS = [
    # (env, edits, expected message fragment)
    ("dev", [delete_key("spark")], "dev.yaml: spark: is required"),
    ("dev", [set_key("spark.job_namespaces", [])], "dev.yaml: spark.job_namespaces: List should have at least 1"),
    (
        "dev",
        [set_key("spark.job_namespaces", ["airflow"])],
        "dev.yaml: spark.job_namespaces: [0]: 'airflow' is a namespace the app or Kubernetes already uses",
    ),
    (
        "dev",
        [set_key("spark.job_namespaces", ["spark-team-a", "spark-team-a"])],
        "dev.yaml: spark.job_namespaces: [1]: 'spark-team-a' is listed twice",
    ),
    ("dev", [set_key("spark.job_namespaces", ["Team_A"])], "dev.yaml: spark.job_namespaces[0]: String should match"),
    (
        "dev",
        [set_key("spark.node_pool", "gpu")],
        "dev.yaml: spark.node_pool: 'gpu' is not a NodePool in cluster.karpenter.node_pools",
    ),
    (
        "prod",
        [
            lambda data: data["cluster"]["karpenter"]["node_pools"][0]["requirements"].update(
                {"karpenter.sh/capacity-type": ["spot"]}
            )
        ],
        "prod.yaml: spark.node_pool: NodePool 'spark-compute-optimized' does not allow capacity type on-demand",
    ),
    (
        "dev",
        [set_key("spark.event_log_expiry_days", 0)],
        "dev.yaml: spark.event_log_expiry_days: Input should be greater than or equal to 1",
    ),
    ("dev", [delete_key("spark.history_server.enabled")], "dev.yaml: spark.history_server.enabled: is required"),
]


@pytest.mark.parametrize(("env", "edits", "expected"), SPARK_BAD_INPUTS, ids=[c[2][:60] for c in SPARK_BAD_INPUTS])
def test_bad_spark_input_is_one_clear_line(tmp_path: Path, env: str, edits: list, expected: str) -> None:
    message = config_error(env, *edits, tmp_path=tmp_path)
    assert "\n" not in message
    assert expected in message, message


def test_the_pool_checks_apply_only_with_the_spark_operator(tmp_path: Path) -> None:
    config = config_with(
        "dev", set_key("features.spark_operator", False), set_key("spark.node_pool", "gpu"), tmp_path=tmp_path
    )
    assert config.spark_node_pool is None
