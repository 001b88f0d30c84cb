"""The names the Airflow release and the app's own Kubernetes objects agree on, defined once.

The chart is told every service-account and secret name explicitly (instead of relying on its naming rules for
the release name), so Pod Identity associations, ExternalSecrets and the release values all read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs.data.dag_delivery import CURRENT_LINK

NAMESPACE = "airflow"
RELEASE = "airflow"
# The chart's api-server Service, `<release>-api-server` on port 8080 (the chart's fullname is the release name
# when that contains "airflow").
API_SERVER_SERVICE = f"{RELEASE}-api-server"
API_SERVER_PORT = 8080
HEALTH_CHECK_PATH = "/api/v2/monitor/health"
INGRESS = f"{RELEASE}-api-server"

# KubernetesExecutor task pods run as this account, which the app creates (the chart is told not to).
WORKER_SERVICE_ACCOUNT = f"{RELEASE}-worker"


@dataclass(frozen=True, kw_only=True)
class ComponentAccount:
    """An Airflow component whose pods call AWS, the values key that configures it and its service account."""

    component: str
    values_key: str
    service_account: str


SCHEDULER = ComponentAccount(component="scheduler", values_key="scheduler", service_account=f"{RELEASE}-scheduler")
API_SERVER = ComponentAccount(component="api-server", values_key="apiServer", service_account=f"{RELEASE}-api-server")
DAG_PROCESSOR = ComponentAccount(
    component="dag-processor", values_key="dagProcessor", service_account=f"{RELEASE}-dag-processor"
)
TRIGGERER = ComponentAccount(component="triggerer", values_key="triggerer", service_account=f"{RELEASE}-triggerer")
WORKER = ComponentAccount(component="worker", values_key="workers", service_account=WORKER_SERVICE_ACCOUNT)
# Components whose service account the chart creates, under the name given here.
CHART_ACCOUNTS = (SCHEDULER, API_SERVER, DAG_PROCESSOR, TRIGGERER)


@dataclass(frozen=True, kw_only=True)
class SecretRef:
    """A Kubernetes Secret the chart reads (produced by an ExternalSecret) and the key it reads."""

    name: str
    key: str


# The chart's fixed keys: `connection` for the metadata DB, and one per generated secret.
METADATA_SECRET = SecretRef(name=f"{RELEASE}-metadata", key="connection")
# Airflow 3.3's async engine (asyncpg) rejects libpq's `sslmode`, so it gets its own URI with `ssl=require`.
METADATA_ASYNC_KEY = "connection-async"
FERNET_KEY_SECRET = SecretRef(name=f"{RELEASE}-fernet-key", key="fernet-key")
API_SECRET_KEY_SECRET = SecretRef(name=f"{RELEASE}-api-secret-key", key="api-secret-key")
JWT_SECRET = SecretRef(name=f"{RELEASE}-jwt-secret", key="jwt-secret")
ADMIN_PASSWORD_SECRET = SecretRef(name=f"{RELEASE}-admin-password", key="password")
ADMIN_PASSWORD_ENV = "AIRFLOW_ADMIN_PASSWORD"

SECRET_STORE = "aws-secrets-manager"

# DAG volume: the data layer's EFS access point, bound statically to this claim.
DAGS_CLAIM = "airflow-dags"
DAGS_STORAGE_CLASS = "efs"
DAGS_MOUNT_PATH = "/opt/airflow/dags"
# `cdk deploy` writes complete releases beside this symlink and swaps it (constructs/data/dag_delivery.py).
DAGS_CURRENT = CURRENT_LINK
