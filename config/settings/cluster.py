"""The `cluster` section: the EKS control plane (version, endpoint, admins, logs), core nodes and add-ons.

It owns the checks within the section and the cluster's production rules. Karpenter's part of the section is
in karpenter.py; whether the Kubernetes version and the add-ons are pinned in versions.yaml is checked by
AppConfig, which holds both files.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, JsonValue, field_validator, model_validator

from config.settings.base import (
    ConfigKeyError,
    K8sName,
    PositiveInt,
    ProductionProblem,
    StrictModel,
    bounded_cidrs,
    instance_type_name,
    reject_repeated_names,
)
from config.settings.karpenter import KarpenterConfig


def _is_graviton(instance_type: str) -> bool:
    # Graviton families carry a "g" right after the generation digit: t4g, m7g, c7gd, r8g.
    return re.match(r"^[a-z]+\d+g", instance_type) is not None


class NodeGroupConfig(StrictModel):
    instance_types: Annotated[list[str], Field(min_length=1)]
    min_size: Annotated[int, Field(ge=0)]
    desired_size: Annotated[int, Field(ge=0)]
    max_size: PositiveInt
    disk_size_gib: Annotated[int, Field(ge=20, le=1000)]
    capacity_type: Literal["ON_DEMAND", "SPOT"]

    @field_validator("instance_types")
    @classmethod
    def _instance_type_names(cls, value: list[str]) -> list[str]:
        for name in value:
            instance_type_name(name, "an EC2 instance type name like 'm7g.large'")
        return value

    @property
    def architecture(self) -> Literal["arm64", "x86_64"]:
        return "arm64" if _is_graviton(self.instance_types[0]) else "x86_64"

    @model_validator(mode="after")
    def _sizes_ordered(self) -> NodeGroupConfig:
        if len({_is_graviton(name) for name in self.instance_types}) > 1:
            raise ConfigKeyError(
                "instance_types", "mixes Graviton (arm64) and x86_64 types; one node group has one AMI"
            )
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) > max_size ({self.max_size})")
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"desired_size ({self.desired_size}) must lie between "
                f"min_size ({self.min_size}) and max_size ({self.max_size})"
            )
        return self


ControlPlaneLogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]


class EndpointConfig(StrictModel):
    # private: the API server is reachable from the VPC only (kubectl via VPN, peering or a bastion).
    # public_and_private: nodes still use the private endpoint; people reach the public one from the listed CIDRs.
    access: Literal["private", "public_and_private"]
    public_access_cidrs: list[str] = []

    @field_validator("public_access_cidrs")
    @classmethod
    def _public_cidrs(cls, value: list[str]) -> list[str]:
        return bounded_cidrs(value, "opens the API server to the whole internet")

    @model_validator(mode="after")
    def _cidrs_match_access(self) -> EndpointConfig:
        if self.access == "public_and_private" and not self.public_access_cidrs:
            raise ConfigKeyError(
                "public_access_cidrs", "list the CIDRs that may reach the public endpoint, or use private"
            )
        if self.access == "private" and self.public_access_cidrs:
            raise ConfigKeyError("public_access_cidrs", "must be empty when access is private")
        return self


class PodIdentityConfig(StrictModel):
    """The add-on's own IAM role, assumed through EKS Pod Identity by one service account in kube-system."""

    service_account: K8sName
    # AWS-managed policies, e.g. service-role/AmazonEBSCSIDriverPolicy: AWS keeps them in step with the driver.
    managed_policies: Annotated[
        list[Annotated[str, Field(pattern=r"^([A-Za-z0-9-]+/)?[A-Za-z0-9_-]+$")]], Field(min_length=1)
    ]


