"""Parse AIRFLOW_CONN_* values as Airflow does and show what the AWS and Kubernetes hooks make of them, as JSON.

stdin:  {"env": {"AIRFLOW_CONN_AWS_DEFAULT": "aws://", ...}}
stdout: {"connections": {conn_id: {"conn_type": ..., "extra": {...}, ...}}, "hooks": {...}}

Both the server components and task pods read these variables through
`airflow.secrets.environment_variables.EnvironmentVariablesBackend` (the workers' search path is
`airflow.sdk.execution_time.secrets.DEFAULT_SECRETS_SEARCH_PATH_WORKERS`), so that is the parser used here.
Passwords are never echoed, only whether one is set.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from unittest import mock

from _check_output import JsonAnswer

CONN_PREFIX = "AIRFLOW_CONN_"


def parse_connections(env: dict[str, str]) -> dict[str, Any]:
    from airflow.secrets.environment_variables import EnvironmentVariablesBackend

    backend = EnvironmentVariablesBackend()
    parsed: dict[str, Any] = {}
    for name in env:
        conn_id = name[len(CONN_PREFIX) :].lower()
        connection = backend.get_connection(conn_id)
        parsed[conn_id] = {
            "conn_type": connection.conn_type,
            "host": connection.host,
            "login": connection.login,
            "has_password": bool(connection.password),
            "extra": connection.extra_dejson,
        }
    return parsed


def kubernetes_hook_view() -> dict[str, Any]:
    """Which kubeconfig loader KubernetesHook().get_conn() calls for kubernetes_default, with the loaders stubbed.

    With `in_cluster` from the connection, get_conn() calls `config.load_incluster_config()` with no arguments;
    without any connection setting it falls back to `_get_default_client`, which tries in-cluster with a
    client_configuration keyword and then ~/.kube/config. Recording the call tells the two apart.
    """
    from airflow.providers.cncf.kubernetes.hooks import kubernetes as kubernetes_hook_module

    calls: list[dict[str, Any]] = []
    with (
        mock.patch.object(
            kubernetes_hook_module.config,
            "load_incluster_config",
            side_effect=lambda **kwargs: calls.append({"loader": "load_incluster_config", "kwargs": sorted(kwargs)}),
        ),
        mock.patch.object(
            kubernetes_hook_module.config,
            "load_kube_config",
            side_effect=lambda **kwargs: calls.append({"loader": "load_kube_config", "kwargs": sorted(kwargs)}),
        ),
    ):
        hook = kubernetes_hook_module.KubernetesHook()
        in_cluster_field = hook._get_field("in_cluster")
        hook.get_conn()
    return {
        "conn_id": hook.conn_id,
        "in_cluster_field": in_cluster_field,
        "is_in_cluster": hook.is_in_cluster,
        "loader_calls": calls,
    }


def aws_hook_view() -> dict[str, Any]:
    """What AwsBaseHook takes from aws_default: no static keys means boto3's default chain (Pod Identity)."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    conn_config = AwsBaseHook(aws_conn_id="aws_default").conn_config
    return {
        "conn_id": conn_config.conn_id,
        "conn_type": conn_config.conn_type,
        "region_name": conn_config.region_name,
        "role_arn": conn_config.role_arn,
        "has_static_keys": conn_config.aws_access_key_id is not None,
    }


def main(env: dict[str, str]) -> None:
    answer = JsonAnswer()
    # Only the variables under test: a developer's own AIRFLOW_CONN_* must not change the answer.
    for name in [name for name in os.environ if name.startswith(CONN_PREFIX)]:
        del os.environ[name]
    os.environ.update(env)
    connections = parse_connections({name: value for name, value in env.items() if name.startswith(CONN_PREFIX)})
    hooks = {}
    if "kubernetes_default" in connections:
        hooks["kubernetes_default"] = kubernetes_hook_view()
    if "aws_default" in connections:
        hooks["aws_default"] = aws_hook_view()
    answer.send({"connections": connections, "hooks": hooks})


if __name__ == "__main__":
    main(json.load(sys.stdin)["env"])
