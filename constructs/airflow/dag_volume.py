"""The DAG volume: the data layer's EFS access point as a ReadWriteMany claim `airflow-dags` in `airflow`.

The volume is provisioned statically (a PersistentVolume naming the file system and access point), so the claim
always binds to the data layer's `/dags` directory and nothing is created or deleted in EFS by Kubernetes. EFS
grants mounts only to IAM-authenticated clients (the file system policy denies anonymous access), so the CSI
driver mounts with `iam`, and the nodes that mount it (core nodes and Karpenter's) may mount this access point.

When `cdk deploy` delivers the DAGs, pods only read them: the volume mounts read-only (`ro`), so no task's code can
change the files the dag-processor and every other task run. git-sync writes, so then it mounts read-write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_efs as efs
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs.airflow.names import DAGS_CLAIM, DAGS_STORAGE_CLASS, NAMESPACE

EFS_CSI_DRIVER = "efs.csi.aws.com"
# EFS has no size; Kubernetes requires one on a volume and its claim.
NOMINAL_CAPACITY = "5Gi"


@dataclass(frozen=True, kw_only=True)
class DagVolumeProps:
    cluster: eks.ICluster
    namespace: eks.KubernetesManifest
    file_system: efs.IFileSystem
    access_point: efs.IAccessPoint
    # The roles of every node that may run a pod mounting the volume.
    node_roles: Sequence[iam.IRole]
    # True when the deploy delivers the DAGs (no pod writes them); False for git-sync, which writes them.
    read_only: bool


class DagVolume(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: DagVolumeProps) -> None:
        super().__init__(scope, construct_id)
        self.storage_class = eks.KubernetesManifest(
            self,
            "StorageClass",
            cluster=props.cluster,
            manifest=[
                {
                    "apiVersion": "storage.k8s.io/v1",
                    "kind": "StorageClass",
                    # No parameters: only statically provisioned volumes use it, so a claim without a matching
                    # volume stays Pending instead of creating access points nobody deletes.
                    "metadata": {"name": DAGS_STORAGE_CLASS},
                    "provisioner": EFS_CSI_DRIVER,
                    "reclaimPolicy": "Retain",
                    "volumeBindingMode": "Immediate",
                }
            ],
        )
        self.mount_policy = iam.Policy(
            self,
            "NodesMountDags",
            roles=list(props.node_roles),
            statements=[
                iam.PolicyStatement(
                    actions=["elasticfilesystem:ClientMount"]
                    + ([] if props.read_only else ["elasticfilesystem:ClientWrite"]),
                    resources=[props.file_system.file_system_arn],
                    conditions={
                        "StringEquals": {"elasticfilesystem:AccessPointArn": props.access_point.access_point_arn}
                    },
                )
            ],
        )
        self.claim = eks.KubernetesManifest(
            self,
            "Claim",
            cluster=props.cluster,
            manifest=[self._volume(props), _claim()],
        )
        self.claim.node.add_dependency(props.namespace, self.storage_class, self.mount_policy)

    @staticmethod
    def _volume(props: DagVolumeProps) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"{NAMESPACE}-{DAGS_CLAIM}"},
            "spec": {
                "capacity": {"storage": NOMINAL_CAPACITY},
                "accessModes": ["ReadWriteMany"],
                "volumeMode": "Filesystem",
                # Deleting the claim never deletes DAG files; the file system's own removal policy decides.
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": DAGS_STORAGE_CLASS,
                # Reserved for the claim below, so no other claim can bind it first.
                "claimRef": {"namespace": NAMESPACE, "name": DAGS_CLAIM},
                "mountOptions": ["iam", "ro"] if props.read_only else ["iam"],
                "csi": {
                    "driver": EFS_CSI_DRIVER,
                    "volumeHandle": f"{props.file_system.file_system_id}::{props.access_point.access_point_id}",
                    "volumeAttributes": {"encryptInTransit": "true"},
                },
            },
        }


def _claim() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": DAGS_CLAIM, "namespace": NAMESPACE},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": DAGS_STORAGE_CLASS,
            "volumeName": f"{NAMESPACE}-{DAGS_CLAIM}",
            "resources": {"requests": {"storage": NOMINAL_CAPACITY}},
        },
    }
