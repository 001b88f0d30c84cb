"""Dashboards as code, delivered to an existing Amazon Managed Grafana workspace named in config.

CloudFormation has no resource for what lives inside Grafana, so a deploy-time function
(managed_grafana_handler/index.py) puts the metrics workspace as a data source, a folder and the dashboards of
observability/dashboards/ into the workspace over Grafana's API, with a service-account token that lives for one run.
The workspace's own IAM role signs the queries ("workspace IAM role"), so no credential is stored in Grafana.

Several deployments may share one workspace: everything this puts there is named after the cluster (folder, data
source and dashboard uids), and `cdk destroy` removes exactly that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_aps as aps
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from config.settings import ConfigError
from constructs.observability.names import GRAFANA_DATASOURCE_UID
from constructs.shared.acknowledgments import CT_LAMBDA_IN_VPC, acknowledge
from constructs.shared.handler_role import handler_logs_and_role, python_handler
from constructs.shared.lifecycle import Lifecycle

GRAFANA_UID_MAX = 40
MANAGED_GRAFANA_HANDLER_DIR = Path(__file__).resolve().parent / "managed_grafana_handler"
# What the function does to the workspace: find it, and manage its own service account and that account's tokens.
GRAFANA_ACTIONS = (
    "grafana:DescribeWorkspace",
    "grafana:ListWorkspaceServiceAccounts",
    "grafana:CreateWorkspaceServiceAccount",
    "grafana:DeleteWorkspaceServiceAccount",
    "grafana:CreateWorkspaceServiceAccountToken",
    "grafana:DeleteWorkspaceServiceAccountToken",
)


@dataclass(frozen=True, kw_only=True)
class ManagedGrafanaProps:
    grafana_workspace_id: str
    cluster_name: str
    region: str
    # Dashboard name -> its JSON (observability/dashboards/, those of the components deployed).
    dashboards: Mapping[str, str]
    metrics_workspace: aps.CfnWorkspace
    # The function's log group is encrypted with the stack's key.
    key: kms.IKey
    lifecycle: Lifecycle


class ManagedGrafanaDashboards(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: ManagedGrafanaProps) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        workspace_arn = stack.format_arn(
            service="grafana",
            resource="/workspaces",
            resource_name=props.grafana_workspace_id,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        log_group, role = handler_logs_and_role(
            self,
            logs_id="DeliveryLogs",
            role_id="DeliveryRole",
            key=props.key,
            lifecycle=props.lifecycle,
            description=f"Delivers {props.cluster_name}'s dashboards to Amazon Managed Grafana workspace "
            f"{props.grafana_workspace_id}",
        )
        role.add_to_policy(iam.PolicyStatement(actions=list(GRAFANA_ACTIONS), resources=[workspace_arn]))
        function = python_handler(
            self,
            "Delivery",
            handler_dir=MANAGED_GRAFANA_HANDLER_DIR,
            role=role,
            log_group=log_group,
            # Every call it makes times out within 20 s, so a run ends well inside this.
            timeout=cdk.Duration.minutes(5),
            memory_size=128,
            # CloudFormation invokes asynchronously: a retry after a timeout (the deploy already failed) would put
            # or delete objects behind its back, possibly after the rollback's own run.
            retry_attempts=0,
            description="Deploy-time delivery of the dashboards and data source to Amazon Managed Grafana",
        )
        acknowledge(
            function,
            "Runs once per deploy and calls the Grafana workspace's public endpoint and API; a VPC would add ENIs "
            "that slow `cdk destroy`, and a workspace restricted to VPC endpoints is not one this app supports.",
            CT_LAMBDA_IN_VPC,
        )
        self.delivery = cdk.CustomResource(
            self,
            "Dashboards",
            service_token=function.function_arn,
            resource_type="Custom::ManagedGrafanaDashboards",
            properties=delivery_properties(props),
            # A function that never answered fails the deploy after this, not after CloudFormation's hour.
            service_timeout=cdk.Duration.minutes(10),
        )
        self.delivery.node.add_dependency(role)
        # "OK: ..." when the workspace's role could query the metrics workspace at the last delivery (which runs again
        # when the dashboards or the data source change); otherwise what Grafana answered.
        self.data_source_health = self.delivery.get_att_string("DataSourceHealth")


def grafana_uid(uid: str) -> str:
    """Grafana refuses a uid over 40 characters: caught at synth, not at the dashboard's first POST."""
    if len(uid) > GRAFANA_UID_MAX:
        raise ConfigError(
            f"observability.grafana.managed_workspace_id: the Grafana uid {uid} is longer than {GRAFANA_UID_MAX} "
            "characters; shorten name_prefix or the env name"
        )
    return uid


def delivery_properties(props: ManagedGrafanaProps) -> dict[str, Any]:
    data_source_uid = grafana_uid(f"{props.cluster_name}-{GRAFANA_DATASOURCE_UID}")
    return {
        "WorkspaceId": props.grafana_workspace_id,
        "ServiceAccountName": f"{props.cluster_name}-dashboards",
        "DataSource": {
            "Uid": data_source_uid,
            "Name": f"Amazon Managed Prometheus ({props.cluster_name})",
            "Url": props.metrics_workspace.attr_prometheus_endpoint,
            "Region": props.region,
        },
        "Folder": {"Uid": props.cluster_name, "Title": f"Airflow on EKS ({props.cluster_name})"},
        "Dashboards": {
            name: for_cluster(text, props.cluster_name, data_source_uid) for name, text in props.dashboards.items()
        },
    }


def for_cluster(dashboard_json: str, cluster_name: str, data_source_uid: str) -> str:
    """The dashboard with its uid and title naming the cluster, its panels on that cluster's data source."""
    dashboard = json.loads(dashboard_json)
    dashboard["uid"] = grafana_uid(f"{cluster_name}-{dashboard['uid']}")
    dashboard["title"] = f"{dashboard['title']} ({cluster_name})"

    def rename(node: Any) -> Any:
        if isinstance(node, dict):
            source = node.get("datasource")
            if isinstance(source, dict) and source.get("uid") == GRAFANA_DATASOURCE_UID:
                node["datasource"] = {**source, "uid": data_source_uid}
            for value in node.values():
                rename(value)
        elif isinstance(node, list):
            for value in node:
                rename(value)
        return node

    return json.dumps(rename(dashboard), separators=(",", ":"))
