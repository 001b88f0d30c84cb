"""The data stack: Airflow's state under one KMS key; hands the Airflow stack a DataHandle."""

from __future__ import annotations

from constructs import Construct

from config.settings import AppConfig
from constructs.data.airflow_secrets import AirflowSecrets, AirflowSecretsProps
from constructs.data.dag_delivery import DAGS_DIR, DagDelivery, DagDeliveryProps
from constructs.data.dag_file_system import DagFileSystem, DagFileSystemProps
from constructs.data.database import AirflowDatabase, AirflowDatabaseProps
from constructs.data.log_buckets import AirflowLogBuckets, AirflowLogBucketsProps
from constructs.data.spark_team_buckets import SparkTeamBuckets, SparkTeamBucketsProps
from constructs.data.task_log_access import TaskLogAccess, TaskLogAccessProps
from constructs.shared.acknowledgments import CT_LAMBDA_IN_VPC
from constructs.shared.encryption_key import EncryptionKey
from stacks.base import AirflowEksStack
from stacks.handles import DataHandle, NetworkHandle


class AirflowDataStack(AirflowEksStack):
    """Airflow's state: metadata DB, DAG file system (and the deploy that fills it with dags/), task-log bucket,
    secrets and the Spark teams' buckets, all under one KMS key.

    Depends on the network stack only (it admits the network's data-clients group), so it deploys in parallel
    with the cluster.
    """

    def __init__(self, scope: Construct, *, config: AppConfig, network: NetworkHandle) -> None:
        super().__init__(
            scope, "data", config=config, description="Airflow on EKS: metadata DB, DAG storage, log bucket, secrets"
        )
        secret_prefix = config.airflow_secret_prefix

        # One key for the DB, Performance Insights, DAG file system, task logs, secrets and their log groups: they
        # hold the same Airflow data for the same readers, and every key is a monthly fee.
        key = EncryptionKey(
            self,
            "DataKey",
            alias=config.data_key_alias,
            description="Encrypts the Airflow metadata DB, DAG file system, task logs and secrets",
            allow_cloudwatch_logs=True,
            lifecycle=self.lifecycle,
        ).key

        database = AirflowDatabase(
            self,
            "MetadataDb",
            props=AirflowDatabaseProps(
                identifier=f"{config.cluster_name}-airflow",
                settings=config.database,
                engine_version=config.versions.postgres,
                vpc=network.vpc,
                clients=network.data_clients,
                key=key,
                secret_name=f"{secret_prefix}/metadata-db",
                lifecycle=self.lifecycle,
            ),
        )
        dag_storage = DagFileSystem(
            self,
            "DagStorage",
            props=DagFileSystemProps(vpc=network.vpc, clients=network.data_clients, key=key, lifecycle=self.lifecycle),
        )
        log_buckets = AirflowLogBuckets(
            self,
            "TaskLogs",
            props=AirflowLogBucketsProps(
                key=key, expiry_days=config.logging.airflow_log_expiry_days, lifecycle=self.lifecycle
            ),
        )
        task_log_access = TaskLogAccess(
            self, "TaskLogAccess", props=TaskLogAccessProps(bucket=log_buckets.logs_bucket, key=key)
        )
        secrets = AirflowSecrets(
            self,
            "AirflowSecrets",
            props=AirflowSecretsProps(name_prefix=secret_prefix, key=key, lifecycle=self.lifecycle),
        )
        if config.airflow.dags.source == "deploy":
            # Here, not in the Airflow stack: it runs while the cluster is still being built, off the deploy's
            # critical path, and keeps the Airflow stack free of network references.
            DagDelivery(
                self,
                "DagDelivery",
                props=DagDeliveryProps(
                    dags_dir=DAGS_DIR,
                    vpc=network.vpc,
                    security_group=network.data_clients,
                    access_point=dag_storage.dags_access_point,
                    key=key,
                    lifecycle=self.lifecycle,
                ),
            )
        spark_teams = {}
        if config.features.spark_operator:
            spark_teams = SparkTeamBuckets(
                self,
                "SparkTeams",
                props=SparkTeamBucketsProps(
                    namespaces=config.spark.job_namespaces,
                    key=key,
                    access_logs_bucket=log_buckets.access_logs_bucket,
                    event_log_expiry_days=config.spark.event_log_expiry_days,
                    lifecycle=self.lifecycle,
                ),
            ).teams
            self.acknowledge_cdk_provider(
                "AWS679f53fac002430cb0da5b7982bd2287",
                "CDK's deploy-time handler that writes each Spark team bucket's event-log folder marker; it only "
                "calls the S3 API.",
                CT_LAMBDA_IN_VPC,
            )
        self.handle = DataHandle(
            key=key,
            database=database.instance,
            database_secret=database.secret,
            dag_file_system=dag_storage.file_system,
            dags_access_point=dag_storage.dags_access_point,
            logs_bucket=log_buckets.logs_bucket,
            task_log_policies=task_log_access.policies,
            secrets=secrets.secrets,
            spark_teams=spark_teams,
        )
        if self.lifecycle.destroys_data:
            # It empties the buckets during `cdk destroy`, so its group must outlive it.
            self.log_cdk_provider(
                "Custom::S3AutoDeleteObjectsCustomResourceProvider", "EmptyBucketsHandlerLogs", key=key
            )
            self.acknowledge_cdk_provider(
                "Custom::S3AutoDeleteObjectsCustomResourceProvider",
                "CDK's deploy-time handler that empties the log buckets on `cdk destroy`; it only calls the S3 API.",
                CT_LAMBDA_IN_VPC,
            )
