"""A CloudWatch log group encrypted with our key and kept for the configured number of days."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs.shared.acknowledgments import CT_LOG_RETENTION_ONE_YEAR, DEV_ENV_REASON, acknowledge
from constructs.shared.lifecycle import Lifecycle


@dataclass(frozen=True, kw_only=True)
class EncryptedLogGroupProps:
    key: kms.IKey
    # Retention and removal; production keeps logs a year or more, a development env may keep them shorter.
    lifecycle: Lifecycle
    log_group_name: str | None = None


class EncryptedLogGroup(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: EncryptedLogGroupProps) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=props.log_group_name,
            encryption_key=props.key,
            retention=props.lifecycle.log_retention,
            removal_policy=props.lifecycle.removal_policy,
        )
        _acknowledge_short_retention(self.log_group, props)


def govern_log_group(log_group: logs.CfnLogGroup, *, props: EncryptedLogGroupProps) -> None:
    """Give a log group some library created (e.g. for its own Lambda) our key, retention and removal policy."""
    log_group.add_property_override("KmsKeyId", props.key.key_arn)
    log_group.add_property_override("RetentionInDays", props.lifecycle.log_retention_days)
    log_group.apply_removal_policy(props.lifecycle.removal_policy)
    _acknowledge_short_retention(log_group, props)


def log_function_to(function: cdk.CfnResource, log_group_name: str) -> None:
    """Send a library-made Lambda function's logs to a group its stack creates (`log_group_name` a Ref to it). The
    function then depends on the group, so `cdk destroy` deletes the group only after the function's last run.
    Otherwise Lambda creates `/aws/lambda/<function>` itself (never expiring, unencrypted, outside CloudFormation) at
    the first run after the group is gone, and CDK's kubectl handler and bucket emptier run during `cdk destroy`."""
    function.add_property_override("LoggingConfig.LogGroup", log_group_name)


def _acknowledge_short_retention(log_group: Construct, props: EncryptedLogGroupProps) -> None:
    if props.lifecycle.development_env and props.lifecycle.short_log_retention:
        acknowledge(log_group, DEV_ENV_REASON, CT_LOG_RETENTION_ONE_YEAR)
