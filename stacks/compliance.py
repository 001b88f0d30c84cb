"""The compliance checks every synth runs: cdk-nag AwsSolutions and the AWS Control Tower proactive controls."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator


def add_compliance_checks(app: cdk.App) -> None:
    """Any unacknowledged finding fails synth; acknowledgments sit beside the resource they are about."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True), CfnGuardValidator())
