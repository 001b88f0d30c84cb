"""What every stack of this app shares: its name, its environment, offline AZs and the lifecycle from config."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from config.settings import AppConfig
from constructs.shared.acknowledgments import acknowledge
from constructs.shared.lifecycle import Lifecycle
from constructs.shared.log_group import EncryptedLogGroup, EncryptedLogGroupProps, log_function_to
from constructs.shared.tags import tag_component


class AirflowEksStack(cdk.Stack):
    """A stack named `<prefix>-<env>-<component>` in the configured region (and account, when set)."""

    def __init__(self, scope: Construct, component: str, *, config: AppConfig, description: str) -> None:
        super().__init__(
            scope,
            config.stack_name(component),
            stack_name=config.stack_name(component),
            env=cdk.Environment(account=config.account, region=config.region),
            description=description,
        )
        self.config = config
        tag_component(self, project=config.project, env_name=config.env_name, component=component)
        self.lifecycle = Lifecycle.from_config(
            removal_policy=config.removal_policy,
            log_retention_days=config.logging.retention_days,
            development_env=config.is_development,
        )

    @property
    def availability_zones(self) -> list[str]:
        # The default asks AWS (a context lookup) whenever the account is concrete; the configured names keep
        # synth offline and make subnets land in the same AZs whoever runs it.
        return list(self.config.availability_zones)

    def acknowledge_cdk_provider(self, provider_id: str, reason: str, *rule_ids: str) -> None:
        """Acknowledge findings on a CDK-provided singleton custom-resource handler, which lives at stack level."""
        acknowledge(self.node.find_child(provider_id), reason, *rule_ids)

    def log_cdk_provider(self, provider_id: str, logs_id: str, *, key: kms.IKey) -> None:
        """Give a CDK-provided singleton handler a log group of this stack (its logs are worthless without the
        stack, so it goes with it), which outlives the handler: see log_function_to."""
        log_group = EncryptedLogGroup(
            self, logs_id, props=EncryptedLogGroupProps(key=key, lifecycle=self.lifecycle.removed_with_the_stack())
        ).log_group
        handler = self.node.find_child(provider_id).node.find_child("Handler")
        assert isinstance(handler, cdk.CfnResource)
        log_function_to(handler, log_group.log_group_name)
