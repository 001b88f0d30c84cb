"""The Airflow Helm release: helm_values/airflow.yaml plus the values only the stacks know.

Everything computed here is a name another construct also uses (secrets, service accounts, the DAG claim), a
placement read from config (core nodes, the task NodePool), or a deploy-time value (log bucket, region). The
chart is told each name instead of deriving it, so the cross-checks in the tests compare like with like.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config.settings import AirflowConfig, AirflowVersion, HelmChartVersion, NodePoolConfig
from constructs.airflow.names import (
    ADMIN_PASSWORD_ENV,
    ADMIN_PASSWORD_SECRET,
    API_SECRET_KEY_SECRET,
    API_SERVER,
    CHART_ACCOUNTS,
    DAGS_CLAIM,
    DAGS_CURRENT,
    DAGS_MOUNT_PATH,
    FERNET_KEY_SECRET,
    JWT_SECRET,
    METADATA_ASYNC_KEY,
    METADATA_SECRET,
    NAMESPACE,
    RELEASE,
    SCHEDULER,
    WORKER_SERVICE_ACCOUNT,
)
from constructs.shared.helm_release import helm_release
from constructs.shared.helm_values import chart_values

# Under the kubectl handler's own 15-minute Lambda limit, so a stuck install fails with Helm's error instead of the
# handler being killed silently (CloudFormation would then wait an hour). A fresh install takes a few minutes.
RELEASE_TIMEOUT = cdk.Duration.minutes(13)
KARPENTER_NODEPOOL_LABEL = "karpenter.sh/nodepool"

# Connections every Airflow container gets from the environment, so nobody creates them in the UI:
# `aws_default` with no keys makes boto3 use the pod's Pod Identity credentials (remote logging uses it), and
# `kubernetes_default` talks to the cluster the pod runs in with its own service account.
AWS_DEFAULT_CONNECTION = "aws://"
KUBERNETES_DEFAULT_CONNECTION = json.dumps({"conn_type": "kubernetes", "extra": {"in_cluster": True}})


@dataclass(frozen=True, kw_only=True)
class AirflowReleaseProps:
    cluster: eks.ICluster
    chart: HelmChartVersion
    airflow: AirflowVersion
    settings: AirflowConfig
    # The ALB's nodes connect from inside the VPC: the api-server trusts X-Forwarded-* from there only.
    vpc_cidr: str
    # Where the Airflow components run (the core node group's labels) and the pool task pods run on.
    core_node_labels: Mapping[str, str]
    task_node_pool: NodePoolConfig
    logs_bucket: s3.IBucket
    logs_prefix: str
    # Airflow Variable name -> value, set on every Airflow pod as AIRFLOW_VAR_<NAME> (e.g. each Spark team
    # bucket's name, which DAGs read as {{ var.value.<name> }}).
    variables: Mapping[str, str]
    # Namespace, accounts, secrets, volume, identities and DAGs the release's pods need when they start.
    after: Sequence[Construct]


class AirflowRelease(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AirflowReleaseProps) -> None:
        super().__init__(scope, construct_id)
        self.values = chart_values(props.chart.chart, computed_values(props, region=cdk.Stack.of(self).region))
        self.chart = helm_release(
            self,
            "Chart",
            cluster=props.cluster,
            chart=props.chart,
            release=RELEASE,
            namespace=NAMESPACE,
            values=self.values,
            timeout=RELEASE_TIMEOUT,
        )
        self.chart.node.add_dependency(*props.after)


def computed_values(props: AirflowReleaseProps, *, region: str) -> dict[str, Any]:
    settings = props.settings
    return {
        "airflowVersion": props.airflow.version,
        "defaultAirflowRepository": props.airflow.image_repository,
        "defaultAirflowTag": props.airflow.image_tag,
        # Every Airflow component on the core nodes; task pods override it below.
        "nodeSelector": dict(props.core_node_labels),
        "data": {"metadataSecretName": METADATA_SECRET.name},
        "fernetKeySecretName": FERNET_KEY_SECRET.name,
        "apiSecretKeySecretName": API_SECRET_KEY_SECRET.name,
        "jwtSecretName": JWT_SECRET.name,
        "secret": [
            {
                "envName": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
                "secretName": METADATA_SECRET.name,
                "secretKey": METADATA_ASYNC_KEY,
            }
        ],
        "env": [
            {"name": "AIRFLOW_CONN_AWS_DEFAULT", "value": AWS_DEFAULT_CONNECTION},
            {"name": "AIRFLOW_CONN_KUBERNETES_DEFAULT", "value": KUBERNETES_DEFAULT_CONNECTION},
            # Pod Identity supplies credentials, not a region; boto3 needs one for S3.
            {"name": "AWS_DEFAULT_REGION", "value": region},
            *(
                {"name": f"AIRFLOW_VAR_{name.upper()}", "value": value}
                for name, value in sorted(props.variables.items())
            ),
        ],
        **_components(settings, vpc_cidr=props.vpc_cidr),
        "workers": _task_pods(props.task_node_pool),
        "createUserJob": _create_user_job(),
        "dags": _dags(settings),
        "config": _airflow_config(settings, props.logs_bucket, props.logs_prefix),
    }


def _components(settings: AirflowConfig, *, vpc_cidr: str) -> dict[str, Any]:
    replicas = {API_SERVER.values_key: settings.api_server_replicas, SCHEDULER.values_key: settings.scheduler_replicas}
    values: dict[str, Any] = {}
    for account in CHART_ACCOUNTS:
        component: dict[str, Any] = {"serviceAccount": {"create": True, "name": account.service_account}}
        if account.values_key in replicas:
            component["replicas"] = replicas[account.values_key]
            # A budget only means something with a second replica to keep serving.
            component["podDisruptionBudget"] = {"enabled": replicas[account.values_key] > 1}
        values[account.values_key] = component
    # Behind the ALB: redirects and links use the scheme and host users opened (HTTPS), not the pod's.
    values[API_SERVER.values_key] |= {
        "args": ["bash", "-c", "exec airflow api-server --proxy-headers"],
        "env": [{"name": "FORWARDED_ALLOW_IPS", "value": vpc_cidr}],
    }
    return values


def _task_pods(pool: NodePoolConfig) -> dict[str, Any]:
    service_account = {"create": False, "name": WORKER_SERVICE_ACCOUNT}
    return {
        # Both keys name the app's account: the KubernetesExecutor pod template reads the first, older chart
        # versions the second.
        "serviceAccount": service_account,
        "kubernetes": {
            "serviceAccount": service_account,
            "nodeSelector": {KARPENTER_NODEPOOL_LABEL: pool.name, **pool.labels},
            "tolerations": [
                {"key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect}
                for taint in pool.taints
            ],
        },
    }


def _create_user_job() -> dict[str, Any]:
    """The chart's `airflow users create` call, with the password read from the admin-password Secret at run time
    instead of the chart's `defaultUser.password` value (which would sit in the Job's spec in clear text)."""
    user = "{{ .Values.createUserJob.defaultUser.%s }}"
    return {
        "args": [
            "bash",
            "-c",
            # Without Helm hooks this Job starts beside the migration Job: wait for the schema first, as long as
            # every component's init container does (the chart renders these args as a template).
            "airflow db check-migrations --migration-wait-timeout={{ .Values.images.migrationsWaitTimeout }} && "
            f'exec airflow users create "$@" --password "${ADMIN_PASSWORD_ENV}"',
            "--",
            "--role",
            user % "role",
            "--username",
            user % "username",
            "--email",
            user % "email",
            "--firstname",
            user % "firstName",
            "--lastname",
            user % "lastName",
        ],
        "env": [
            {
                "name": ADMIN_PASSWORD_ENV,
                "valueFrom": {"secretKeyRef": {"name": ADMIN_PASSWORD_SECRET.name, "key": ADMIN_PASSWORD_SECRET.key}},
            }
        ],
    }


def _dags(settings: AirflowConfig) -> dict[str, Any]:
    dags: dict[str, Any] = {
        "mountPath": DAGS_MOUNT_PATH,
        "persistence": {"enabled": True, "existingClaim": DAGS_CLAIM, "accessMode": "ReadWriteMany"},
    }
    git_sync = settings.dags.git_sync
    if git_sync is not None:
        # The chart runs git-sync beside the dag-processor, writing into the same claim the task pods mount.
        dags["gitSync"] = {
            "enabled": True,
            "repo": git_sync.repository,
            "branch": git_sync.branch,
            "ref": git_sync.branch,
            "subPath": git_sync.sub_path,
            "period": git_sync.period,
        }
    return dags


def _airflow_config(settings: AirflowConfig, logs_bucket: s3.IBucket, logs_prefix: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "logging": {"remote_base_log_folder": f"s3://{logs_bucket.bucket_name}/{logs_prefix}"},
    }
    if settings.dags.source == "deploy":
        # The deploy swaps this symlink to a complete copy of dags/, so a DAG's path never changes.
        config["core"] = {"dags_folder": f"{DAGS_MOUNT_PATH}/{DAGS_CURRENT}"}
    if settings.ingress.base_url is not None:
        # Links and redirects the api-server builds must use the name users open, over HTTPS.
        config["api"] = {"base_url": settings.ingress.base_url}
    return config
