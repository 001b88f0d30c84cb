"""The one validated configuration every stack and construct is built from.

`load_config(env)` reads `config/<env>.yaml` and `versions.yaml`, validates them and returns an immutable
`AppConfig`. Bad input raises `ConfigError` with one line naming the key and the problem; `app.py` prints that
line and exits non-zero before any construct exists, so nothing is half-created.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

CONFIG_DIR = Path(__file__).resolve().parent
VERSIONS_FILE = CONFIG_DIR.parent / "versions.yaml"

ENV_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


class ConfigError(Exception):
    """A configuration problem, worded as one line for the person who wrote the config."""


class _KeyError(ValueError):
    """A cross-field problem that belongs to one specific key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


class _Strict(BaseModel):
    # Unknown keys are typos until proven otherwise; frozen so no construct can change what another one reads.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# "snapshot" applies to resources CloudFormation can snapshot (the DB instance); the others are retained.
RemovalPolicyName = Literal["destroy", "retain", "snapshot"]


PositiveInt = Annotated[int, Field(ge=1)]


def _network(value: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ValueError(f"{value!r} is not a valid IPv4 CIDR ({err})") from None


def _bounded_cidrs(value: list[str], whole_internet_problem: str) -> list[str]:
    """Valid IPv4 CIDRs, none of them /0."""
    for index, cidr in enumerate(value):
        try:
            network = _network(cidr)
        except ValueError as err:
            raise ValueError(f"[{index}]: {err}") from None
        if network.prefixlen == 0:
            raise ValueError(f"[{index}]: {cidr} {whole_internet_problem}")
    return value


class NetworkConfig(_Strict):
    vpc_cidr: str
    az_count: Annotated[int, Field(ge=2, le=3)]
    # Explicit AZ names keep synth offline; when omitted they are <region>a, <region>b, <region>c.
    availability_zones: list[str] | None = None
    nat_gateways: PositiveInt
    interface_endpoints: bool

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr_is_private_and_sized(cls, value: str) -> str:
        network = _network(value)
        if not network.is_private:
            raise ValueError(f"{value} is not a private (RFC 1918) range")
        if not 16 <= network.prefixlen <= 18:
            raise ValueError(f"{value} must be a /16 to /18 so pod-sized private subnets fit")
        return value

    @model_validator(mode="after")
    def _nat_within_azs(self) -> NetworkConfig:
        if self.nat_gateways > self.az_count:
            raise ValueError(f"nat_gateways ({self.nat_gateways}) must not exceed az_count ({self.az_count})")
        if self.availability_zones is not None:
            if len(set(self.availability_zones)) != len(self.availability_zones):
                raise ValueError("availability_zones lists an AZ twice")
            if len(self.availability_zones) < self.az_count:
                raise ValueError(
                    f"availability_zones names {len(self.availability_zones)} AZs, "
                    f"fewer than az_count ({self.az_count})"
                )
        return self


def _is_graviton(instance_type: str) -> bool:
    # Graviton families carry a "g" right after the generation digit: t4g, m7g, c7gd, r8g.
    return re.match(r"^[a-z]+\d+g", instance_type) is not None


class NodeGroupConfig(_Strict):
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
            if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", name):
                raise ValueError(f"{name!r} is not an EC2 instance type name like 'm7g.large'")
        return value

    @property
    def architecture(self) -> Literal["arm64", "x86_64"]:
        return "arm64" if _is_graviton(self.instance_types[0]) else "x86_64"

    @model_validator(mode="after")
    def _sizes_ordered(self) -> NodeGroupConfig:
        if len({_is_graviton(name) for name in self.instance_types}) > 1:
            raise _KeyError("instance_types", "mixes Graviton (arm64) and x86_64 types; one node group has one AMI")
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) > max_size ({self.max_size})")
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"desired_size ({self.desired_size}) must lie between "
                f"min_size ({self.min_size}) and max_size ({self.max_size})"
            )
        return self


ControlPlaneLogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
K8S_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
K8sName = Annotated[str, Field(pattern=K8S_NAME, max_length=63)]
# Go durations as Karpenter accepts them, e.g. 30s, 5m, 720h.
Duration = Annotated[str, Field(pattern=r"^([0-9]+(s|m|h))+$")]


class EndpointConfig(_Strict):
    # private: the API server is reachable from the VPC only (kubectl via VPN, peering or a bastion).
    # public_and_private: nodes still use the private endpoint; people reach the public one from the listed CIDRs.
    access: Literal["private", "public_and_private"]
    public_access_cidrs: list[str] = []

    @field_validator("public_access_cidrs")
    @classmethod
    def _public_cidrs(cls, value: list[str]) -> list[str]:
        return _bounded_cidrs(value, "opens the API server to the whole internet")

    @model_validator(mode="after")
    def _cidrs_match_access(self) -> EndpointConfig:
        if self.access == "public_and_private" and not self.public_access_cidrs:
            raise _KeyError("public_access_cidrs", "list the CIDRs that may reach the public endpoint, or use private")
        if self.access == "private" and self.public_access_cidrs:
            raise _KeyError("public_access_cidrs", "must be empty when access is private")
        return self


class PodIdentityConfig(_Strict):
    """The add-on's own IAM role, assumed through EKS Pod Identity by one service account in kube-system."""

    service_account: K8sName
    # AWS-managed policies, e.g. service-role/AmazonEBSCSIDriverPolicy: AWS keeps them in step with the driver.
    managed_policies: Annotated[
        list[Annotated[str, Field(pattern=r"^([A-Za-z0-9-]+/)?[A-Za-z0-9_-]+$")]], Field(min_length=1)
    ]


class AddonConfig(_Strict):
    name: K8sName
    # Add-ons whose pods must run before the add-on reports healthy wait for the core node group; the others
    # (node daemons such as vpc-cni) come first so nodes join a working network.
    after_nodes: bool
    pod_identity: PodIdentityConfig | None = None


# Add-ons the rest of the app relies on: networking, DNS, and Pod Identity for Karpenter and the LB controller.
REQUIRED_ADDONS = ("vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent")


class NodeClassConfig(_Strict):
    """A Karpenter EC2NodeClass: how nodes are built (AMI, disks, metadata service)."""

    name: K8sName
    root_volume_gib: Annotated[int, Field(ge=20, le=1000)]
    # RAID0 stripes the instance's local NVMe disks and puts kubelet and container storage on them.
    instance_store_policy: Literal["RAID0"] | None = None
    # 1: pods cannot reach the instance metadata service (and so not the node role); they use Pod Identity.
    metadata_hop_limit: Annotated[int, Field(ge=1, le=2)]


NODE_POOL_REQUIREMENT_VALUES = {
    "karpenter.sh/capacity-type": {"spot", "on-demand"},
    "kubernetes.io/arch": {"amd64", "arm64"},
}


