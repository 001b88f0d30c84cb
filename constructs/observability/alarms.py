"""Alarms that page: one SNS topic (KMS-encrypted, optional email subscription), fed by CloudWatch alarms on the
AWS resources and by the metrics workspace's alert manager for Airflow's own health (PromQL rules).

Every threshold comes from config (`observability.alarms.thresholds`), where its reason is written.
"""

from __future__ import annotations

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
    email: str | None


class AlarmTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AlarmTopicProps) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.topic = sns.Topic(self, "Topic", master_key=props.key, enforce_ssl=True)
        if props.email is not None:
            self.topic.add_subscription(subscriptions.EmailSubscription(props.email))
        for service in PUBLISHERS:
            # Only on behalf of this account's alarms and workspaces.
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Publish{service.split('.')[0].capitalize()}",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                    conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
                )
            )
        # An encrypted topic: publishers encrypt each message with the key, through SNS only.
        props.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PublishToAlarmTopic",
                principals=[iam.ServicePrincipal(service) for service in PUBLISHERS],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
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


class ResourceAlarms(Construct):
    """CloudWatch alarms on the AWS resources under Airflow: the metadata DB, the DAG file system and Karpenter's
    interruption queue. They notify the topic on ALARM and again on OK."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ResourceAlarmsProps) -> None:
        super().__init__(scope, construct_id)
        limits = props.thresholds
        db = props.database
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._alarm(
            "DatabaseCpu",
            db.metric_cpu_utilization(period=FIVE_MINUTES, statistic="Average"),
            limits.database.cpu_percent,
            periods=3,
            what=f"metadata DB CPU at or above {limits.database.cpu_percent:g}% for 15 minutes",
            topic=props.topic,
        )
        self._alarm(
            "DatabaseFreeStorage",
            db.metric_free_storage_space(period=FIVE_MINUTES, statistic="Minimum"),
            limits.database.free_storage_gib * GIB,
            periods=1,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
            what=f"metadata DB free storage at or below {limits.database.free_storage_gib:g} GiB",
            topic=props.topic,
        )
        self._alarm(
            "DatabaseConnections",
            db.metric_database_connections(period=FIVE_MINUTES, statistic="Maximum"),
            limits.database.connections,
            periods=3,
            what=f"metadata DB connections at or above {limits.database.connections} for 15 minutes",
            topic=props.topic,
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
            topic=props.topic,
        )
        self._alarm(
            "InterruptionQueueAge",
            props.interruption_queue.metric_approximate_age_of_oldest_message(period=FIVE_MINUTES, statistic="Maximum"),
            limits.interruption_queue_age_seconds,
            periods=1,
            what=f"Karpenter interruption notice unread for {limits.interruption_queue_age_seconds} s or more",
            topic=props.topic,
            # An empty queue reports no age: that is the healthy case.
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        *,
        periods: int,
        what: str,
        topic: sns.ITopic,
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
        action = cloudwatch_actions.SnsAction(topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[construct_id] = alarm


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
                        # No heartbeat counted, or no heartbeat series at all (the exporter lost it).
                        "expr": f"sum(increase(airflow_scheduler_heartbeat[{heartbeat}])) == 0 "
                        f"or absent_over_time(airflow_scheduler_heartbeat[{heartbeat}])",
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
                        "annotations": {"summary": "DAG files fail to import (see Browse > DAG import errors)"},
                    },
                    {
                        "alert": "AirflowTasksQueuedTooLong",
                        # Queued slots never dropped to zero over the window: something has waited that long.
                        "expr": f"min_over_time(sum(airflow_pool_queued_slots)[{limits.task_queued_for}:1m]) > 0",
                        "labels": {"severity": "page"},
                        "annotations": {"summary": f"Task instances queued for {limits.task_queued_for} or more"},
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
