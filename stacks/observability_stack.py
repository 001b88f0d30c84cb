"""The observability stack: logs, metrics, dashboards, cost and alarms, each a toggle of `observability` in config.

It reads the cluster's and data stack's handles only and nothing reads it, so it deploys beside the Airflow and
Spark stacks and can be turned off (`features.observability`) without touching them. Inside it: the key first;
then the alarm topic, the metrics workspace (whose alert manager publishes to the topic) and its rules; the log
groups before Fluent Bit; the Prometheus agent after the controllers it scrapes.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config.settings import AppConfig
from constructs.airflow.ingress import load_balancer_tags
from constructs.cluster.eks_cluster import CORE_NODE_LABELS
from constructs.observability.alarms import (
    AirflowAlerts,
    AirflowAlertsProps,
    AlarmTopic,
    AlarmTopicProps,
    ResourceAlarms,
    ResourceAlarmsProps,
)
from constructs.observability.container_logs import ContainerLogs, ContainerLogsProps
from constructs.observability.grafana import Grafana, GrafanaProps, load_dashboards
from constructs.observability.managed_grafana import ManagedGrafanaDashboards, ManagedGrafanaProps
from constructs.observability.metrics import AGENT_SELECTOR_LABELS, Metrics, MetricsProps
from constructs.observability.metrics_catalog import load_metrics_catalog
from constructs.observability.names import (
    GRAFANA_NAMESPACE,
    GRAFANA_PORT,
    GRAFANA_RELEASE,
    METRICS_NAMESPACE,
    OPENCOST_API_PORT,
    OPENCOST_NAMESPACE,
    OPENCOST_RELEASE,
    OPENCOST_UI_PORT,
    container_log_group,
    node_log_group,
)
from constructs.observability.opencost import OpenCost, OpenCostProps
from constructs.shared.encryption_key import EncryptionKey
from stacks.base import AirflowEksStack
from stacks.handles import ClusterHandle, DataHandle


class ObservabilityStack(AirflowEksStack):
    def __init__(self, scope: Construct, *, config: AppConfig, cluster: ClusterHandle, data: DataHandle) -> None:
        super().__init__(
            scope,
            "observability",
            config=config,
            description="Airflow on EKS: container and node logs, metrics (AMP, a Prometheus agent), dashboards, "
            "OpenCost, alarms",
        )
        settings = config.observability
        eks_cluster = cluster.cluster
        # Log groups, the metrics workspace and the alarm topic: who may read operations data is this key's policy.
        key = EncryptionKey(
            self,
            "Key",
            alias=f"alias/{config.cluster_name}/observability",
            description=f"Logs, metrics and alarms of {config.cluster_name}",
            allow_cloudwatch_logs=True,
            lifecycle=self.lifecycle,
        ).key
        topic = None
        if settings.alarms.enabled:
            topic = AlarmTopic(
                self,
                "AlarmTopic",
                props=AlarmTopicProps(key=key, topic_name=f"{config.cluster_name}-alarms", email=settings.alarms.email),
            )
            ResourceAlarms(
                self,
                "Alarms",
                props=ResourceAlarmsProps(
                    topic=topic.topic,
                    thresholds=settings.alarms.thresholds,
                    database=data.database,
                    dag_file_system=data.dag_file_system,
                    interruption_queue=cluster.interruption_queue,
                    load_balancer_tags=load_balancer_tags(config.project, config.env_name),
                ),
            )
            cdk.CfnOutput(self, "AlarmTopicArn", value=topic.topic.topic_arn, description="Subscribe to be paged")
        if settings.metrics.enabled:
            exporters = load_metrics_catalog().deployed(
                {"spark_operator": config.features.spark_operator, "opencost": settings.opencost.enabled}
            )
            metrics = Metrics(
                self,
                "Metrics",
                props=MetricsProps(
                    cluster=eks_cluster,
                    cluster_name=config.cluster_name,
                    region=config.region,
                    key=key,
                    lifecycle=self.lifecycle,
                    image=config.versions.prometheus,
                    scrape_interval=settings.metrics.scrape_interval,
                    exporters=exporters,
                    core_node_labels=CORE_NODE_LABELS,
                    alert_manager_definition=None if topic is None else topic.alert_manager_definition(config.region),
                    after=(cluster.load_balancer_controller,),
                ),
            )
            if topic is not None:
                AirflowAlerts(
                    self,
                    "AirflowAlerts",
                    props=AirflowAlertsProps(
                        workspace=metrics.workspace, thresholds=settings.alarms.thresholds.airflow
                    ),
                )
            # The Spark dashboard only where Spark runs.
            dashboards = {
                name: text
                for name, text in load_dashboards().items()
                if name != "spark" or config.features.spark_operator
            }
            if settings.grafana.enabled:
                grafana = Grafana(
                    self,
                    "Grafana",
                    props=GrafanaProps(
                        cluster=eks_cluster,
                        cluster_name=config.cluster_name,
                        region=config.region,
                        chart=config.versions.helm_charts.grafana,
                        plugins=config.versions.grafana_plugins,
                        dashboards=dashboards,
                        workspace=metrics.workspace,
                        secret_prefix=config.airflow_secret_prefix,
                        secrets_key=data.key,
                        lifecycle=self.lifecycle,
                        core_node_labels=CORE_NODE_LABELS,
                        after=(cluster.external_secrets,),
                    ),
                )
                cdk.CfnOutput(
                    self,
                    "GrafanaCommand",
                    value=f"kubectl port-forward -n {GRAFANA_NAMESPACE} service/{GRAFANA_RELEASE} 3000:{GRAFANA_PORT}",
                    description="Then open http://localhost:3000 (user admin) for the dashboards",
                )
                cdk.CfnOutput(
                    self,
                    "GrafanaAdminPasswordCommand",
                    value=f"aws secretsmanager get-secret-value --secret-id {grafana.admin_password.secret_arn} "
                    "--query SecretString --output text",
                    description="Prints Grafana's admin password",
                )
            if settings.grafana.managed_workspace_id is not None:
                managed = ManagedGrafanaDashboards(
                    self,
                    "ManagedGrafana",
                    props=ManagedGrafanaProps(
                        grafana_workspace_id=settings.grafana.managed_workspace_id,
                        cluster_name=config.cluster_name,
                        region=config.region,
                        dashboards=dashboards,
                        metrics_workspace=metrics.workspace,
                        key=key,
                        lifecycle=self.lifecycle,
                    ),
                )
                cdk.CfnOutput(
                    self,
                    "ManagedGrafanaDataSourceHealth",
                    value=managed.data_source_health,
                    description="Grafana's check of the data source at the last delivery: OK when the workspace's "
                    "role could query AMP",
                )
            if settings.opencost.enabled:
                OpenCost(
                    self,
                    "OpenCost",
                    props=OpenCostProps(
                        cluster=eks_cluster,
                        cluster_name=config.cluster_name,
                        region=config.region,
                        chart=config.versions.helm_charts.opencost,
                        sigv4_proxy=config.versions.aws_sigv4_proxy,
                        workspace=metrics.workspace,
                        scrape_interval=exporters["opencost"].interval(settings.metrics.scrape_interval),
                        agent_namespace=METRICS_NAMESPACE,
                        agent_pod_labels=AGENT_SELECTOR_LABELS,
                        core_node_labels=CORE_NODE_LABELS,
                    ),
                )
                cdk.CfnOutput(
                    self,
                    "OpenCostCommand",
                    value=f"kubectl port-forward -n {OPENCOST_NAMESPACE} service/{OPENCOST_RELEASE} "
                    f"{OPENCOST_UI_PORT}:{OPENCOST_UI_PORT} {OPENCOST_API_PORT}:{OPENCOST_API_PORT}",
                    description=f"Then open http://localhost:{OPENCOST_UI_PORT}, or query "
                    f"http://localhost:{OPENCOST_API_PORT}/allocation/compute (README: Cost visibility)",
                )
            cdk.CfnOutput(
                self,
                "MetricsQueryEndpoint",
                value=metrics.workspace.attr_prometheus_endpoint,
                description="The AMP workspace's Prometheus endpoint (queries need SigV4: awscurl or Grafana)",
            )
        if settings.logs.enabled:
            ContainerLogs(
                self,
                "Logs",
                props=ContainerLogsProps(
                    cluster=eks_cluster,
                    cluster_name=config.cluster_name,
                    region=config.region,
                    chart=config.versions.helm_charts.aws_for_fluent_bit,
                    key=key,
                    lifecycle=self.lifecycle,
                ),
            )
            for name, group in (
                ("ContainerLogGroup", container_log_group(config.cluster_name)),
                ("NodeLogGroup", node_log_group(config.cluster_name)),
            ):
                cdk.CfnOutput(self, name, value=group, description="CloudWatch log group (Logs Insights reads it)")
