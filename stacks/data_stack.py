from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from config.settings import AppConfig
from constructs.acknowledgments import CT_LAMBDA_IN_VPC
from constructs.airflow_secrets import AirflowSecrets, AirflowSecretsProps
from constructs.dag_file_system import DagFileSystem, DagFileSystemProps
from constructs.database import AirflowDatabase, AirflowDatabaseProps
from constructs.encryption_key import EncryptionKey
from constructs.lifecycle import removal_policy
from constructs.log_buckets import AirflowLogBuckets, AirflowLogBucketsProps
from stacks.base import AirflowEksStack


class AirflowDataStack(AirflowEksStack):
    """Airflow's state: metadata DB, DAG file system, task-log bucket and secrets, all under one KMS key.

    Depends on the network stack only (it admits the network's data-clients group), so it deploys in parallel
    with the cluster.
    """

    def __init__(self, scope: Construct, *, config: AppConfig, vpc: ec2.IVpc, data_clients: ec2.ISecurityGroup) -> None:
        super().__init__(
            scope, "data", config=config, description="Airflow on EKS: metadata DB, DAG storage, log bucket, secrets"
        )
        keep_or_destroy = removal_policy(config.removal_policy)
        secret_prefix = f"{config.cluster_name}/airflow"

        # One key for the DB, Performance Insights, DAG file system, task logs, secrets and their log groups: they
        # hold the same Airflow data for the same readers, and every key is a monthly fee.
        self.key = EncryptionKey(
            self,
            "DataKey",
            alias=f"alias/{config.cluster_name}/airflow-data",
            description="Encrypts the Airflow metadata DB, DAG file system, task logs and secrets",
            allow_cloudwatch_logs=True,
            removal_policy=keep_or_destroy,
        ).key

        self.database = AirflowDatabase(
            self,
            "MetadataDb",
            props=AirflowDatabaseProps(
                identifier=f"{config.cluster_name}-airflow",
                settings=config.database,
                engine_version=config.versions.postgres,
                vpc=vpc,
                clients=data_clients,
                key=self.key,
                secret_name=f"{secret_prefix}/metadata-db",
                log_retention_days=config.logging.retention_days,
                removal_policy=removal_policy(config.removal_policy, snapshot_supported=True),
                companion_removal_policy=keep_or_destroy,
                development_env=config.is_development,
            ),
        )
        self.dag_storage = DagFileSystem(
            self,
            "DagStorage",
            props=DagFileSystemProps(vpc=vpc, clients=data_clients, key=self.key, removal_policy=keep_or_destroy),
        )
        self.log_buckets = AirflowLogBuckets(
            self,
            "TaskLogs",
            props=AirflowLogBucketsProps(
                key=self.key,
                expiry_days=config.logging.airflow_log_expiry_days,
                removal_policy=keep_or_destroy,
            ),
        )
        self.secrets = AirflowSecrets(
            self,
            "AirflowSecrets",
            props=AirflowSecretsProps(
                name_prefix=secret_prefix,
                key=self.key,
                log_retention_days=config.logging.retention_days,
                removal_policy=keep_or_destroy,
                development_env=config.is_development,
            ),
        )
        if keep_or_destroy == cdk.RemovalPolicy.DESTROY:
            self.acknowledge_cdk_provider(
                "Custom::S3AutoDeleteObjectsCustomResourceProvider",
                "CDK's deploy-time handler that empties the log buckets on `cdk destroy`; it only calls the S3 API.",
                CT_LAMBDA_IN_VPC,
            )
