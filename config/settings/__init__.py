"""The one validated configuration every stack and construct is built from.

`load_config(env)` reads `config/<env>.yaml` and `versions.yaml`, validates them and returns an immutable
`AppConfig`. Bad input raises `ConfigError` with one line naming the key and the problem; `app.py` prints that
line and exits non-zero before any construct exists, so nothing is half-created.

One module per section (network, cluster, karpenter, data, logging, airflow, spark, observability, versions),
the app root in `app`, the reading and error wording in `loader`, and what they share in `base`; `ci` holds the
pull-request workflow's `cdk diff` role, which is no env. Import from here:
`from config.settings import AppConfig`.
"""

from config.settings.airflow import AirflowConfig, DagsConfig, GitSyncConfig, IngressConfig
from config.settings.app import AppConfig, FeatureToggles
from config.settings.base import (
    K8S_NAME,
    ConfigError,
    Duration,
    K8sName,
    PositiveInt,
    RemovalPolicyName,
)
from config.settings.ci import CiDiffRoleConfig
from config.settings.cluster import (
    REQUIRED_ADDONS,
    AddonConfig,
    ClusterConfig,
    ControlPlaneLogType,
    EndpointConfig,
    NodeGroupConfig,
    PodIdentityConfig,
)
from config.settings.data import DatabaseConfig
from config.settings.karpenter import (
    NODE_POOL_REQUIREMENT_VALUES,
    KarpenterConfig,
    KarpenterControllerConfig,
    NodeClassConfig,
    NodePoolConfig,
    TaintConfig,
)
from config.settings.loader import (
    CI_DIFF_ROLE_FILE,
    CONFIG_DIR,
    ENV_NAME_PATTERN,
    VERSIONS_FILE,
    available_envs,
    load_ci_diff_role_config,
    load_config,
)
from config.settings.logging import LoggingConfig
from config.settings.network import NetworkConfig
from config.settings.observability import (
    AlarmsConfig,
    AlarmThresholds,
    LogsConfig,
    MetricsConfig,
    ObservabilityConfig,
)
from config.settings.spark import SparkConfig, SparkHistoryServerConfig
from config.settings.versions import (
    AddonVersion,
    AirflowVersion,
    GrafanaPlugins,
    HelmCharts,
    HelmChartVersion,
    ImageVersion,
    KubernetesVersions,
    PostgresVersion,
    SparkVersion,
    Versions,
)

__all__ = [
    "CI_DIFF_ROLE_FILE",
    "CONFIG_DIR",
    "ENV_NAME_PATTERN",
    "K8S_NAME",
    "NODE_POOL_REQUIREMENT_VALUES",
    "REQUIRED_ADDONS",
    "VERSIONS_FILE",
    "AddonConfig",
    "AddonVersion",
    "AirflowConfig",
    "AirflowVersion",
    "AlarmThresholds",
    "AlarmsConfig",
    "AppConfig",
    "CiDiffRoleConfig",
    "ClusterConfig",
    "ConfigError",
    "ControlPlaneLogType",
    "DatabaseConfig",
    "DagsConfig",
    "Duration",
    "EndpointConfig",
    "FeatureToggles",
    "GitSyncConfig",
    "GrafanaPlugins",
    "HelmChartVersion",
    "HelmCharts",
    "ImageVersion",
    "IngressConfig",
    "K8sName",
    "KarpenterConfig",
    "KarpenterControllerConfig",
    "KubernetesVersions",
    "LoggingConfig",
    "LogsConfig",
    "MetricsConfig",
    "NetworkConfig",
    "NodeClassConfig",
    "NodeGroupConfig",
    "NodePoolConfig",
    "ObservabilityConfig",
    "PodIdentityConfig",
    "PositiveInt",
    "PostgresVersion",
    "RemovalPolicyName",
    "SparkConfig",
    "SparkHistoryServerConfig",
    "SparkVersion",
    "TaintConfig",
    "Versions",
    "available_envs",
    "load_ci_diff_role_config",
    "load_config",
]
