"""What one stack hands the stacks above it: small typed handles, so a stack names exactly what it uses of another
and `app_stacks.build_stacks` shows every cross-stack edge. CDK turns each reference into a cross-stack output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs

from constructs.data.spark_team_buckets import SparkTeamBucket


@dataclass(frozen=True, kw_only=True)
class NetworkHandle:
    vpc: ec2.IVpc
    # Workloads in this group may reach the metadata DB and the DAG file system; cluster nodes join it.
    data_clients: ec2.ISecurityGroup


@dataclass(frozen=True, kw_only=True)
class DataHandle:
    key: kms.IKey
    database: rds.IDatabaseInstance
    database_secret: secretsmanager.ISecret
    dag_file_system: efs.IFileSystem
    dags_access_point: efs.IAccessPoint
    logs_bucket: s3.IBucket
    # "read" and "write": what reading, or writing, task logs under TASK_LOGS_PREFIX of logs_bucket takes.
    task_log_policies: Mapping[str, iam.IManagedPolicy]
    # api-secret-key, jwt-secret, admin-password, fernet-key
    secrets: Mapping[str, secretsmanager.ISecret]
    # Spark job namespace -> its bucket and policies; empty when features.spark_operator is off.
    spark_teams: Mapping[str, SparkTeamBucket]


@dataclass(frozen=True, kw_only=True)
class ClusterHandle:
    cluster: eks.ICluster
    core_nodes: eks.Nodegroup
    # Charts that own Ingresses or LoadBalancer Services depend on it, so `cdk destroy` removes their load
    # balancers while the controller still runs.
    load_balancer_controller: eks.HelmChart
    # SecretStores and ExternalSecrets depend on it: its CRDs define them, its webhook (failing closed) admits them,
    # and on `cdk destroy` its controller outlives them.
    external_secrets: eks.HelmChart
    # The role of the nodes Karpenter launches (its EC2NodeClasses name it); its access entry is in this stack too.
    karpenter_node_role: iam.IRole
    # Where EC2 posts the interruption notices Karpenter drains; its age is an alarm.
    interruption_queue: sqs.IQueue

    @property
    def node_roles(self) -> tuple[iam.IRole, ...]:
        """The roles of every node, core or Karpenter's: what a node-level agent (the EFS CSI mount) acts as."""
        return (self.core_nodes.role, self.karpenter_node_role)
