"""A Spark job namespace: the namespace, the account its drivers and executors run as (with a Pod Identity role
that opens only its team's bucket) and the Role that lets Airflow's task pods submit and follow jobs there.

Airflow gets a namespaced Role and RoleBinding here, never a ClusterRole binding: its task pods can manage
SparkApplications in the job namespaces and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from constructs.airflow.names import NAMESPACE as AIRFLOW_NAMESPACE
from constructs.airflow.names import WORKER_SERVICE_ACCOUNT
from constructs.cluster.eks_iam import PodIdentity
from constructs.data.spark_team_buckets import SparkTeamBucket
from constructs.shared.namespaces import namespace_manifest
from constructs.spark.names import JOB_SERVICE_ACCOUNT, SUBMITTER_ROLE

# What SparkKubernetesOperator (providers-cncf-kubernetes) does in the job namespace: create the SparkApplication,
# read its status, delete it when the task ends or is killed; find, follow and read the logs of its driver pod;
# report the pod's events; and label a driver that did not succeed "already_checked" (a pod patch) so a retry does
# not reattach to it. Without that patch the failure surfaces as a 403 and the application is not deleted.
# tests/test_spark.py reads the provider's code for the Kubernetes calls it makes and checks each is granted.
SUBMITTER_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": ["sparkoperator.k8s.io"],
        "resources": ["sparkapplications"],
        "verbs": ["create", "get", "list", "watch", "patch", "delete"],
    },
    {"apiGroups": ["sparkoperator.k8s.io"], "resources": ["sparkapplications/status"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["list", "watch"]},
]


@dataclass(frozen=True, kw_only=True)
class SparkJobNamespaceProps:
    cluster: eks.ICluster
    team: SparkTeamBucket


class SparkJobNamespace(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: SparkJobNamespaceProps) -> None:
        super().__init__(scope, construct_id)
        name = props.team.namespace
        self.name = name
        labels = {"app.kubernetes.io/part-of": "spark", "spark-team": name}
        self.namespace = eks.KubernetesManifest(
            self,
            "Namespace",
            cluster=props.cluster,
            manifest=[namespace_manifest(name, labels)],
        )
        self.access = eks.KubernetesManifest(
            self,
            "Access",
            cluster=props.cluster,
            manifest=[
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": JOB_SERVICE_ACCOUNT, "namespace": name, "labels": labels},
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": {"name": SUBMITTER_ROLE, "namespace": name, "labels": labels},
                    "rules": SUBMITTER_RULES,
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": SUBMITTER_ROLE, "namespace": name, "labels": labels},
                    "subjects": [
                        {"kind": "ServiceAccount", "name": WORKER_SERVICE_ACCOUNT, "namespace": AIRFLOW_NAMESPACE}
                    ],
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SUBMITTER_ROLE},
                },
            ],
        )
        self.access.node.add_dependency(self.namespace)
        self.identity = PodIdentity(
            self,
            "JobIdentity",
            cluster=props.cluster,
            namespace=name,
            service_account=JOB_SERVICE_ACCOUNT,
            description=f"Spark drivers and executors of namespace {name}: its team bucket",
            managed_policies=[props.team.job_policy],
        )
