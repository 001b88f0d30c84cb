"""The `cluster.karpenter` section: the Karpenter controller, its EC2NodeClasses and its NodePools.

It owns the checks within the section: known requirement values, names used once, and every pool naming a
defined node class. The Helm chart versions live in versions.yaml (see versions.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from config.settings.base import ConfigKeyError, Duration, K8sName, PositiveInt, StrictModel, reject_repeated_names


class NodeClassConfig(StrictModel):
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


class TaintConfig(StrictModel):
    key: Annotated[str, Field(min_length=1, max_length=253)]
    value: Annotated[str, Field(max_length=63)]
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodePoolConfig(StrictModel):
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


class KarpenterControllerConfig(StrictModel):
    replicas: Annotated[int, Field(ge=1, le=3)]
    cpu: Annotated[str, Field(pattern=r"^[0-9]+m?$")]
    memory: Annotated[str, Field(pattern=r"^[0-9]+(Mi|Gi)$")]


class KarpenterConfig(StrictModel):
    controller: KarpenterControllerConfig
    node_classes: Annotated[list[NodeClassConfig], Field(min_length=1)]
    node_pools: list[NodePoolConfig]

    @model_validator(mode="after")
    def _references(self) -> KarpenterConfig:
        reject_repeated_names("node_classes", (node_class.name for node_class in self.node_classes), "is used twice")
        reject_repeated_names("node_pools", (pool.name for pool in self.node_pools), "is used twice")
        classes = {node_class.name for node_class in self.node_classes}
        for index, pool in enumerate(self.node_pools):
            if pool.node_class not in classes:
                raise ConfigKeyError(
                    f"node_pools[{index}].node_class",
                    f"{pool.node_class!r} is not a node class (defined: {', '.join(sorted(classes))})",
                )
        return self