class AddonConfig(StrictModel):
    name: K8sName
    # Add-ons whose pods must run before the add-on reports healthy wait for the core node group; the others
    # (node daemons such as vpc-cni) come first so nodes join a working network.
    after_nodes: bool
    pod_identity: PodIdentityConfig | None = None
    # The add-on's configuration values (keys as `aws eks describe-addon-configuration` lists them), sent as JSON;
    # EKS validates them against the add-on version's schema at deploy time.
    configuration: Annotated[dict[str, JsonValue], Field(min_length=1)] | None = None


# Add-ons the rest of the app relies on: networking, DNS, and Pod Identity for Karpenter and the LB controller.
REQUIRED_ADDONS = ("vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent")


class ClusterAutoscalerConfig(StrictModel):
    # The Cluster Autoscaler for the core managed node group (within its min_size..max_size); Karpenter serves the
    # workload pools either way.
    enabled: bool


class ClusterConfig(StrictModel):
    kubernetes_version: str
    endpoint: EndpointConfig
    # IAM role ARNs that get cluster-admin through an EKS access entry, so people can run kubectl.
    admin_role_arns: list[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")]]
    control_plane_logs: list[ControlPlaneLogType]
    core_nodes: NodeGroupConfig
    addons: list[AddonConfig]
    karpenter: KarpenterConfig
    cluster_autoscaler: ClusterAutoscalerConfig

    @field_validator("control_plane_logs")
    @classmethod
    def _logs_once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a log type twice")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ClusterConfig:
        if self.core_nodes.min_size < 2:
            raise ConfigKeyError(
                "core_nodes.min_size", "must be at least 2 so the cluster's HA controllers spread over nodes"
            )
        names = [addon.name for addon in self.addons]
        reject_repeated_names("addons", names, "is listed twice")
        for name in REQUIRED_ADDONS:
            if name not in names:
                raise ConfigKeyError(
                    "addons", f"{name} is required (the cluster's network, DNS and Pod Identity need it)"
                )
        self._check_coredns_autoscaling(names.index("coredns"))
        return self

    def _check_coredns_autoscaling(self, index: int) -> None:
        """The CoreDNS add-on's own autoscaler (`autoScaling`), checked here because EKS would refuse it only
        minutes into a deploy."""
        scaling = (self.addons[index].configuration or {}).get("autoScaling")
        if scaling is None:
            return
        key = f"addons[{index}].configuration.autoScaling"
        if not isinstance(scaling, dict) or set(scaling) - {"enabled", "minReplicas", "maxReplicas"}:
            raise ConfigKeyError(key, "takes only enabled, minReplicas and maxReplicas")
        if not isinstance(scaling.get("enabled"), bool):
            raise ConfigKeyError(f"{key}.enabled", "must be true or false")
        bounds = {
            name: scaling.get(name, 2 if name == "minReplicas" else 10) for name in ("minReplicas", "maxReplicas")
        }
        for name, value in bounds.items():
            if not isinstance(value, int) or isinstance(value, bool) or not 2 <= value <= 1000:
                raise ConfigKeyError(f"{key}.{name}", "must be a whole number from 2 to 1000 (EKS's bounds)")
        if bounds["minReplicas"] > bounds["maxReplicas"]:
            raise ConfigKeyError(f"{key}.minReplicas", "is above maxReplicas")

    def production_problems(self, *, az_count: int) -> list[ProductionProblem]:
        """Audit trails, and core nodes that survive an AZ or a spot reclaim; `az_count` is network.az_count."""
        problems = []
        if not {"audit", "authenticator"} <= set(self.control_plane_logs):
            problems.append(("cluster.control_plane_logs", "must include audit and authenticator in a production env"))
        if self.core_nodes.capacity_type != "ON_DEMAND":
            problems.append(
                (
                    "cluster.core_nodes.capacity_type",
                    "must be ON_DEMAND in a production env (spot reclaims would take the control components down)",
                )
            )
        if self.core_nodes.min_size < max(3, az_count):
            problems.append(
                ("cluster.core_nodes.min_size", "must be at least 3 and at least az_count in a production env")
            )
        return problems
