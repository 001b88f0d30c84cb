"""How long the app's resources live: what `cdk destroy` does to them, how long logs are kept, and whether the
env is a development one that may waive durability controls. One value object, made once by the base stack from
config and handed to every construct that creates something stateful.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_logs as logs

from config.settings import RemovalPolicyName
from config.settings.logging import ONE_YEAR_DAYS

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


@dataclass(frozen=True, kw_only=True)
class Lifecycle:
    # Buckets, file systems, keys, secrets, log groups: resources CloudFormation cannot snapshot.
    removal_policy: cdk.RemovalPolicy
    # Resources CloudFormation can snapshot (the DB instance): `snapshot` in config leaves a final snapshot.
    snapshot_removal_policy: cdk.RemovalPolicy
    log_retention_days: int
    # A development env may keep logs shorter and run without Multi-AZ or deletion protection; production may not.
    development_env: bool

    @classmethod
    def from_config(
        cls, *, removal_policy: RemovalPolicyName, log_retention_days: int, development_env: bool
    ) -> Lifecycle:
        kept = cdk.RemovalPolicy.DESTROY if removal_policy == "destroy" else cdk.RemovalPolicy.RETAIN
        return cls(
            removal_policy=kept,
            snapshot_removal_policy=cdk.RemovalPolicy.SNAPSHOT if removal_policy == "snapshot" else kept,
            log_retention_days=log_retention_days,
            development_env=development_env,
        )

    @property
    def destroys_data(self) -> bool:
        """`cdk destroy` deletes the data too (buckets are emptied first)."""
        return self.removal_policy == cdk.RemovalPolicy.DESTROY

    @property
    def log_retention(self) -> logs.RetentionDays:
        """jsii exposes RetentionDays by name only; config speaks in days (validated against LOG_RETENTION_DAYS)."""
        return _RETENTION_BY_DAYS[self.log_retention_days]

    @property
    def short_log_retention(self) -> bool:
        """Logs kept under a year: allowed (and acknowledged as such) in a development env only."""
        return self.log_retention_days < ONE_YEAR_DAYS

    def removed_with_the_stack(self) -> Lifecycle:
        """The same, except that `cdk destroy` always deletes: for what is worthless without its stack (a deploy-time
        handler's own logs)."""
        destroy = cdk.RemovalPolicy.DESTROY
        return dataclasses.replace(self, removal_policy=destroy, snapshot_removal_policy=destroy)
