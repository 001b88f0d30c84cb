"""Alarms that page: one SNS topic (KMS-encrypted, optional email subscription), fed by CloudWatch alarms on the
AWS resources (the metadata DB, the DAG file system, Karpenter's interruption queue, the Airflow UI's load balancer)
and by the metrics workspace's alert manager for Airflow's own health (PromQL rules).

Every threshold comes from config (`observability.alarms.thresholds`), where its reason is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import yaml
from aws_cdk import aws_aps as aps
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config.settings import AlarmThresholds
from config.settings.observability import AirflowThresholds

GIB = 1024**3
MIB = 1024**2
FIVE_MINUTES = cdk.Duration.minutes(5)
# The services that publish to the topic: CloudWatch for its alarms, AMP for its alert manager.
PUBLISHERS = ("cloudwatch.amazonaws.com", "aps.amazonaws.com")
# Stands in for the topic's ARN while the alert manager's YAML is written; replaced by the deploy-time value.
_TOPIC_ARN_PLACEHOLDER = "<alarm-topic-arn>"


@dataclass(frozen=True, kw_only=True)
class AlarmTopicProps:
    key: kms.Key
    # Named, so the key's policy can name the topic without referring to it (the topic refers to the key).
    topic_name: str
    email: str | None


class AlarmTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AlarmTopicProps) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.topic = sns.Topic(self, "Topic", topic_name=props.topic_name, master_key=props.key, enforce_ssl=True)
        if props.email is not None:
            self.topic.add_subscription(subscriptions.EmailSubscription(props.email))
        # Only on behalf of this account's alarms and workspaces.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PublishCloudwatch",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        # AMP's alert manager also reads the topic's attributes before it publishes.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PublishAps",
                principals=[iam.ServicePrincipal("aps.amazonaws.com")],
                actions=["sns:Publish", "sns:GetTopicAttributes"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(service="aps", resource="workspace", resource_name="*")
                    },
                },
            )
        )
        # An encrypted topic: a publisher's message is encrypted with the key by SNS, for this topic only (SNS
        # always passes the topic's ARN as encryption context, whoever publishes).
        props.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PublishToAlarmTopic",
                principals=[iam.ServicePrincipal(service) for service in PUBLISHERS],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "kms:EncryptionContext:aws:sns:topicArn": stack.format_arn(
                            service="sns", resource=props.topic_name, arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
                        )
                    }
                },
            )
        )

    def alert_manager_definition(self, region: str) -> str:
        """The workspace's alert manager: every alert to the topic, grouped by name, repeated every 4 hours."""
        config = {
            "route": {
                "receiver": "sns",
                "group_by": ["alertname"],
                "group_wait": "30s",
                "group_interval": "5m",
                "repeat_interval": "4h",
            },
            "receivers": [
                {
                    "name": "sns",
                    "sns_configs": [
                        {
                            "topic_arn": _TOPIC_ARN_PLACEHOLDER,
                            "sigv4": {"region": region},
                            "attributes": {"source": "amp-alertmanager"},
                        }
                    ],
                }
            ],
        }
        text = yaml.safe_dump({"alertmanager_config": yaml.safe_dump(config, sort_keys=False)}, sort_keys=False)
        before, after = text.split(_TOPIC_ARN_PLACEHOLDER)
        return cdk.Fn.join("", [before, self.topic.topic_arn, after])


@dataclass(frozen=True, kw_only=True)
class ResourceAlarmsProps:
    topic: sns.ITopic
    thresholds: AlarmThresholds
    database: rds.IDatabaseInstance
    dag_file_system: efs.IFileSystem
    interruption_queue: sqs.IQueue
    # The tags the load balancer controller puts on the Airflow UI's ALB and target group (the Ingress's tags).
    load_balancer_tags: Mapping[str, str]


