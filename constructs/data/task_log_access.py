"""What it takes to read, or to write, Airflow's task logs: two managed policies beside the bucket they open.

Task logs are objects under one prefix of the log bucket, encrypted with the data key. A writer may put and read
objects there (Airflow reads an existing log before appending to it); a reader may only read them. Neither may
delete a log: expiry is the bucket's lifecycle rule. The Airflow layer attaches one of them to each component's
Pod Identity role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs.shared.acknowledgments import acknowledge, wildcard_permission_findings

# Task logs are objects under this prefix of the log bucket.
TASK_LOGS_PREFIX = "task-logs"

TaskLogAccessLevel = Literal["read", "write"]


@dataclass(frozen=True, kw_only=True)
class TaskLogAccessProps:
    bucket: s3.IBucket
    key: kms.IKey


class TaskLogAccess(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: TaskLogAccessProps) -> None:
        super().__init__(scope, construct_id)
        self.policies: dict[TaskLogAccessLevel, iam.ManagedPolicy] = {}
        for level, construct, description in (
            ("write", "Writer", "Write and read Airflow task logs"),
            ("read", "Reader", "Read Airflow task logs"),
        ):
            policy = iam.ManagedPolicy(
                self,
                construct,
                description=f"{description} (s3://<log bucket>/{TASK_LOGS_PREFIX}/)",
                statements=task_log_statements(level, bucket=props.bucket, key=props.key),
            )
            acknowledge(
                policy,
                f"Task logs are one object per task try under `{TASK_LOGS_PREFIX}/`, named at run time: the object "
                "wildcard is that prefix of the log bucket and nothing else.",
                *wildcard_permission_findings(policy, policy.document),
            )
            self.policies[level] = policy


def task_log_statements(level: TaskLogAccessLevel, *, bucket: s3.IBucket, key: kms.IKey) -> list[iam.PolicyStatement]:
    region = cdk.Stack.of(bucket).region
    writes = level == "write"
    return [
        iam.PolicyStatement(
            actions=["s3:GetObject", "s3:PutObject"] if writes else ["s3:GetObject"],
            resources=[bucket.arn_for_objects(f"{TASK_LOGS_PREFIX}/*")],
        ),
        # Listing finds a task's log files, and lets "is there a log yet" (a HeadObject, which carries no
        # s3:prefix) answer 404 rather than 403: Airflow gives up the upload on a 403. So the prefix binds listings
        # that name one, IfExists.
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringLikeIfExists": {"s3:prefix": [f"{TASK_LOGS_PREFIX}/*"]}},
        ),
        # The bucket encrypts with the data key on the caller's behalf, and only for S3.
        iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey"] if writes else ["kms:Decrypt"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        ),
    ]
