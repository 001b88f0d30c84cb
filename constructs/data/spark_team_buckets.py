"""One S3 bucket per Spark job namespace, for the team's data and its Spark event logs, with the two policies that
open it: a job's (read and write the bucket) and a History Server's (read the event logs).

They live in the data stack, beside Airflow's other state, so the Airflow release (which tells DAGs the bucket's
name) and the Spark stack (which runs the jobs) both read them without waiting for each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from constructs.shared.acknowledgments import (
    CT_S3_EVENT_NOTIFICATIONS,
    CT_S3_OBJECT_LOCK,
    acknowledge,
    wildcard_permission_findings,
)
from constructs.shared.handler_role import handler_logs_and_role
from constructs.shared.lifecycle import Lifecycle

# Spark writes one event log per application under this prefix of its team's bucket; the History Server reads it.
EVENT_LOGS_PREFIX = "spark-event-logs"


def team_bucket_variable(namespace: str) -> str:
    """The Airflow Variable holding a team bucket's name (`spark-team-a` -> `spark_team_a_bucket`): DAGs read it as
    `{{ var.value.spark_team_a_bucket }}`; the release sets it as AIRFLOW_VAR_SPARK_TEAM_A_BUCKET."""
    return f"{namespace.replace('-', '_')}_bucket"


@dataclass(frozen=True, kw_only=True)
class SparkTeamBucket:
    namespace: str
    bucket: s3.IBucket
    # Drivers and executors: read, write and delete objects anywhere in the bucket (Spark commits output by
    # copy-and-delete).
    job_policy: iam.IManagedPolicy
    # The History Server: read the event logs, nothing else.
    history_policy: iam.IManagedPolicy


@dataclass(frozen=True, kw_only=True)
class SparkTeamBucketsProps:
    namespaces: Sequence[str]
    key: kms.IKey
    access_logs_bucket: s3.IBucket
    event_log_expiry_days: int
    lifecycle: Lifecycle


class SparkTeamBuckets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: SparkTeamBucketsProps) -> None:
        super().__init__(scope, construct_id)
        self.teams: dict[str, SparkTeamBucket] = {}
        # CDK runs every AwsCustomResource of a stack in one function: one log group and one role for all markers.
        self._marker_logs, self._marker_role = handler_logs_and_role(
            self,
            logs_id="FolderMarkerLogs",
            role_id="FolderMarkerRole",
            key=props.key,
            lifecycle=props.lifecycle,
            description="Writes the event-log folder marker of each Spark team bucket at deploy time",
        )
        for namespace in props.namespaces:
            team = Construct(self, namespace)
            bucket = s3.Bucket(
                team,
                "Bucket",
                encryption=s3.BucketEncryption.KMS,
                encryption_key=props.key,
                bucket_key_enabled=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                enforce_ssl=True,
                minimum_tls_version=1.2,
                versioned=True,
                server_access_logs_bucket=props.access_logs_bucket,
                server_access_logs_prefix=f"{namespace}/",
                removal_policy=props.lifecycle.removal_policy,
                auto_delete_objects=props.lifecycle.destroys_data,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="expire-event-logs",
                        prefix=f"{EVENT_LOGS_PREFIX}/",
                        expiration=cdk.Duration.days(props.event_log_expiry_days),
                    ),
                    # Spark rewrites output in place; a week of old versions undoes a bad job without keeping
                    # every rewrite forever.
                    s3.LifecycleRule(
                        id="expire-old-versions",
                        noncurrent_version_expiration=cdk.Duration.days(7),
                        abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                    ),
                ],
            )
            # Never the zero-byte folder marker: Spark and the History Server need the folder. (A string: the
            # CloudFormation schema types it so, and CDK would write a number.)
            cfn_bucket = bucket.node.default_child
            assert isinstance(cfn_bucket, s3.CfnBucket)
            cfn_bucket.add_property_override("LifecycleConfiguration.Rules.0.ObjectSizeGreaterThan", "0")
            acknowledge(
                bucket,
                "Spark overwrites and deletes its output and lifecycle expiry deletes old event logs; Object Lock "
                "forbids both. Versioning and the TLS-only, owner-enforced policy protect the objects instead.",
                CT_S3_OBJECT_LOCK,
            )
            acknowledge(
                bucket,
                "Jobs are started by Airflow, not by object events; notifications would add a handler nobody reads.",
                CT_S3_EVENT_NOTIFICATIONS,
            )
            self._event_log_folder(team, bucket, props.key)
            self.teams[namespace] = SparkTeamBucket(
                namespace=namespace,
                bucket=bucket,
                job_policy=self._policy(
                    team,
                    "JobPolicy",
                    f"Spark jobs of namespace {namespace}: read and write its bucket",
                    _job_statements(bucket, props.key),
                    "Spark reads and writes objects it names at run time anywhere in its own team's bucket; the "
                    "object wildcard is that one bucket.",
                ),
                history_policy=self._policy(
                    team,
                    "HistoryPolicy",
                    f"Spark History Server of namespace {namespace}: read its event logs",
                    _history_statements(bucket, props.key),
                    f"Event logs are one object per application under `{EVENT_LOGS_PREFIX}/`, named at run time: "
                    "the object wildcard is that prefix of the team's bucket.",
                ),
            )

    @staticmethod
    def _policy(
        scope: Construct, construct_id: str, description: str, statements: list[iam.PolicyStatement], reason: str
    ) -> iam.ManagedPolicy:
        policy = iam.ManagedPolicy(scope, construct_id, description=description, statements=statements)
        acknowledge(policy, reason, *wildcard_permission_findings(policy, policy.document))
        return policy

    def _event_log_folder(self, scope: Construct, bucket: s3.IBucket, key: kms.IKey) -> None:
        """Spark refuses to start a job whose event-log directory does not exist, and the History Server to start
        on one; on S3 a directory is an empty `<prefix>/` object, written once here."""
        marker = f"{EVENT_LOGS_PREFIX}/"
        put_marker = cr.AwsSdkCall(
            service="s3",
            action="putObject",
            parameters={"Bucket": bucket.bucket_name, "Key": marker, "Body": ""},
            physical_resource_id=cr.PhysicalResourceId.of(f"{EVENT_LOGS_PREFIX}-folder"),
        )
        folder = cr.AwsCustomResource(
            scope,
            "EventLogFolder",
            on_create=put_marker,
            on_update=put_marker,
            install_latest_aws_sdk=False,
            role=self._marker_role,
            log_group=self._marker_logs,
        )
        for statement in (
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects(marker)]),
            _encryption_statement(bucket, key, ["kms:GenerateDataKey"]),
        ):
            self._marker_role.add_to_policy(statement)
        folder.node.add_dependency(bucket)


def _encryption_statement(bucket: s3.IBucket, key: kms.IKey, actions: list[str]) -> iam.PolicyStatement:
    # The key, through S3 and for this bucket only (with a bucket key the encryption context is the bucket's ARN).
    return iam.PolicyStatement(
        actions=actions,
        resources=[key.key_arn],
        conditions={
            "StringEquals": {
                "kms:ViaService": f"s3.{cdk.Stack.of(bucket).region}.amazonaws.com",
                "kms:EncryptionContext:aws:s3:arn": bucket.bucket_arn,
            }
        },
    )


def _job_statements(bucket: s3.IBucket, key: kms.IKey) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            resources=[bucket.arn_for_objects("*")],
        ),
        iam.PolicyStatement(actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[bucket.bucket_arn]),
        _encryption_statement(bucket, key, ["kms:Decrypt", "kms:GenerateDataKey"]),
    ]


def _history_statements(bucket: s3.IBucket, key: kms.IKey) -> list[iam.PolicyStatement]:
    return [
        # The folder's own key too: S3A first HEADs `spark-event-logs` (no slash) to see whether the log directory
        # exists, and a 403 there (no GetObject on that key) stops the History Server at startup.
        iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects(EVENT_LOGS_PREFIX), bucket.arn_for_objects(f"{EVENT_LOGS_PREFIX}/*")],
        ),
        # As for task logs: listings must name the prefix, and a HeadObject (no s3:prefix) must answer 404, not 403.
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringLikeIfExists": {"s3:prefix": [EVENT_LOGS_PREFIX, f"{EVENT_LOGS_PREFIX}/*"]}},
        ),
        _encryption_statement(bucket, key, ["kms:Decrypt"]),
    ]
