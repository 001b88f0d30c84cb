"""Names the observability constructs and their tests share: namespaces, releases, service accounts, log groups."""

from __future__ import annotations

LOGS_NAMESPACE = "fluent-bit"
FLUENT_BIT_RELEASE = "aws-for-fluent-bit"
FLUENT_BIT_SERVICE_ACCOUNT = "aws-for-fluent-bit"

METRICS_NAMESPACE = "prometheus"
PROMETHEUS_AGENT = "prometheus-agent"
PROMETHEUS_PORT = 9090


def container_log_group(cluster_name: str) -> str:
    """Every container's stdout and stderr, one stream per namespace, pod and container."""
    return f"/aws/eks/{cluster_name}/containers"


def node_log_group(cluster_name: str) -> str:
    """The kubelet's and containerd's journal of every node, one stream per node."""
    return f"/aws/eks/{cluster_name}/nodes"


GRAFANA_NAMESPACE = "grafana"
GRAFANA_RELEASE = "grafana"
GRAFANA_SERVICE_ACCOUNT = "grafana"
GRAFANA_SECRET_STORE = "secrets-manager"
# The Secret with admin-user and admin-password the chart reads (admin.existingSecret).
GRAFANA_ADMIN_SECRET = "grafana-admin"
# Every dashboard panel names this data source (observability/dashboards/*.json), of the AMP plugin's type.
GRAFANA_DATASOURCE_UID = "amp"
GRAFANA_DATASOURCE_TYPE = "grafana-amazonprometheus-datasource"
# The dashboard provider of helm_values/grafana.yaml, whose folder holds the app's dashboards.
DASHBOARD_PROVIDER = "app"
GRAFANA_PORT = 80

OPENCOST_NAMESPACE = "opencost"
OPENCOST_RELEASE = "opencost"
OPENCOST_SERVICE_ACCOUNT = "opencost"
# The exporter's API (allocation queries, /metrics) and the UI, on the chart's Service.
OPENCOST_API_PORT = 9003
OPENCOST_UI_PORT = 9090
# The Spark Operator labels every driver and executor pod with its SparkApplication's name; OpenCost aggregates by
# a pod label in its Prometheus-sanitized form.
SPARK_APPLICATION_LABEL = "sparkoperator.k8s.io/app-name"
