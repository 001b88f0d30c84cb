"""Bad `airflow` input (config/settings/airflow.py, and its checks against the app root in app.py) stops synth
with one clear line naming the key, before anything is created."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config_edits import ALTERNATIVE_CERTIFICATE, config_error, delete_key, set_key

CERTIFICATE = ALTERNATIVE_CERTIFICATE

AIRFLOW_BAD_INPUTS = [
    # (env, edits, expected message fragment)
    ("dev", [delete_key("airflow.task_node_pool")], "dev.yaml: airflow.task_node_pool: is required"),
    (
        "dev",
        [set_key("airflow.task_node_pool", "gpu")],
        "dev.yaml: airflow.task_node_pool: 'gpu' is not a NodePool in cluster.karpenter.node_pools "
        "(spark-compute-optimized, airflow-tasks)",
    ),
    (
        "dev",
        [set_key("airflow.api_server_replicas", 0)],
        "dev.yaml: airflow.api_server_replicas: Input should be greater than or equal to 1 (got 0)",
    ),
    ("dev", [set_key("airflow.ingress.scheme", "public")], "dev.yaml: airflow.ingress.scheme: Input should be"),
    (
        "dev",
        [set_key("airflow.ingress.scheme", "internet-facing")],
        "dev.yaml: airflow.ingress: an internet-facing ALB needs certificate_arn (and host)",
    ),
    (
        "dev",
        [
            set_key("airflow.ingress.scheme", "internet-facing"),
            set_key("airflow.ingress.certificate_arn", CERTIFICATE),
            set_key("airflow.ingress.host", "airflow.example.com"),
        ],
        "dev.yaml: airflow.ingress.scheme: internet-facing needs allowed_ingress_cidrs",
    ),
    (
        "dev",
        [set_key("airflow.ingress.certificate_arn", CERTIFICATE)],
        "dev.yaml: airflow.ingress: certificate_arn needs host",
    ),
    (
        "dev",
        [set_key("airflow.ingress.certificate_arn", "arn:aws:iam::111122223333:server-certificate/x")],
        "dev.yaml: airflow.ingress.certificate_arn: String should match pattern",
    ),
    (
        "dev",
        [
            set_key("airflow.ingress.certificate_arn", CERTIFICATE.replace("us-west-2", "us-east-1")),
            set_key("airflow.ingress.host", "airflow.example.com"),
        ],
        "dev.yaml: airflow.ingress.certificate_arn: is in region us-east-1, not us-west-2",
    ),
    (
        "dev",
        [set_key("airflow.ingress.host", "https://airflow.example.com")],
        "dev.yaml: airflow.ingress.host: String should match pattern",
    ),
    (
        "dev",
        [set_key("airflow.dags.source", "git_sync")],
        "dev.yaml: airflow.dags: source git_sync needs a git_sync section",
    ),
    (
        "dev",
        [set_key("airflow.dags.git_sync", {"repository": "https://example.com/dags.git", "branch": "main"})],
        "dev.yaml: airflow.dags: git_sync is set but source is deploy",
    ),
    (
        "dev",
        [
            set_key("airflow.dags.source", "git_sync"),
            set_key("airflow.dags.git_sync", {"repository": "git@example.com:dags.git", "branch": "main"}),
        ],
        "dev.yaml: airflow.dags.git_sync.repository: String should match pattern",
    ),
    ("prod", [set_key("airflow.api_server_replicas", 1)], "prod.yaml: airflow.api_server_replicas: must be at least 2"),
    ("prod", [set_key("airflow.scheduler_replicas", 1)], "prod.yaml: airflow.scheduler_replicas: must be at least 2"),
]


@pytest.mark.parametrize(
    ("env", "edits", "expected"), AIRFLOW_BAD_INPUTS, ids=[case[2][:60] for case in AIRFLOW_BAD_INPUTS]
)
def test_bad_airflow_input_is_one_clear_line(tmp_path: Path, env: str, edits: list, expected: str) -> None:
    message = config_error(env, *edits, tmp_path=tmp_path)
    assert "\n" not in message
    assert expected in message, message