class TaintConfig(_Strict):
    key: Annotated[str, Field(min_length=1, max_length=253)]
    value: Annotated[str, Field(max_length=63)]
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodePoolConfig(_Strict):
    """A Karpenter NodePool: which instances may be launched for which pods, and when they go away."""

    name: K8sName
    node_class: K8sName
    # Requirement key -> allowed values (operator In), e.g. karpenter.k8s.aws/instance-family: [c6id, c7gd].
    requirements: Annotated[dict[str, Annotated[list[str], Field(min_length=1)]], Field(min_length=1)]
    labels: dict[str, str] = {}
    taints: list[TaintConfig] = []
    cpu_limit: PositiveInt
    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"]
    consolidate_after: Duration
    expire_after: Duration

    @field_validator("requirements")
    @classmethod
    def _known_values(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, allowed in NODE_POOL_REQUIREMENT_VALUES.items():
            unknown = sorted(set(value.get(key, [])) - allowed)
            if unknown:
                raise ValueError(f"{key}: {', '.join(unknown)} not one of {', '.join(sorted(allowed))}")
        if "karpenter.sh/capacity-type" not in value:
            raise ValueError("karpenter.sh/capacity-type must be listed (spot, on-demand or both)")
        return value


class KarpenterControllerConfig(_Strict):
    replicas: Annotated[int, Field(ge=1, le=3)]
    cpu: Annotated[str, Field(pattern=r"^[0-9]+m?$")]
    memory: Annotated[str, Field(pattern=r"^[0-9]+(Mi|Gi)$")]


class KarpenterConfig(_Strict):
    controller: KarpenterControllerConfig
    node_classes: Annotated[list[NodeClassConfig], Field(min_length=1)]
    node_pools: list[NodePoolConfig]

    @model_validator(mode="after")
    def _references(self) -> KarpenterConfig:
        for kind, items in (("node_classes", self.node_classes), ("node_pools", self.node_pools)):
            names = [item.name for item in items]
            for index, name in enumerate(names):
                if name in names[:index]:
                    raise _KeyError(f"{kind}[{index}].name", f"{name!r} is used twice")
        classes = {node_class.name for node_class in self.node_classes}
        for index, pool in enumerate(self.node_pools):
            if pool.node_class not in classes:
                raise _KeyError(
                    f"node_pools[{index}].node_class",
                    f"{pool.node_class!r} is not a node class (defined: {', '.join(sorted(classes))})",
                )
        return self


class ClusterConfig(_Strict):
    kubernetes_version: str
    endpoint: EndpointConfig
    # IAM role ARNs that get cluster-admin through an EKS access entry, so people can run kubectl.
    admin_role_arns: list[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")]]
    control_plane_logs: list[ControlPlaneLogType]
    core_nodes: NodeGroupConfig
    addons: list[AddonConfig]
    karpenter: KarpenterConfig

    @field_validator("control_plane_logs")
    @classmethod
    def _logs_once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a log type twice")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ClusterConfig:
        if self.core_nodes.min_size < 2:
            raise _KeyError(
                "core_nodes.min_size", "must be at least 2 so the cluster's HA controllers spread over nodes"
            )
        names = [addon.name for addon in self.addons]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise _KeyError(f"addons[{index}].name", f"{name!r} is listed twice")
        for name in REQUIRED_ADDONS:
            if name not in names:
                raise _KeyError("addons", f"{name} is required (the cluster's network, DNS and Pod Identity need it)")
        return self


class DatabaseConfig(_Strict):
    instance_class: str
    allocated_storage_gib: Annotated[int, Field(ge=20, le=65536)]
    max_allocated_storage_gib: Annotated[int, Field(ge=20, le=65536)]
    multi_az: bool
    backup_retention_days: Annotated[int, Field(ge=1, le=35)]
    deletion_protection: bool
    performance_insights: bool

    @field_validator("instance_class")
    @classmethod
    def _instance_class_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", value):
            raise ValueError(f"{value!r} is not an RDS instance class like 't4g.small' (without the 'db.' prefix)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DatabaseConfig:
        if self.max_allocated_storage_gib < self.allocated_storage_gib:
            raise ValueError(
                f"max_allocated_storage_gib ({self.max_allocated_storage_gib}) "
                f"< allocated_storage_gib ({self.allocated_storage_gib})"
            )
        size = self.instance_class.split(".", 1)[1]
        if self.performance_insights and size in {"micro", "small"}:
            raise ValueError(
                f"performance_insights is not available on {self.instance_class}; "
                "use a medium or larger class or turn it off"
            )
        return self


class LoggingConfig(_Strict):
    # CloudWatch Logs retention must be one of the values the service accepts.
    retention_days: Literal[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
    ]
    airflow_log_expiry_days: Annotated[int, Field(ge=1, le=3650)]


class FeatureToggles(_Strict):
    spark_operator: bool
    observability: bool


class KubernetesVersions(_Strict):
    supported: Annotated[list[str], Field(min_length=1)]


class PostgresVersion(_Strict):
    full: Annotated[str, Field(pattern=r"^\d+\.\d+$")]
    major: Annotated[str, Field(pattern=r"^\d+$")]

    @model_validator(mode="after")
    def _full_matches_major(self) -> PostgresVersion:
        if self.full.split(".")[0] != self.major:
            raise ValueError(f"full version {self.full} is not of major {self.major}")
        return self


class HelmChartVersion(_Strict):
    repository: Annotated[str, Field(pattern=r"^(https|oci)://")]
    chart: str
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]

    @model_validator(mode="after")
    def _oci_names_chart(self) -> HelmChartVersion:
        # For OCI, Helm pulls `repository` itself: the chart is its last path segment.
        if self.repository.startswith("oci://") and not self.repository.endswith(f"/{self.chart}"):
            raise _KeyError("repository", f"an OCI repository must end with the chart name /{self.chart}")
        return self


class HelmCharts(_Strict):
    karpenter_crd: HelmChartVersion
    karpenter: HelmChartVersion
    aws_load_balancer_controller: HelmChartVersion

    @model_validator(mode="after")
    def _karpenter_crds_match(self) -> HelmCharts:
        if self.karpenter_crd.version != self.karpenter.version:
            raise _KeyError(
                "karpenter_crd.version",
                f"{self.karpenter_crd.version} differs from karpenter.version {self.karpenter.version}; "
                "the CRDs must match the controller",
            )
        return self


# "default": the version EKS marks default for the cluster's Kubernetes minor, fixed when the add-on is created.
AddonVersion = Annotated[str, Field(pattern=r"^(default|v\d+\.\d+\.\d+-eksbuild\.\d+)$")]


class Versions(_Strict):
    """`versions.yaml`: every version the app deploys, in one place."""

    aws_cdk_lib: str
    cdk_cli: str
    kubernetes: KubernetesVersions
    postgres: PostgresVersion
    eks_addons: dict[str, AddonVersion]
    helm_charts: HelmCharts
    # Karpenter's EC2NodeClass AMI alias: al2023@latest or a pinned release such as al2023@v20261101.
    karpenter_ami_alias: Annotated[str, Field(pattern=r"^al2023@(latest|v\d{8})$")]


class AppConfig(_Strict):
    env_name: str
    # production: availability and durability controls are required, never waived.
    # development: they may be turned off to idle cheaply; each such waiver is acknowledged with "dev env".
    environment_type: Literal["development", "production"]
    name_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,19}$")]
    account: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
    removal_policy: RemovalPolicyName
    allowed_ingress_cidrs: list[str]
    network: NetworkConfig
    cluster: ClusterConfig
    database: DatabaseConfig
    logging: LoggingConfig
    features: FeatureToggles
    versions: Versions

    @field_validator("allowed_ingress_cidrs")
    @classmethod
    def _ingress_cidrs(cls, value: list[str]) -> list[str]:
        return _bounded_cidrs(value, "admits the whole internet; list the ranges that need access")

    @model_validator(mode="after")
    def _cross_field(self) -> AppConfig:
        supported = self.versions.kubernetes.supported
        if self.cluster.kubernetes_version not in supported:
            raise _KeyError(
                "cluster.kubernetes_version",
                f"{self.cluster.kubernetes_version!r} is not supported (supported: {', '.join(supported)})",
            )
        for index, az in enumerate(self.network.availability_zones or []):
            if not re.fullmatch(re.escape(self.region) + r"[a-z]", az):
                raise _KeyError(f"network.availability_zones[{index}]", f"{az!r} is not an AZ of region {self.region}")
        for index, addon in enumerate(self.cluster.addons):
            if addon.name not in self.versions.eks_addons:
                raise _KeyError(
                    f"cluster.addons[{index}].name",
                    f"{addon.name!r} has no version in versions.yaml eks_addons (add it there, or 'default')",
                )
        if self.environment_type == "production":
            self._require_production_safety()
        vpc = ipaddress.IPv4Network(self.network.vpc_cidr)
        for index, cidr in enumerate(self.allowed_ingress_cidrs):
            if ipaddress.IPv4Network(cidr).overlaps(vpc):
                raise _KeyError(
                    f"allowed_ingress_cidrs[{index}]",
                    f"{cidr} overlaps the VPC CIDR {vpc}; list external ranges only",
                )
        return self

    def _require_production_safety(self) -> None:
        required = {
            "removal_policy": (self.removal_policy != "destroy", "must be retain or snapshot in a production env"),
            "database.multi_az": (self.database.multi_az, "must be true in a production env"),
            "database.deletion_protection": (self.database.deletion_protection, "must be true in a production env"),
            "database.backup_retention_days": (
                self.database.backup_retention_days >= 7,
                "must be at least 7 in a production env",
            ),
            "network.nat_gateways": (
                self.network.nat_gateways == self.network.az_count,
                "must equal az_count in a production env",
            ),
            "logging.retention_days": (self.logging.retention_days >= 365, "must be at least 365 in a production env"),
            "cluster.control_plane_logs": (
                {"audit", "authenticator"} <= set(self.cluster.control_plane_logs),
                "must include audit and authenticator in a production env",
            ),
            "cluster.core_nodes.capacity_type": (
                self.cluster.core_nodes.capacity_type == "ON_DEMAND",
                "must be ON_DEMAND in a production env (spot reclaims would take the control components down)",
            ),
            "cluster.core_nodes.min_size": (
                self.cluster.core_nodes.min_size >= max(3, self.network.az_count),
                "must be at least 3 and at least az_count in a production env",
            ),
        }
        for key, (holds, problem) in required.items():
            if not holds:
                raise _KeyError(key, problem)

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

    def stack_name(self, component: str) -> str:
        return f"{self.name_prefix}-{self.env_name}-{component}"


def available_envs(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(path.stem for path in config_dir.glob("*.yaml"))


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path.name}:{where} is not valid YAML ({getattr(err, 'problem', err)})") from None


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    """The dotted key and the problem of one pydantic error."""
    location = [str(part) for part in error["loc"]]
    context_error = (error.get("ctx") or {}).get("error")
    key = ""
    for part in location:
        key += f"[{part}]" if part.isdigit() else (f".{part}" if key else part)
    if isinstance(context_error, _KeyError):
        # A model's cross-field key is relative to that model, which sits at `location`.
        return (f"{key}." if key else "") + context_error.key, context_error.problem
    kind = error["type"]
    if kind == "extra_forbidden":
        return key, "unknown key (check its spelling and indentation)"
    if kind == "missing":
        return key, "is required"
    message = str(error["msg"]).removeprefix("Value error, ")
    if "input" in error and kind not in {"value_error", "assertion_error"} and not isinstance(error["input"], dict):
        message += f" (got {error['input']!r})"
    return key, message


def load_config(env: str, *, config_dir: Path = CONFIG_DIR, versions_file: Path = VERSIONS_FILE) -> AppConfig:
    """Read and validate `config/<env>.yaml` plus `versions.yaml`; raise ConfigError with one line on bad input."""
    if not isinstance(env, str) or not ENV_NAME_PATTERN.fullmatch(env):
        raise ConfigError(f"env: {env!r} is not a valid env name (lowercase letters, digits and '-')")
    path = config_dir / f"{env}.yaml"
    if not path.is_file():
        names = ", ".join(available_envs(config_dir)) or "none"
        raise ConfigError(f"env: unknown env {env!r}: there is no config/{env}.yaml (available: {names})")
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: must be a mapping of keys to values")
    versions = _read_yaml(versions_file)
    if "env_name" in raw:
        raise ConfigError(f"{path.name}: env_name: unknown key (the env name is the file name)")
    try:
        return AppConfig.model_validate({**raw, "env_name": env, "versions": versions})
    except ValidationError as err:
        problems = []
        for error in err.errors():
            key, problem = _describe(error)
            source = versions_file.name if key.startswith("versions") else path.name
            key = key.removeprefix("versions.") if source == versions_file.name else key
            problems.append(f"{source}: {key}: {problem}")
        raise ConfigError("; ".join(problems)) from None
