"""Zero unacknowledged findings (synth itself fails otherwise); every acknowledgment is scoped and reasoned."""

from __future__ import annotations

import json

from constructs.shared.acknowledgments import DEV_ENV_REASON
from tests.synth import Synthesized

# Rules a development env may waive as "dev env": availability and durability controls only.
AVAILABILITY_RULES = {
    "AwsSolutions-RDS3",
    "AwsSolutions-RDS10",
    "cdk-validator-cfnguard::rds_instance_multi_az_support_check",
    "cdk-validator-cfnguard::rds_instance_deletion_protection_enabled_check",
    "cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check",
}


def acknowledgments(synthesized: Synthesized) -> list[tuple[str, str, str]]:
    """(construct path, rule id, reason) of every acknowledgment in the app."""
    found = []
    for stack_name in synthesized.stack_names:
        for path, entries in synthesized.metadata(stack_name).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    for rule, reason in entry["data"].items():
                        found.append((path, rule.removeprefix("Annotation::"), reason))
    return found


def test_every_plugin_passed(synthesized: Synthesized) -> None:
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    assert {p["pluginName"] for p in report["pluginReports"]} >= {"cdk-validator-cfnguard", "CloudFormation Validate"}
    for plugin in report["pluginReports"]:
        assert plugin["conclusion"] == "success", plugin["pluginName"]
        assert plugin["violations"] == []


def test_acknowledgments_are_scoped_to_a_resource(synthesized: Synthesized) -> None:
    acks = acknowledgments(synthesized)
    assert acks
    stack_roots = {f"/{name}" for name in synthesized.stack_names}
    for path, rule, _reason in acks:
        assert path not in stack_roots and path != "/", f"{rule} acknowledged for a whole stack at {path}"
        assert path.count("/") >= 2, f"{rule} acknowledged too broadly at {path}"


def test_acknowledgments_give_specific_reasons(synthesized: Synthesized) -> None:
    for path, rule, reason in acknowledgments(synthesized):
        if reason == DEV_ENV_REASON:
            assert rule in AVAILABILITY_RULES, f"'{DEV_ENV_REASON}' is no reason to waive {rule} at {path}"
        else:
            assert len(reason) >= 60, f"reason for {rule} at {path} is too thin: {reason!r}"


def test_prod_waives_no_availability_control(prod: Synthesized) -> None:
    for path, rule, reason in acknowledgments(prod):
        assert reason != DEV_ENV_REASON, f"prod acknowledges {rule} at {path} as '{DEV_ENV_REASON}'"
        assert rule not in AVAILABILITY_RULES, f"prod waives availability control {rule} at {path}"


def test_cfnguard_suppressions_are_all_accounted_for(synthesized: Synthesized) -> None:
    """Each suppressed Control Tower finding was suppressed by one of our acknowledgments, at or above it."""
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    guard = next(p for p in report["pluginReports"] if p["pluginName"] == "cdk-validator-cfnguard")
    for violation in guard["suppressedViolations"]:
        assert violation["reason"]
        for construct in violation["violatingConstructs"]:
            assert construct["constructPath"].startswith(violation["acknowledgedAt"])
