"""What every deploy-time Lambda of the app starts from: its own encrypted log group and a role that may write only
there, instead of the AWS-managed basic-execution policy (which may write to every log group), and the one Python
runtime and architecture its handlers run on."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs.shared.lifecycle import Lifecycle
from constructs.shared.log_group import EncryptedLogGroup, EncryptedLogGroupProps


def handler_logs_and_role(
    scope: Construct,
    *,
    logs_id: str,
    role_id: str,
    key: kms.IKey,
    lifecycle: Lifecycle,
    description: str,
    inline_policies: Mapping[str, iam.PolicyDocument] | None = None,
) -> tuple[logs.ILogGroup, iam.Role]:
    """The log group (a handler's logs are worthless without its stack, so it goes with it) and the role; callers
    add the statements of the handler's own work to the role."""
    log_group = EncryptedLogGroup(
        scope, logs_id, props=EncryptedLogGroupProps(key=key, lifecycle=lifecycle.removed_with_the_stack())
    ).log_group
    role = iam.Role(
        scope,
        role_id,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
        inline_policies=dict(inline_policies) if inline_policies else None,
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn])
    )
    return log_group, role


def python_handler(
    scope: Construct,
    construct_id: str,
    *,
    handler_dir: Path,
    role: iam.IRole,
    log_group: logs.ILogGroup,
    timeout: cdk.Duration,
    description: str,
    memory_size: int = 128,
    **settings: Any,
) -> lambda_.Function:
    """`index.handler` of `handler_dir` (the folder is the asset) on the app's handler runtime; `settings` are the
    function's other properties (VPC, file system, ...)."""
    return lambda_.Function(
        scope,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        handler="index.handler",
        code=lambda_.Code.from_asset(str(handler_dir), exclude=["__pycache__"]),
        role=role,
        log_group=log_group,
        timeout=timeout,
        memory_size=memory_size,
        description=description,
        **settings,
    )
