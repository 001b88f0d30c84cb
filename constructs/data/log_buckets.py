"""S3 for Airflow's remote task logs, plus the bucket that receives its server access logs."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs.shared.acknowledgments import (
    CT_S3_ACCESS_LOGGING,
    CT_S3_EVENT_NOTIFICATIONS,
    CT_S3_KMS_ENCRYPTION,
    CT_S3_OBJECT_LOCK,
    acknowledge,
)
from constructs.shared.lifecycle import Lifecycle

NO_OBJECT_LOCK_REASON = (
    "Lifecycle expiry must delete old logs and `cdk destroy` of a dev env must empty the bucket; Object Lock "
    "forbids both. Versioning and the TLS-only, owner-enforced policy protect the objects instead."
)
NO_EVENT_NOTIFICATIONS_REASON = (
    "Nothing consumes object events from a log bucket; notifications would add a custom-resource Lambda with no reader."
)


@dataclass(frozen=True, kw_only=True)
class AirflowLogBucketsProps:
    key: kms.IKey
    expiry_days: int
    lifecycle: Lifecycle


def _secure_bucket_defaults(props: AirflowLogBucketsProps) -> dict:
    return {
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
        "versioned": True,
        "removal_policy": props.lifecycle.removal_policy,
        # Objects go with the bucket only when the env destroys its data; otherwise the bucket is retained whole.
        "auto_delete_objects": props.lifecycle.destroys_data,
        "lifecycle_rules": [
            s3.LifecycleRule(
                id="expire-logs",
                expiration=cdk.Duration.days(props.expiry_days),
                # Versioning guards against overwrite; old versions of a log are not worth keeping past a day.
                noncurrent_version_expiration=cdk.Duration.days(1),
                abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
            )
        ],
    }


class AirflowLogBuckets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AirflowLogBucketsProps) -> None:
        super().__init__(scope, construct_id)
        # S3 server access logs can only be delivered to a bucket encrypted with S3-managed keys.
        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            **_secure_bucket_defaults(props),
        )
        self.logs_bucket = s3.Bucket(
            self,
            "LogsBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=props.key,
            bucket_key_enabled=True,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="airflow-logs/",
            **_secure_bucket_defaults(props),
        )
        for bucket in (self.access_logs_bucket, self.logs_bucket):
            acknowledge(bucket, NO_OBJECT_LOCK_REASON, CT_S3_OBJECT_LOCK)
            acknowledge(bucket, NO_EVENT_NOTIFICATIONS_REASON, CT_S3_EVENT_NOTIFICATIONS)
        acknowledge(
            self.access_logs_bucket,
            "S3 delivers server access logs only to buckets encrypted with S3-managed keys (SSE-S3), not SSE-KMS.",
            CT_S3_KMS_ENCRYPTION,
        )
        acknowledge(
            self.access_logs_bucket,
            "This is the server-access-log destination of the task-log bucket; logging it too would log into itself.",
            CT_S3_ACCESS_LOGGING,
        )
