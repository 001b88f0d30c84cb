"""DAG delivery: every `cdk deploy` puts the repo's dags/ onto the DAG file system, with no other step.

dags/ becomes a CDK asset; a custom resource carries its hash, so any change to dags/ is an Update, and a Lambda
that mounts the data layer's `/dags` access point extracts it to `releases/<hash>` and swaps the `current`
symlink Airflow reads (constructs/data/dag_delivery_handler/ explains the layout). It runs in the private
subnets as a data client, the only way to reach the file system's mount targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from constructs.shared.acknowledgments import CT_LAMBDA_IN_VPC, acknowledge, wildcard_permission_findings
from constructs.shared.handler_role import handler_logs_and_role, python_handler
from constructs.shared.lifecycle import Lifecycle

DAG_DELIVERY_HANDLER_DIR = Path(__file__).resolve().parent / "dag_delivery_handler"
# The repository's DAG folder, which every deploy delivers.
DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
# The symlink readers open: it always points at a complete release (the handler's CURRENT_LINK).
CURRENT_LINK = "current"
# Where the function sees the access point's root; Airflow mounts the same root at /opt/airflow/dags.
MOUNT_PATH = "/mnt/dags"
# Byproducts of running or testing DAGs locally, never DAG files.
DAGS_EXCLUDE = ["__pycache__", "*.pyc", ".pytest_cache"]
PRIVATE_SUBNETS = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)


@dataclass(frozen=True, kw_only=True)
class DagDeliveryProps:
    dags_dir: Path
    vpc: ec2.IVpc
    # The data-clients group, which the file system admits on NFS 2049.
    security_group: ec2.ISecurityGroup
    # The data layer's /dags access point (posix user 50000:0).
    access_point: efs.IAccessPoint
    # Encrypts the function's log group.
    key: kms.IKey
    lifecycle: Lifecycle


class DagDelivery(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: DagDeliveryProps) -> None:
        super().__init__(scope, construct_id)
        dags = s3_assets.Asset(self, "DagsArchive", path=str(props.dags_dir), exclude=DAGS_EXCLUDE)
        network_interfaces = self._network_interface_policy(props)
        log_group, role = handler_logs_and_role(
            self,
            logs_id="DeliveryLogs",
            role_id="DeliveryRole",
            key=props.key,
            lifecycle=props.lifecycle,
            description="Copies the repo's DAGs from their deploy asset onto the DAG file system",
            # The EC2 actions of the AWS-managed VPC execution policy, each on the narrowest resource.
            inline_policies={"AttachToVpc": network_interfaces},
        )
        # This one archive, not the whole asset bucket `Asset.grant_read` would open (every asset of the account).
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[dags.bucket.arn_for_objects(dags.s3_object_key)])
        )

        self.function = python_handler(
            self,
            "DeliveryFunction",
            handler_dir=DAG_DELIVERY_HANDLER_DIR,
            role=role,
            log_group=log_group,
            vpc=props.vpc,
            vpc_subnets=PRIVATE_SUBNETS,
            security_groups=[props.security_group],
            filesystem=_access_point_mount(props.access_point),
            timeout=cdk.Duration.minutes(5),
            # Memory buys CPU and network for the download; /tmp holds the archive while it is extracted.
            memory_size=1024,
            ephemeral_storage_size=cdk.Size.mebibytes(1024),
            # No reserved concurrency: CloudFormation sends one request at a time per resource, and reserving
            # any fails on accounts whose concurrency quota is still the new-account 10.
            # CloudFormation invokes asynchronously; a retry after a timeout (already reported FAILED) would deliver
            # behind CloudFormation's back, possibly after the rollback's own delivery.
            retry_attempts=0,
            description="Deploy-time delivery of the repo's dags/ onto the Airflow DAG file system",
        )
        self.custom_resource = cdk.CustomResource(
            self,
            "DagsRelease",
            service_token=self.function.function_arn,
            resource_type="Custom::AirflowDagDelivery",
            properties={
                "AssetBucket": dags.s3_bucket_name,
                "AssetKey": dags.s3_object_key,
                "MountPath": MOUNT_PATH,
                # The asset's content hash: any change to dags/ changes it, so CloudFormation sends an Update.
                "ReleaseId": dags.asset_hash,
            },
        )

        acknowledge(
            role,
            "ENI management for a VPC Lambda: EC2's Describe calls take no resource, and Lambda names the "
            "network interfaces it creates and deletes only at run time, so they are limited to this account and "
            "region (creation also to the private subnets and the data-clients group).",
            *wildcard_permission_findings(self, network_interfaces),
        )
        acknowledge(
            self.function,
            "It runs in the VPC's private subnets (it must, to reach the EFS mount targets); the offline check "
            "cannot see that when the subnet ids come from the network stack as Fn::GetStackOutput.",
            CT_LAMBDA_IN_VPC,
        )

    def _network_interface_policy(self, props: DagDeliveryProps) -> iam.PolicyDocument:
        """The EC2 actions Lambda performs with the function's role to attach it to the VPC (the actions of the
        AWS managed AWSLambdaVPCAccessExecutionRole), each on the narrowest resource EC2 accepts."""
        stack = cdk.Stack.of(self)

        def ec2_arn(resource: str, name: str) -> str:
            return stack.format_arn(service="ec2", resource=resource, resource_name=name)

        any_network_interface = ec2_arn("network-interface", "*")
        subnets = [
            ec2_arn("subnet", subnet_id)
            for subnet_id in props.vpc.select_subnets(subnet_type=PRIVATE_SUBNETS.subnet_type).subnet_ids
        ]
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    actions=["ec2:CreateNetworkInterface"],
                    resources=[
                        any_network_interface,
                        *subnets,
                        ec2_arn("security-group", props.security_group.security_group_id),
                    ],
                ),
                iam.PolicyStatement(
                    actions=[
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=[any_network_interface],
                ),
            ]
        )


def _access_point_mount(access_point: efs.IAccessPoint) -> lambda_.FileSystem:
    """`FileSystem.from_efs_access_point`, with two changes. Its ClientMount statement has resource `*` (only
    conditioned on the access point): one statement on this file system, through this access point, replaces
    both of its. And no `connections`: they would add an NFS rule the file system's group already has (it admits
    data clients), and across stacks CDK would put that rule in the network stack, which cannot reference the
    data stack. Its dependency on the mount targets stays: the function can only be created once they exist."""
    mount = lambda_.FileSystem.from_efs_access_point(access_point, MOUNT_PATH)
    return lambda_.FileSystem(
        arn=mount.config.arn,
        local_mount_path=mount.config.local_mount_path,
        dependency=mount.config.dependency,
        policies=[
            iam.PolicyStatement(
                actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                resources=[access_point.file_system.file_system_arn],
                conditions={"StringEquals": {"elasticfilesystem:AccessPointArn": access_point.access_point_arn}},
            )
        ],
    )