class ResourceAlarms(Construct):
    """CloudWatch alarms on the AWS resources under Airflow: the metadata DB, the DAG file system and Karpenter's
    interruption queue. They notify the topic on ALARM and again on OK."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ResourceAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        limits = props.thresholds
        db = props.database
        self._topic = props.topic
        self._alarm(
            "DatabaseCpu",
            db.metric_cpu_utilization(period=FIVE_MINUTES, statistic="Average"),
            limits.database.cpu_percent,
            periods=3,
            what=f"metadata DB CPU at or above {limits.database.cpu_percent:g}% for 15 minutes",
        )
        self._alarm(
            "DatabaseFreeStorage",
            db.metric_free_storage_space(period=FIVE_MINUTES, statistic="Minimum"),
            limits.database.free_storage_gib * GIB,
            periods=1,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
            what=f"metadata DB free storage at or below {limits.database.free_storage_gib:g} GiB",
        )
        self._alarm(
            "DatabaseConnections",
            db.metric_database_connections(period=FIVE_MINUTES, statistic="Maximum"),
            limits.database.connections,
            periods=3,
            what=f"metadata DB connections at or above {limits.database.connections} for 15 minutes",
        )
        self._alarm(
            "DagFileSystemThroughput",
            cloudwatch.Metric(
                namespace="AWS/EFS",
                metric_name="TotalIOBytes",
                dimensions_map={"FileSystemId": props.dag_file_system.file_system_id},
                period=FIVE_MINUTES,
                statistic="Sum",
            ),
            limits.efs_throughput_mib_per_second * MIB * FIVE_MINUTES.to_seconds(),
            periods=3,
            what=f"DAG file system moving {limits.efs_throughput_mib_per_second:g} MiB/s or more for 15 minutes",
        )
        self._alarm(
            "InterruptionQueueAge",
            props.interruption_queue.metric_approximate_age_of_oldest_message(period=FIVE_MINUTES, statistic="Maximum"),
            limits.interruption_queue_age_seconds,
            periods=1,
            what=f"Karpenter interruption notice unread for {limits.interruption_queue_age_seconds} s or more",
            # An empty queue reports no age: that is the healthy case.
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # The ALB is the load balancer controller's, so its name and id exist only after deploy; a Metrics Insights
        # query finds it by the tags the controller gives it (needs CloudWatch's resource tags for telemetry).
        where = " AND ".join(f"tag.{key} = '{value}'" for key, value in sorted(props.load_balancer_tags.items()))
        for construct_id, query, threshold, what in (
            (
                "LoadBalancerTarget5xx",
                f'SELECT SUM(HTTPCode_Target_5XX_Count) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer) WHERE {where}',
                limits.alb_5xx_per_5_minutes,
                f"Airflow UI/API answered {limits.alb_5xx_per_5_minutes}+ 5xx per 5 minutes, for 10 minutes",
            ),
            (
                # With every API server gone the target group is empty, so nothing is unhealthy and no target
                # answers: the ALB's own 503s are the only sign.
                "LoadBalancerElb5xx",
                f'SELECT SUM(HTTPCode_ELB_5XX_Count) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer) WHERE {where}',
                limits.alb_5xx_per_5_minutes,
                f"Airflow's load balancer itself answered {limits.alb_5xx_per_5_minutes}+ 5xx per 5 minutes, for 10 "
                "minutes",
            ),
            (
                "LoadBalancerUnhealthyTargets",
                'SELECT MAX(UnHealthyHostCount) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer, TargetGroup) '
                f"WHERE {where}",
                limits.alb_unhealthy_targets,
                f"{limits.alb_unhealthy_targets}+ Airflow API server targets unhealthy for 10 minutes",
            ),
        ):
            self._query_alarm(construct_id, query, threshold, what=what)

    def _query_alarm(self, construct_id: str, query: str, threshold: float, *, what: str) -> None:
        cloudwatch.CfnAlarm(
            self,
            construct_id,
            alarm_description=what,
            metrics=[
                cloudwatch.CfnAlarm.MetricDataQueryProperty(
                    id="q1", expression=query, period=FIVE_MINUTES.to_seconds(), return_data=True
                )
            ],
            threshold=threshold,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator="GreaterThanOrEqualToThreshold",
            # No data: no request reached the ALB, or it does not exist yet (the Airflow stack deploys beside this).
            treat_missing_data="notBreaching",
            alarm_actions=[self._topic.topic_arn],
            ok_actions=[self._topic.topic_arn],
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        *,
        periods: int,
        what: str,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.MISSING,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=comparison,
            treat_missing_data=missing,
            alarm_description=what,
        )
        action = cloudwatch_actions.SnsAction(self._topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)


def airflow_alert_rules(limits: AirflowThresholds) -> dict[str, Any]:
    """Airflow's health as PromQL alerting rules over the statsd exporter's metrics (observability/metrics.yaml)."""
    heartbeat = limits.scheduler_heartbeat_missing_for
    window = limits.task_failure_window
    return {
        "groups": [
            {
                "name": "airflow",
                "rules": [
                    {
                        "alert": "AirflowSchedulerHeartbeatMissing",
                        # No heartbeat counted, or no heartbeat series at all (the exporter lost it). `for` rides
                        # out the first install, when this stack can be up before the Airflow stack.
                        "expr": f"sum(increase(airflow_scheduler_heartbeat[{heartbeat}])) == 0 "
                        f"or absent_over_time(airflow_scheduler_heartbeat[{heartbeat}])",
                        "for": heartbeat,
                        "labels": {"severity": "page"},
                        "annotations": {"summary": f"No Airflow scheduler heartbeat for {heartbeat}"},
                    },
                    {
                        "alert": "AirflowTaskFailureRateHigh",
                        "expr": f"100 * sum(increase(airflow_ti_failures[{window}])) "
                        f"/ clamp_min(sum(increase(airflow_ti_finish[{window}])), 1) > {limits.task_failure_percent:g}",
                        "labels": {"severity": "page"},
                        "annotations": {
                            "summary": f"Over {limits.task_failure_percent:g}% of task instances failed in {window}"
                        },
                    },
                    {
                        "alert": "AirflowDagImportErrors",
                        "expr": "max(airflow_dag_processing_import_errors) > 0",
                        "for": "10m",
                        "labels": {"severity": "page"},
                        "annotations": {"summary": "DAG files fail to import (the Airflow UI lists the import errors)"},
                    },
                    {
                        "alert": "AirflowTasksQueuedTooLong",
                        # The queue never emptied over the window: tasks are not starting as fast as they queue (no
                        # node, no slot). A steady stream of short waits fires it too, which at these volumes is
                        # itself worth a look.
                        "expr": f"min_over_time(sum(airflow_pool_queued_slots)[{limits.task_queued_for}:1m]) > 0",
                        "labels": {"severity": "page"},
                        "annotations": {
                            "summary": f"Queued task instances have not drained for {limits.task_queued_for}"
                        },
                    },
                ],
            }
        ]
    }


@dataclass(frozen=True, kw_only=True)
class AirflowAlertsProps:
    workspace: aps.CfnWorkspace
    thresholds: AirflowThresholds


class AirflowAlerts(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AirflowAlertsProps) -> None:
        super().__init__(scope, construct_id)
        self.rules = airflow_alert_rules(props.thresholds)
        aps.CfnRuleGroupsNamespace(
            self,
            "Rules",
            name="airflow",
            workspace=props.workspace.attr_arn,
            data=yaml.safe_dump(self.rules, sort_keys=False),
        )
