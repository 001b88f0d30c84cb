"""The `airflow` namespace and the service account Airflow's task pods run as, both owned by the app."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from constructs.airflow.names import NAMESPACE, WORKER_SERVICE_ACCOUNT
from constructs.shared.namespaces import namespace_manifest


@dataclass(frozen=True, kw_only=True)
class AirflowNamespaceProps:
    cluster: eks.ICluster


class AirflowNamespace(Construct):
    """Everything else in `airflow` depends on `namespace`, so `cdk destroy` deletes the namespace last, after
    the release and the app's objects in it, and none is left behind."""

    def __init__(self, scope: Construct, construct_id: str, *, props: AirflowNamespaceProps) -> None:
        super().__init__(scope, construct_id)
        self.namespace = eks.KubernetesManifest(
            self,
            "Namespace",
            cluster=props.cluster,
            manifest=[namespace_manifest(NAMESPACE)],
        )
        # Task pods' account is the app's, not the chart's: its Pod Identity association names a fixed account,
        # whatever the chart's version does with `workers.kubernetes.serviceAccount`.
        self.worker_service_account = eks.KubernetesManifest(
            self,
            "WorkerServiceAccount",
            cluster=props.cluster,
            manifest=[
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {
                        "name": WORKER_SERVICE_ACCOUNT,
                        "namespace": NAMESPACE,
                        "labels": {"app.kubernetes.io/part-of": "airflow", "component": "worker"},
                    },
                }
            ],
        )
        self.worker_service_account.node.add_dependency(self.namespace)
