"""The app root: `AppConfig`, one env's whole validated config, and its feature toggles.

It holds the app-level keys (names, account, region, removal policy, ingress CIDRs), the checks that span
sections or files (Kubernetes version and add-ons pinned in versions.yaml, AZs of the region, ingress outside
the VPC), and the production gate: it collects each section's `production_problems` and raises the first.
It also derives the names every stack uses (cluster_name, availability_zones, stack_name).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from config.settings.airflow import AirflowConfig
from config.settings.base import ConfigKeyError, ProductionProblem, RemovalPolicyName, StrictModel, bounded_cidrs
from config.settings.cluster import ClusterConfig
from config.settings.data import DatabaseConfig
from config.settings.karpenter import NODE_POOL_REQUIREMENT_VALUES, NodePoolConfig
from config.settings.logging import LoggingConfig
from config.settings.network import NetworkConfig
from config.settings.observability import ObservabilityConfig
from config.settings.spark import SparkConfig
from config.settings.versions import Versions

# Where Spark pods run on the spark pool: drivers hold the job's state, so they are not put on Spot; executors are
# retried by Spark when Spot reclaims their node.
SPARK_CAPACITY_TYPES = {"driver": "on-demand", "executor": "spot"}


class FeatureToggles(StrictModel):
    spark_operator: bool
    observability: bool


class AppConfig(StrictModel):
    env_name: str
    # production: availability and durability controls are required, never waived.
    # development: they may be turned off to idle cheaply; each such waiver is acknowledged with "dev env".
    environment_type: Literal["development", "production"]
    name_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,19}$")]
    # The `project` cost-allocation tag; `env` is the env name and `component` the stack's.
    project: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,62}$")]
    account: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
    removal_policy: RemovalPolicyName
    allowed_ingress_cidrs: list[str]
    network: NetworkConfig
    cluster: ClusterConfig
    database: DatabaseConfig
    logging: LoggingConfig
    airflow: AirflowConfig
    spark: SparkConfig
    observability: ObservabilityConfig
    features: FeatureToggles
    versions: Versions

    @field_validator("allowed_ingress_cidrs")
    @classmethod
    def _ingress_cidrs(cls, value: list[str]) -> list[str]:
        return bounded_cidrs(value, "admits the whole internet; list the ranges that need access")

    @model_validator(mode="after")
    def _cross_field(self) -> AppConfig:
        supported = self.versions.kubernetes.supported
        if self.cluster.kubernetes_version not in supported:
            raise ConfigKeyError(
                "cluster.kubernetes_version",
                f"{self.cluster.kubernetes_version!r} is not supported (supported: {', '.join(supported)})",
            )
        for index, az in enumerate(self.network.availability_zones or []):
            if not re.fullmatch(re.escape(self.region) + r"[a-z]", az):
                raise ConfigKeyError(
                    f"network.availability_zones[{index}]", f"{az!r} is not an AZ of region {self.region}"
                )
        for index, addon in enumerate(self.cluster.addons):
            if addon.name not in self.versions.eks_addons:
                raise ConfigKeyError(
                    f"cluster.addons[{index}].name",
                    f"{addon.name!r} has no version in versions.yaml eks_addons (add it there, or 'default')",
                )
        if self.environment_type == "production":
            problems = self.production_problems()
            if problems:
                raise ConfigKeyError(*problems[0])
        self._check_airflow_task_pool()
        if self.features.spark_operator:
            self._check_spark_pool()
        self._check_airflow_ingress()
        vpc = ipaddress.IPv4Network(self.network.vpc_cidr)
        for index, cidr in enumerate(self.allowed_ingress_cidrs):
            if ipaddress.IPv4Network(cidr).overlaps(vpc):
                raise ConfigKeyError(
                    f"allowed_ingress_cidrs[{index}]",
                    f"{cidr} overlaps the VPC CIDR {vpc}; list external ranges only",
                )
        return self

    def _require_node_pool(self, key: str, name: str) -> NodePoolConfig:
        """The NodePool `name`, which the setting at `key` names; ConfigKeyError when there is none."""
        pool = self.node_pool(name)
        if pool is None:
            pools = ", ".join(pool.name for pool in self.cluster.karpenter.node_pools)
            raise ConfigKeyError(key, f"{name!r} is not a NodePool in cluster.karpenter.node_pools ({pools})")
        return pool

    def _check_airflow_task_pool(self) -> None:
        self._require_node_pool("airflow.task_node_pool", self.airflow.task_node_pool)

    def _check_spark_pool(self) -> None:
        pool = self._require_node_pool("spark.node_pool", self.spark.node_pool)
        # Drivers ask for on-demand capacity and executors for Spot: a pool without both leaves one side Pending.
        missing = sorted(set(SPARK_CAPACITY_TYPES.values()) - set(pool.requirements["karpenter.sh/capacity-type"]))
        if missing:
            raise ConfigKeyError(
                "spark.node_pool",
                f"NodePool {pool.name!r} does not allow capacity type {', '.join(missing)}: Spark drivers run "
                "on-demand and executors on Spot",
            )
        unsupported = sorted(
            # A pool that does not restrict the architecture may launch any Karpenter does.
            set(pool.requirements.get("kubernetes.io/arch", NODE_POOL_REQUIREMENT_VALUES["kubernetes.io/arch"]))
            - set(self.versions.spark.architectures)
        )
        if unsupported:
            raise ConfigKeyError(
                "spark.node_pool",
                f"NodePool {pool.name!r} may launch {', '.join(unsupported)} nodes, which the Spark image "
                f"{self.versions.spark.image} is not built for; restrict its kubernetes.io/arch",
            )

    def _check_airflow_ingress(self) -> None:
        ingress = self.airflow.ingress
        if ingress.scheme == "internet-facing" and not self.allowed_ingress_cidrs:
            raise ConfigKeyError(
                "airflow.ingress.scheme",
                "internet-facing needs allowed_ingress_cidrs: the ALB admits only the listed ranges",
            )
        # ACM certificates are regional: the ALB can only use one from its own region.
        if ingress.certificate_arn is not None and ingress.certificate_arn.split(":")[3] != self.region:
            raise ConfigKeyError(
                "airflow.ingress.certificate_arn",
                f"is in region {ingress.certificate_arn.split(':')[3]}, not {self.region}; the ALB needs a "
                "certificate from its own region",
            )

    def production_problems(self) -> list[ProductionProblem]:
        """Every production rule this config breaks, in the order they are reported; the first one is raised."""
        problems: list[ProductionProblem] = []
        if self.removal_policy == "destroy":
            problems.append(("removal_policy", "must be retain or snapshot in a production env"))
        problems += self.database.production_problems()
        problems += self.network.production_problems()
        problems += self.logging.production_problems()
        problems += self.cluster.production_problems(az_count=self.network.az_count)
        problems += self.airflow.production_problems()
        if not self.features.observability:
            problems.append(("features.observability", "must be true in a production env"))
        else:
            problems += self.observability.production_problems()
        return problems

    @property
    def is_development(self) -> bool:
        return self.environment_type == "development"

    # ---- derived values: computed here once so no construct re-derives them differently ----

    @property
    def cluster_name(self) -> str:
        return f"{self.name_prefix}-{self.env_name}"

    @property
    def availability_zones(self) -> list[str]:
        names = self.network.availability_zones or [f"{self.region}{letter}" for letter in "abc"]
        return names[: self.network.az_count]

    @property
    def airflow_task_pool(self) -> NodePoolConfig | None:
        """The NodePool airflow.task_node_pool names (None only before validation has refused the name)."""
        return self.node_pool(self.airflow.task_node_pool)

    @property
    def spark_node_pool(self) -> NodePoolConfig | None:
        """The NodePool spark.node_pool names (None only before validation has refused the name)."""
        return self.node_pool(self.spark.node_pool)

    def node_pool(self, name: str) -> NodePoolConfig | None:
        return next((pool for pool in self.cluster.karpenter.node_pools if pool.name == name), None)

    @property
    def airflow_secret_prefix(self) -> str:
        """Every Airflow secret in Secrets Manager is named `<prefix>/<name>`; readers are scoped to this prefix."""
        return f"{self.cluster_name}/airflow"

    @property
    def data_key_alias(self) -> str:
        """The alias of the data stack's KMS key; the cluster stack scopes secret decryption to it by alias."""
        return f"alias/{self.cluster_name}/airflow-data"

    def stack_name(self, component: str) -> str:
        return f"{self.name_prefix}-{self.env_name}-{component}"
