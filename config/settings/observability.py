"""The `observability` section: which of logs, metrics and alarms the observability stack deploys, and the
thresholds its alarms page at.

Each part is a toggle with its own idle cost (README "Cost"); `features.observability` turns the whole stack off.
Every threshold is required in the env's file, where a comment gives its reason, so no alarm pages at a number
nobody chose.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from config.settings.base import ConfigKeyError, ProductionProblem, StrictModel

# A plain address for the SNS email subscription: AWS sends it a confirmation link; nothing is delivered before.
EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"
# Prometheus durations as rule files and scrape configs accept them (the units this app uses).
PromDuration = Annotated[str, Field(pattern=r"^[1-9][0-9]*(s|m|h)$")]
Percent = Annotated[float, Field(gt=0, le=100)]


class LogsConfig(StrictModel):
    # Fluent Bit ships container and node (kubelet, containerd) logs to two pre-created CloudWatch log groups.
    enabled: bool


class MetricsConfig(StrictModel):
    # An Amazon Managed Service for Prometheus workspace, fed by an in-cluster Prometheus agent.
    enabled: bool
    # Each sample scraped is billed on ingestion: 60s halves the cost of 30s.
    scrape_interval: PromDuration


class DatabaseThresholds(StrictModel):
    cpu_percent: Percent
    free_storage_gib: Annotated[float, Field(gt=0)]
    # Open connections; RDS sets max_connections from the instance class's memory (about 100 per GiB).
    connections: Annotated[int, Field(ge=1)]


class AirflowThresholds(StrictModel):
    # The scheduler heartbeats every few seconds; no heartbeat for this long means no scheduling.
    scheduler_heartbeat_missing_for: PromDuration
    # Failed task instances as a share of finished ones over the window.
    task_failure_percent: Percent
    task_failure_window: PromDuration
    # A task queued longer than this is stuck (no node, no slot); task_queued_timeout fails it at 30 minutes.
    task_queued_for: PromDuration


class GrafanaConfig(StrictModel):
    # An in-cluster Grafana with the dashboards of observability/dashboards/ and the metrics workspace as its data
    # source (needs metrics on); reached by port-forward, its admin password in Secrets Manager.
    enabled: bool
    # An existing Amazon Managed Grafana workspace in the env's region (Grafana 12 or later) to deliver the same
    # dashboards and data source to, independent of `enabled`; its own IAM role must be allowed to query AMP.
    managed_workspace_id: Annotated[str, Field(pattern=r"^g-[0-9a-f]{10}$")] | None


class OpenCostConfig(StrictModel):
    # OpenCost: what each namespace, workload and Spark application costs, from the workspace's metrics (needs
    # metrics on); its UI and API by port-forward.
    enabled: bool


class AlarmThresholds(StrictModel):
    database: DatabaseThresholds
    # Elastic throughput bills every byte moved; DAG files are KBs, so sustained MiB/s means something loops.
    efs_throughput_mib_per_second: Annotated[float, Field(gt=0)]
    # Karpenter handles an interruption notice within seconds; an old message means it is not draining the queue.
    interruption_queue_age_seconds: Annotated[int, Field(ge=60, le=3600)]
    # The Airflow UI's load balancer: 5xx answers per 5 minutes (the API server's, or the ALB's own when no target
    # is healthy), and unhealthy targets.
    alb_5xx_per_5_minutes: Annotated[int, Field(ge=1)]
    alb_unhealthy_targets: Annotated[int, Field(ge=1)]
    airflow: AirflowThresholds


class AlarmsConfig(StrictModel):
    # An SNS topic (KMS-encrypted) fed by CloudWatch alarms, and by the workspace's Airflow alerting rules when
    # metrics are on too.
    enabled: bool
    # Subscribed to the topic when set; AWS mails a confirmation link first.
    email: Annotated[str, Field(pattern=EMAIL, max_length=254)] | None
    thresholds: AlarmThresholds


class ObservabilityConfig(StrictModel):
    logs: LogsConfig
    metrics: MetricsConfig
    grafana: GrafanaConfig
    opencost: OpenCostConfig
    alarms: AlarmsConfig

    @model_validator(mode="after")
    def _readers_need_metrics(self) -> ObservabilityConfig:
        readers = (
            ("grafana.enabled", self.grafana.enabled, "its dashboards read the metrics workspace"),
            (
                "grafana.managed_workspace_id",
                self.grafana.managed_workspace_id is not None,
                "its dashboards read the metrics workspace",
            ),
            ("opencost.enabled", self.opencost.enabled, "it reads its inputs from the metrics workspace"),
        )
        for key, on, why in readers:
            if on and not self.metrics.enabled:
                raise ConfigKeyError(key, f"{why}: turn on metrics too")
        return self

    def production_problems(self) -> list[ProductionProblem]:
        """A production env keeps its logs and pages someone."""
        problems: list[ProductionProblem] = []
        if not self.logs.enabled:
            problems.append(("observability.logs.enabled", "must be true in a production env"))
        if not self.alarms.enabled:
            problems.append(("observability.alarms.enabled", "must be true in a production env"))
        return problems
