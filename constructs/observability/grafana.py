"""Dashboards as code: an in-cluster Grafana with the metrics workspace as its only data source (the Amazon Managed
Service for Prometheus plugin, signing with SigV4 as the pod's Pod Identity role, which may only query that
workspace) and the dashboards of observability/dashboards/.

Its admin password is generated in Secrets Manager and reaches the pod the way Airflow's secrets do: a SecretStore
in its namespace (the External Secrets controller's credentials, which read only `<prefix>-<env>/airflow/*`) and an
ExternalSecret; no value passes through CloudFormation or Helm. Reach it with `kubectl port-forward` (the stack's
`GrafanaCommand` output); no load balancer, so it costs no ALB.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import aws_aps as aps
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from config.settings import ConfigError, GrafanaPlugins, HelmChartVersion
from constructs.cluster.eks_iam import PodIdentity
from constructs.observability.names import (
    DASHBOARD_PROVIDER,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_DATASOURCE_TYPE,
    GRAFANA_DATASOURCE_UID,
    GRAFANA_NAMESPACE,
    GRAFANA_RELEASE,
    GRAFANA_SECRET_STORE,
    GRAFANA_SERVICE_ACCOUNT,
)
from constructs.shared.acknowledgments import NAG_SECRET_ROTATION, acknowledge
from constructs.shared.external_secrets import external_secret_manifest, secret_store_manifest
from constructs.shared.helm_release import helm_release
from constructs.shared.helm_values import chart_values
from constructs.shared.lifecycle import Lifecycle
from constructs.shared.namespaces import namespace_manifest

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "observability" / "dashboards"
# Querying a workspace: PromQL, series and label lookups, metric metadata.
QUERY_ACTIONS = ("aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata")


@dataclass(frozen=True, kw_only=True)
class GrafanaProps:
    cluster: eks.ICluster
    cluster_name: str
    region: str
    chart: HelmChartVersion
    plugins: GrafanaPlugins
    # Dashboard name -> its JSON (observability/dashboards/, those of the components deployed).
    dashboards: Mapping[str, str]
    workspace: aps.CfnWorkspace
    # Its admin password is one of the deployment's secrets: under their prefix, with their key, so the External
    # Secrets controller (scoped to both) can read it.
    secret_prefix: str
    secrets_key: kms.IKey
    lifecycle: Lifecycle
    core_node_labels: Mapping[str, str]
    # The External Secrets chart: its CRDs define the admin secret's ExternalSecret, its webhook admits it.
    after: Sequence[Construct]


class Grafana(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: GrafanaProps) -> None:
        super().__init__(scope, construct_id)
        self.admin_password = secretsmanager.Secret(
            self,
            "AdminPassword",
            secret_name=f"{props.secret_prefix}/grafana-admin-password",
            description=f"Password of Grafana's admin user in {props.cluster_name}",
            encryption_key=props.secrets_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=32, exclude_punctuation=True, include_space=False
            ),
            removal_policy=props.lifecycle.removal_policy,
        )
        acknowledge(
            self.admin_password,
            "Grafana keeps no database (persistence off) and recreates its admin user from this secret at every "
            "start, so a new value applies at the first restart after External Secrets' hourly refresh; a rotation "
            "Lambda would add nothing but a function. Rotate by writing a new value and restarting Grafana.",
            NAG_SECRET_ROTATION,
        )
        self.identity = PodIdentity(
            self,
            "Identity",
            cluster=props.cluster,
            namespace=GRAFANA_NAMESPACE,
            service_account=GRAFANA_SERVICE_ACCOUNT,
            description=f"Grafana of EKS cluster {props.cluster_name}: queries its metrics workspace",
            statements=[iam.PolicyStatement(actions=list(QUERY_ACTIONS), resources=[props.workspace.attr_arn])],
        )
        self.namespace = eks.KubernetesManifest(
            self, "Namespace", cluster=props.cluster, manifest=[namespace_manifest(GRAFANA_NAMESPACE)]
        )
        self.admin_secret = eks.KubernetesManifest(
            self,
            "AdminSecret",
            cluster=props.cluster,
            manifest=admin_secret_manifests(props.region, self.admin_password.secret_arn),
        )
        self.admin_secret.node.add_dependency(self.namespace, *props.after)
        self.values = chart_values(props.chart.chart, computed_values(props))
        self.chart = helm_release(
            self,
            "Chart",
            cluster=props.cluster,
            chart=props.chart,
            release=GRAFANA_RELEASE,
            namespace=GRAFANA_NAMESPACE,
            values=self.values,
        )
        # The admin Secret must exist before the pod starts; the association before its first query.
        self.chart.node.add_dependency(self.admin_secret, self.identity, *props.after)


def load_dashboards(folder: Path = DASHBOARDS_DIR) -> dict[str, str]:
    """Dashboard file stem -> its JSON text, compact; ConfigError (one line) for a file that is not JSON."""
    dashboards = {}
    for path in sorted(folder.glob("*.json")):
        try:
            dashboards[path.stem] = json.dumps(json.loads(path.read_text(encoding="utf-8")), separators=(",", ":"))
        except json.JSONDecodeError as err:
            raise ConfigError(f"observability/dashboards/{path.name}: line {err.lineno} is not valid JSON") from None
    if not dashboards:
        raise ConfigError("observability/dashboards/: no dashboard (*.json) to deliver")
    return dashboards


def admin_secret_manifests(region: str, secret_arn: str) -> list[dict[str, Any]]:
    """The store of namespace `grafana`, and the Secret with admin-user and admin-password the chart reads."""
    external_secret = external_secret_manifest(
        GRAFANA_ADMIN_SECRET,
        GRAFANA_NAMESPACE,
        GRAFANA_SECRET_STORE,
        {"data": [{"secretKey": "password", "remoteRef": {"key": secret_arn}}]},
    )
    external_secret["spec"]["target"]["template"] = {
        "engineVersion": "v2",
        "type": "Opaque",
        "data": {"admin-user": "admin", "admin-password": "{{ .password }}"},
    }
    return [secret_store_manifest(GRAFANA_SECRET_STORE, GRAFANA_NAMESPACE, region), external_secret]


def computed_values(props: GrafanaProps) -> dict[str, Any]:
    return {
        "serviceAccount": {"name": GRAFANA_SERVICE_ACCOUNT},
        # Installed at every start (no volume keeps it), at the version versions.yaml pins.
        "plugins": [f"{GRAFANA_DATASOURCE_TYPE}@{props.plugins.amazon_prometheus}"],
        "nodeSelector": dict(props.core_node_labels),
        "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
        "datasources": {
            "datasources.yaml": {
                "apiVersion": 1,
                "datasources": [
                    {
                        "name": "Amazon Managed Prometheus",
                        "uid": GRAFANA_DATASOURCE_UID,
                        "type": GRAFANA_DATASOURCE_TYPE,
                        "access": "proxy",
                        "isDefault": True,
                        "editable": False,
                        "url": props.workspace.attr_prometheus_endpoint,
                        "jsonData": {
                            "httpMethod": "POST",
                            "sigV4Auth": True,
                            "sigV4AuthType": "default",
                            "sigV4Region": props.region,
                        },
                    }
                ],
            }
        },
        "dashboards": {DASHBOARD_PROVIDER: {name: {"json": text} for name, text in props.dashboards.items()}},
    }
