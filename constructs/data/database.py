"""The Airflow metadata database: RDS PostgreSQL in isolated subnets, TLS-only, encrypted with our key."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from config.settings import DatabaseConfig, PostgresVersion
from constructs.data.security_groups import security_group_for_data_clients
from constructs.shared.acknowledgments import (
    CT_RDS_DEFAULT_PORT,
    CT_RDS_DELETION_PROTECTION,
    CT_RDS_MULTI_AZ,
    DEV_ENV_REASON,
    NAG_RDS_DEFAULT_PORT,
    NAG_RDS_DELETION_PROTECTION,
    NAG_RDS_MULTI_AZ,
    NAG_SECRET_ROTATION,
    acknowledge,
    aws_managed_policy_finding,
)
from constructs.shared.lifecycle import Lifecycle
from constructs.shared.log_group import EncryptedLogGroup, EncryptedLogGroupProps

POSTGRES_PORT = 5432
DATABASE_NAME = "airflow"
MASTER_USERNAME = "airflow_admin"
LOG_EXPORTS = ("postgresql", "upgrade")
# Characters that would need URL-encoding in Airflow's SQLAlchemy connection URI, or quoting in a shell.
PASSWORD_EXCLUDED_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\,="


@dataclass(frozen=True, kw_only=True)
class AirflowDatabaseProps:
    identifier: str
    settings: DatabaseConfig
    engine_version: PostgresVersion
    vpc: ec2.IVpc
    clients: ec2.ISecurityGroup
    key: kms.IKey
    secret_name: str
    # The instance takes the snapshot variant; its credentials secret and log groups cannot be snapshotted but
    # must outlive a kept DB, so they take the plain removal policy.
    lifecycle: Lifecycle


class AirflowDatabase(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AirflowDatabaseProps) -> None:
        super().__init__(scope, construct_id)
        engine = rds.DatabaseInstanceEngine.postgres(
            version=rds.PostgresEngineVersion.of(props.engine_version.full, props.engine_version.major)
        )

        self.security_group = security_group_for_data_clients(
            self,
            vpc=props.vpc,
            clients=props.clients,
            port=POSTGRES_PORT,
            service="Airflow metadata DB",
            protocol="PostgreSQL",
        )

        parameter_group = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            description="Airflow metadata DB: TLS required",
            parameters={"rds.force_ssl": "1"},
        )

        log_groups = self._log_groups(props)
        self.instance = self._instance(props, engine, parameter_group)
        # Only the DB instance waits for its log groups: a dependency of the construct would hold its monitoring
        # role and secret too, and so the instance, the data stack's longest step. `cdk destroy` still deletes the
        # groups after the instance.
        self.instance.node.default_child.node.add_dependency(*log_groups)

        # `instance.secret` is the attachment view (it adds host and port); the secret resource is this child.
        credentials = self.instance.node.find_child("Secret")
        # A kept DB (or its final snapshot) is no use without its master credentials.
        credentials.apply_removal_policy(props.lifecycle.removal_policy)
        self._acknowledge(props, credentials)

        secret = self.instance.secret
        assert secret is not None  # from_generated_secret always creates one
        self.secret = secret

    def _log_groups(self, props: AirflowDatabaseProps) -> list[EncryptedLogGroup]:
        # Created up front (not by RDS on first write) so they are encrypted, retention applies and destroy
        # removes them.
        return [
            EncryptedLogGroup(
                self,
                f"{export.capitalize()}LogGroup",
                props=EncryptedLogGroupProps(
                    log_group_name=f"/aws/rds/instance/{props.identifier}/{export}",
                    key=props.key,
                    lifecycle=props.lifecycle,
                ),
            )
            for export in LOG_EXPORTS
        ]

    def _instance(
        self, props: AirflowDatabaseProps, engine: rds.IInstanceEngine, parameter_group: rds.IParameterGroup
    ) -> rds.DatabaseInstance:
        settings = props.settings
        return rds.DatabaseInstance(
            self,
            "Instance",
            instance_identifier=props.identifier,
            engine=engine,
            instance_type=ec2.InstanceType(settings.instance_class),
            vpc=props.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.security_group],
            port=POSTGRES_PORT,
            database_name=DATABASE_NAME,
            credentials=rds.Credentials.from_generated_secret(
                MASTER_USERNAME,
                secret_name=props.secret_name,
                encryption_key=props.key,
                exclude_characters=PASSWORD_EXCLUDED_CHARACTERS,
            ),
            parameter_group=parameter_group,
            storage_encrypted=True,
            storage_encryption_key=props.key,
            storage_type=rds.StorageType.GP3,
            allocated_storage=settings.allocated_storage_gib,
            max_allocated_storage=settings.max_allocated_storage_gib,
            multi_az=settings.multi_az,
            backup_retention=cdk.Duration.days(settings.backup_retention_days),
            deletion_protection=settings.deletion_protection,
            enable_performance_insights=settings.performance_insights,
            performance_insight_encryption_key=props.key if settings.performance_insights else None,
            iam_authentication=True,
            monitoring_interval=cdk.Duration.seconds(60),
            cloudwatch_logs_exports=list(LOG_EXPORTS),
            # versions.yaml pins the version created; RDS applies later security minors in the maintenance window.
            auto_minor_version_upgrade=True,
            copy_tags_to_snapshot=True,
            publicly_accessible=False,
            removal_policy=props.lifecycle.snapshot_removal_policy,
        )

    def _acknowledge(self, props: AirflowDatabaseProps, credentials: Construct) -> None:
        acknowledge(
            self.instance,
            "Port obscurity adds nothing here: the instance sits in isolated subnets and its security group admits "
            "only the data-clients group over TLS; 5432 keeps Airflow's and psql's defaults.",
            NAG_RDS_DEFAULT_PORT,
            CT_RDS_DEFAULT_PORT,
        )
        acknowledge(
            credentials,
            "Airflow keeps pooled connections open with this password; rotating it under a running deployment "
            "breaks them. Rotate it deliberately with a rolling restart of the Airflow components.",
            NAG_SECRET_ROTATION,
        )
        monitoring_role = self.instance.node.try_find_child("MonitoringRole")
        if monitoring_role is not None:
            acknowledge(
                monitoring_role,
                "AmazonRDSEnhancedMonitoringRole is the AWS-managed service-role policy RDS Enhanced Monitoring "
                "requires; it only lets RDS publish OS metrics to the RDSOSMetrics log group.",
                aws_managed_policy_finding("service-role/AmazonRDSEnhancedMonitoringRole"),
            )
        if props.lifecycle.development_env:
            waived = []
            if not props.settings.multi_az:
                waived += [NAG_RDS_MULTI_AZ, CT_RDS_MULTI_AZ]
            if not props.settings.deletion_protection:
                waived += [NAG_RDS_DELETION_PROTECTION, CT_RDS_DELETION_PROTECTION]
            if waived:
                acknowledge(self.instance, DEV_ENV_REASON, *waived)
