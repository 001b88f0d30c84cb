"""Rule ids of the compliance checks, and the one way this app acknowledges a finding.

An acknowledgment is always made on the construct that owns the resource, with a reason specific to it.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import IConstruct

# cdk-nag AwsSolutions
NAG_SECRET_ROTATION = "AwsSolutions-SMG4"
NAG_RDS_MULTI_AZ = "AwsSolutions-RDS3"
NAG_RDS_DELETION_PROTECTION = "AwsSolutions-RDS10"
NAG_RDS_DEFAULT_PORT = "AwsSolutions-RDS11"
NAG_AWS_MANAGED_POLICY = "AwsSolutions-IAM4"
NAG_WILDCARD_PERMISSIONS = "AwsSolutions-IAM5"
NAG_LAMBDA_LATEST_RUNTIME = "AwsSolutions-L1"
NAG_SQS_DEAD_LETTER_QUEUE = "AwsSolutions-SQS3"

# AWS Control Tower proactive controls (cdk-validator-cfnguard)
CT_LOG_RETENTION_ONE_YEAR = "cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check"
CT_LAMBDA_IN_VPC = "cdk-validator-cfnguard::lambda_inside_vpc_check"
CT_RDS_MULTI_AZ = "cdk-validator-cfnguard::rds_instance_multi_az_support_check"
CT_RDS_DELETION_PROTECTION = "cdk-validator-cfnguard::rds_instance_deletion_protection_enabled_check"
CT_RDS_DEFAULT_PORT = "cdk-validator-cfnguard::rds_instance_no_default_ports_check"
CT_S3_KMS_ENCRYPTION = "cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check"
CT_S3_ACCESS_LOGGING = "cdk-validator-cfnguard::s3_bucket_logging_enabled_check"
CT_S3_EVENT_NOTIFICATIONS = "cdk-validator-cfnguard::s3_event_notifications_enabled_check"
CT_S3_OBJECT_LOCK = "cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check"
CT_SQS_DEAD_LETTER_QUEUE = "cdk-validator-cfnguard::sqs_dlq_check"
CT_LAUNCH_TEMPLATE_HOP_LIMIT = "cdk-validator-cfnguard::ec2_launch_template_token_hop_limit_check"
CT_LAUNCH_TEMPLATE_MONITORING = "cdk-validator-cfnguard::ec2_launch_template_monitoring_enabled_check"

# CloudFormation Validate, the default rules CDK runs on every template
CFN_HARDCODED_AZ = "CloudFormation-Validate::W3010"

# The only reason a development env may give for waiving an availability or durability control.
DEV_ENV_REASON = "dev env"


def acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge `rule_ids` for the resources under `scope` only, all for the same specific reason."""
    if not reason.strip():
        raise ValueError("an acknowledgment needs a reason")
    cdk.Validations.of(scope).acknowledge(*(cdk.Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids))


def aws_managed_policy_finding(policy_name: str) -> str:
    """The cdk-nag finding id of one AWS-managed policy on a role, e.g. service-role/AmazonEBSCSIDriverPolicy."""
    return f"{NAG_AWS_MANAGED_POLICY}[Policy::arn:<AWS::Partition>:iam::aws:policy/{policy_name}]"


def conditional_managed_policy_findings(scope: IConstruct) -> list[str]:
    """cdk-nag names a managed policy attached under a CloudFormation condition (e.g. the kubectl handler's ECR
    Public read-only policy) by the condition's JSON: the IAM4 finding ids of every such policy under `scope`."""
    stack = cdk.Stack.of(scope)
    findings = []
    for child in scope.node.find_all():
        if isinstance(child, iam.CfnRole):
            for arn in stack.resolve(child.managed_policy_arns) or []:
                if isinstance(arn, dict) and "Fn::If" in arn:
                    findings.append(f"{NAG_AWS_MANAGED_POLICY}[Policy::{json.dumps(arn, separators=(',', ':'))}]")
    return findings


def invoke_own_function_finding(function: IConstruct) -> str:
    """The IAM5 finding id of a role allowed to invoke every version of `function` (`<function ARN>:*`)."""
    resource = function.node.default_child
    return f"{NAG_WILDCARD_PERMISSIONS}[Resource::<{cdk.Stack.of(function).get_logical_id(resource)}.Arn>:*]"


def wildcard_permission_findings(scope: IConstruct, document: iam.PolicyDocument) -> list[str]:
    """The cdk-nag IAM5 finding ids of `document`: one per wildcard action or resource, written as cdk-nag writes
    them (references as <LogicalId.Attribute>, pseudo parameters as <AWS::Name>), so each can be acknowledged."""

    def render(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "Ref" in value:
            return f"<{value['Ref']}>"
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return "<" + ".".join(value["Fn::GetAtt"]) + ">"
        if isinstance(value, dict) and "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(render(part) for part in parts)
        raise ValueError(f"cannot render policy value {value!r}")

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    findings: list[str] = []
    for statement in cdk.Stack.of(scope).resolve(document.to_json())["Statement"]:
        for kind, key in (("Action", "Action"), ("Resource", "Resource")):
            for value in as_list(statement.get(key, [])):
                text = render(value)
                finding = f"{NAG_WILDCARD_PERMISSIONS}[{kind}::{text}]"
                if "*" in text and finding not in findings:
                    findings.append(finding)
    return findings
