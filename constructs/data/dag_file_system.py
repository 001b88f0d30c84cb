"""EFS for DAG files: encrypted, TLS-only, reachable from data clients, with an access point as the Airflow user."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs.data.security_groups import security_group_for_data_clients
from constructs.shared.lifecycle import Lifecycle

NFS_PORT = 2049
# The official Airflow image runs as uid 50000 with gid 0 (root group); DAG files must be readable by it.
AIRFLOW_UID = "50000"
AIRFLOW_GID = "0"


@dataclass(frozen=True, kw_only=True)
class DagFileSystemProps:
    vpc: ec2.IVpc
    clients: ec2.ISecurityGroup
    key: kms.IKey
    lifecycle: Lifecycle


class DagFileSystem(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: DagFileSystemProps) -> None:
        super().__init__(scope, construct_id)
        self.security_group = security_group_for_data_clients(
            self, vpc=props.vpc, clients=props.clients, port=NFS_PORT, service="Airflow DAG file system", protocol="NFS"
        )

        self.file_system = efs.FileSystem(
            self,
            "FileSystem",
            vpc=props.vpc,
            # One mount target per private subnet: wherever a node lands, its AZ has one.
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_group=self.security_group,
            encrypted=True,
            kms_key=props.key,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            throughput_mode=efs.ThroughputMode.ELASTIC,
            enable_automatic_backups=True,
            allow_anonymous_access=False,
            removal_policy=props.lifecycle.removal_policy,
        )
        # The EFS CSI driver mounts with TLS; refuse any client that does not.
        self.file_system.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyUnencryptedTransport",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["*"],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            )
        )

        self.dags_access_point = self.file_system.add_access_point(
            "DagsAccessPoint",
            path="/dags",
            create_acl=efs.Acl(owner_uid=AIRFLOW_UID, owner_gid=AIRFLOW_GID, permissions="775"),
            posix_user=efs.PosixUser(uid=AIRFLOW_UID, gid=AIRFLOW_GID),
        )
