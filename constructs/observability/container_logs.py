"""Container and node logs to CloudWatch Logs: the aws-for-fluent-bit chart as a DaemonSet on every node, writing
to two log groups this construct creates with the configured retention and the observability key.

Fluent Bit may only create streams in, and write to, those two groups (Pod Identity); it creates no group and
sets no retention, so what CloudFormation set is what applies (the seed's `logRetentionDays` did nothing because
the groups already existed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from config.settings import HelmChartVersion
from constructs.cluster.eks_iam import PodIdentity
from constructs.observability.names import (
    FLUENT_BIT_RELEASE,
    FLUENT_BIT_SERVICE_ACCOUNT,
    LOGS_NAMESPACE,
    container_log_group,
    node_log_group,
)
from constructs.shared.helm_release import helm_release
from constructs.shared.helm_values import chart_values
from constructs.shared.lifecycle import Lifecycle
from constructs.shared.log_group import EncryptedLogGroup, EncryptedLogGroupProps


@dataclass(frozen=True, kw_only=True)
class ContainerLogsProps:
    cluster: eks.ICluster
    cluster_name: str
    region: str
    chart: HelmChartVersion
    key: kms.IKey
    lifecycle: Lifecycle


class ContainerLogs(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: ContainerLogsProps) -> None:
        super().__init__(scope, construct_id)
        self.container_logs, self.node_logs = (
            EncryptedLogGroup(
                self,
                construct_id,
                props=EncryptedLogGroupProps(key=props.key, lifecycle=props.lifecycle, log_group_name=name),
            ).log_group
            for construct_id, name in (
                ("Containers", container_log_group(props.cluster_name)),
                ("Nodes", node_log_group(props.cluster_name)),
            )
        )
        self.identity = PodIdentity(
            self,
            "Identity",
            cluster=props.cluster,
            namespace=LOGS_NAMESPACE,
            service_account=FLUENT_BIT_SERVICE_ACCOUNT,
            description=f"Fluent Bit of EKS cluster {props.cluster_name}: writes container and node logs",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    # `<group ARN>:*`: the group's streams, nothing else.
                    resources=[self.container_logs.log_group_arn, self.node_logs.log_group_arn],
                )
            ],
        )
        self.values = chart_values(props.chart.chart, computed_values(props))
        self.chart = helm_release(
            self,
            "Chart",
            cluster=props.cluster,
            chart=props.chart,
            release=FLUENT_BIT_RELEASE,
            namespace=LOGS_NAMESPACE,
            values=self.values,
        )
        # The association and its policy first, so the first PutLogEvents already has credentials; the groups
        # first, because Fluent Bit does not create them.
        self.chart.node.add_dependency(self.identity, self.container_logs, self.node_logs)


def computed_values(props: ContainerLogsProps) -> dict[str, Any]:
    return {
        "serviceAccount": {"name": FLUENT_BIT_SERVICE_ACCOUNT},
        "cloudWatchLogs": {"region": props.region, "logGroupName": container_log_group(props.cluster_name)},
        "additionalOutputs": "\n".join(
            [
                "[OUTPUT]",
                "    Name                cloudwatch_logs",
                "    Match               node.*",
                f"    region              {props.region}",
                f"    log_group_name      {node_log_group(props.cluster_name)}",
                # One stream per node, named by the journal record's host name (systemd's _HOSTNAME); the prefix
                # names a stream only for a record without one.
                "    log_stream_template $HOSTNAME",
                "    log_stream_prefix   node-",
                "    auto_create_group   Off",
            ]
        ),
    }
