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

    @model_validator(mode="after")
    def _sizes_ordered(self) -> NodeGroupConfig:
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) > max_size ({self.max_size})")
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"desired_size ({self.desired_size}) must lie between "
                f"min_size ({self.min_size}) and max_size ({self.max_size})"
            )
        return self


class ClusterConfig(_Strict):
    kubernetes_version: str
    core_nodes: NodeGroupConfig


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


class Versions(_Strict):
    """`versions.yaml`: every version the app deploys, in one place."""

    aws_cdk_lib: str
    cdk_cli: str
    kubernetes: KubernetesVersions
    postgres: PostgresVersion


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
        for index, cidr in enumerate(value):
            try:
                network = _network(cidr)
            except ValueError as err:
                raise ValueError(f"[{index}]: {err}") from None
            if network.prefixlen == 0:
                raise ValueError(f"[{index}]: {cidr} admits the whole internet; list the ranges that need access")
        return value

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
    if isinstance(context_error, _KeyError):
        return context_error.key, context_error.problem
    key = ""
    for part in location:
        key += f"[{part}]" if part.isdigit() else (f".{part}" if key else part)
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
