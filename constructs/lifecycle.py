"""Lifecycle settings from config: removal policies per kind of stateful resource, log retention in days."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_logs as logs

from config.settings import RemovalPolicyName


def removal_policy(name: RemovalPolicyName, *, snapshot_supported: bool = False) -> cdk.RemovalPolicy:
    """`snapshot` means RETAIN for resources CloudFormation cannot snapshot (buckets, file systems, keys, secrets)."""
    if name == "destroy":
        return cdk.RemovalPolicy.DESTROY
    if name == "snapshot" and snapshot_supported:
        return cdk.RemovalPolicy.SNAPSHOT
    return cdk.RemovalPolicy.RETAIN


_RETENTION_BY_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
LOG_RETENTION_DAYS = tuple(_RETENTION_BY_DAYS)


def log_retention(days: int) -> logs.RetentionDays:
    """jsii exposes RetentionDays by name only; config speaks in days (validated against LOG_RETENTION_DAYS)."""
    return _RETENTION_BY_DAYS[days]
