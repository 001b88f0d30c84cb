"""A Spark History Server per job namespace: the UI of finished (and running) applications, read from the event logs
in the team's bucket with a read-only Pod Identity role. It runs on the core nodes; reach it with
`kubectl port-forward` (README "Running the Spark example").

It does not delete old logs (its cleaner is off): the bucket's lifecycle rule expires them, so the server needs
no write access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from config.settings import SparkVersion
from constructs.cluster.eks_cluster import CORE_NODE_LABELS
from constructs.cluster.eks_iam import PodIdentity
from constructs.data.spark_team_buckets import EVENT_LOGS_PREFIX, SparkTeamBucket
from constructs.spark.names import HISTORY_SERVER, HISTORY_SERVER_PORT
from constructs.spark.s3a import (
    CREDENTIALS_PROVIDER,
    JARS_DIR,
    JARS_VOLUME,
    RESTRICTED_CONTAINER,
    SPARK_UID,
    fetch_jars_container,
)

HISTORY_SERVER_CLASS = "org.apache.spark.deploy.history.HistoryServer"


@dataclass(frozen=True, kw_only=True)
class SparkHistoryServerProps:
    cluster: eks.ICluster
    namespace: eks.KubernetesManifest
    team: SparkTeamBucket
    spark: SparkVersion
    region: str


class SparkHistoryServer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: SparkHistoryServerProps) -> None:
        super().__init__(scope, construct_id)
        namespace = props.team.namespace
        self.identity = PodIdentity(
            self,
            "Identity",
            cluster=props.cluster,
            namespace=namespace,
            service_account=HISTORY_SERVER,
            description=f"Spark History Server of namespace {namespace}: reads its event logs",
            managed_policies=[props.team.history_policy],
        )
        self.workload = eks.KubernetesManifest(
            self, "Workload", cluster=props.cluster, manifest=history_server_manifests(props)
        )
        # The association first, so the server's first S3 call already has its credentials.
        self.workload.node.add_dependency(props.namespace, self.identity)


def history_server_manifests(props: SparkHistoryServerProps) -> list[dict[str, Any]]:
    namespace = props.team.namespace
    labels = {"app.kubernetes.io/name": HISTORY_SERVER, "app.kubernetes.io/part-of": "spark"}
    options = {
        "spark.history.fs.logDirectory": f"s3a://{props.team.bucket.bucket_name}/{EVENT_LOGS_PREFIX}/",
        "spark.history.ui.port": str(HISTORY_SERVER_PORT),
        "spark.history.fs.cleaner.enabled": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider": CREDENTIALS_PROVIDER,
        "spark.hadoop.fs.s3a.endpoint.region": props.region,
    }
    container = {
        "name": "history-server",
        "image": props.spark.image,
        "command": ["/opt/spark/bin/spark-class", HISTORY_SERVER_CLASS],
        "env": [
            {"name": "SPARK_HISTORY_OPTS", "value": " ".join(f"-D{key}={value}" for key, value in options.items())},
            {"name": "SPARK_DAEMON_CLASSPATH", "value": f"{JARS_DIR}/*"},
            {"name": "SPARK_DAEMON_MEMORY", "value": "768m"},
        ],
        "ports": [{"name": "http", "containerPort": HISTORY_SERVER_PORT}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 10},
        # A 768 MiB heap plus metaspace for the ~600 MB SDK bundle on the classpath.
        "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"memory": "1536Mi"}},
        "securityContext": RESTRICTED_CONTAINER,
        "volumeMounts": [
            {"name": JARS_VOLUME, "mountPath": JARS_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": HISTORY_SERVER, "namespace": namespace, "labels": labels},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": HISTORY_SERVER, "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": HISTORY_SERVER}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": HISTORY_SERVER,
                        "nodeSelector": dict(CORE_NODE_LABELS),
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": SPARK_UID,
                            "runAsGroup": SPARK_UID,
                            "fsGroup": SPARK_UID,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "initContainers": [fetch_jars_container(props.spark)],
                        "containers": [container],
                        "volumes": [
                            {"name": JARS_VOLUME, "emptyDir": {"sizeLimit": "2Gi"}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": HISTORY_SERVER, "namespace": namespace, "labels": labels},
            "spec": {
                "selector": {"app.kubernetes.io/name": HISTORY_SERVER},
                "ports": [{"name": "http", "port": HISTORY_SERVER_PORT, "targetPort": "http"}],
            },
        },
    ]
