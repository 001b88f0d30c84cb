"""Karpenter EC2NodeClasses and NodePools, built from config: adding a pool is editing YAML."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from config.settings import NodeClassConfig, NodePoolConfig
from constructs.shared.node_images import ROOT_DEVICE
from constructs.shared.tags import EKS_CLUSTER_NAME_TAG, KARPENTER_DISCOVERY_TAG

EC2_NODE_CLASS_API = ("karpenter.k8s.aws", "v1", "EC2NodeClass")
NODE_POOL_API = ("karpenter.sh", "v1", "NodePool")


@dataclass(frozen=True, kw_only=True)
class NodeClassEnvironment:
    """What every node class shares: the cluster's AMI alias, node role, subnets and security groups."""

    cluster_name: str
    ami_alias: str
    node_role_name: str
    # On every instance, volume, network interface, launch template and instance profile Karpenter creates.
    tags: Mapping[str, str]


def ec2_node_class_manifest(node_class: NodeClassConfig, env: NodeClassEnvironment) -> dict[str, Any]:
    group, version, kind = EC2_NODE_CLASS_API
    spec: dict[str, Any] = {
        "role": env.node_role_name,
        "amiSelectorTerms": [{"alias": env.ami_alias}],
        # The network stack tags the private subnets and the data-clients security group for discovery.
        "subnetSelectorTerms": [{"tags": {KARPENTER_DISCOVERY_TAG: env.cluster_name}}],
        "securityGroupSelectorTerms": [
            # EKS tags the cluster security group it creates; nodes need it to talk to the control plane and pods.
            {"tags": {EKS_CLUSTER_NAME_TAG: env.cluster_name}},
            {"tags": {KARPENTER_DISCOVERY_TAG: env.cluster_name}},
        ],
        "blockDeviceMappings": [
            {
                "deviceName": ROOT_DEVICE,
                "rootVolume": True,
                "ebs": {
                    "volumeSize": f"{node_class.root_volume_gib}Gi",
                    "volumeType": "gp3",
                    "encrypted": True,
                    "deleteOnTermination": True,
                },
            }
        ],
        "tags": dict(env.tags),
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": node_class.metadata_hop_limit,
            "httpTokens": "required",
        },
    }
    if node_class.instance_store_policy is not None:
        spec["instanceStorePolicy"] = node_class.instance_store_policy
    return {"apiVersion": f"{group}/{version}", "kind": kind, "metadata": {"name": node_class.name}, "spec": spec}


def node_pool_manifest(pool: NodePoolConfig) -> dict[str, Any]:
    group, version, kind = NODE_POOL_API
    class_group, _, class_kind = EC2_NODE_CLASS_API
    template_spec: dict[str, Any] = {
        "nodeClassRef": {"group": class_group, "kind": class_kind, "name": pool.node_class},
        "requirements": [
            {"key": key, "operator": "In", "values": list(values)} for key, values in pool.requirements.items()
        ],
        "expireAfter": pool.expire_after,
    }
    if pool.taints:
        template_spec["taints"] = [taint.model_dump() for taint in pool.taints]
    template: dict[str, Any] = {"spec": template_spec}
    if pool.labels:
        template["metadata"] = {"labels": dict(pool.labels)}
    return {
        "apiVersion": f"{group}/{version}",
        "kind": kind,
        "metadata": {"name": pool.name},
        "spec": {
            "template": template,
            "limits": {"cpu": pool.cpu_limit},
            "disruption": {
                "consolidationPolicy": pool.consolidation_policy,
                "consolidateAfter": pool.consolidate_after,
            },
        },
    }


@dataclass(frozen=True, kw_only=True)
class KarpenterNodePoolsProps:
    cluster: eks.ICluster
    node_classes: Sequence[NodeClassConfig]
    node_pools: Sequence[NodePoolConfig]
    environment: NodeClassEnvironment
    # The Karpenter chart (and through it the CRDs, controller IAM and node access entry).
    controller: Construct


class KarpenterNodePools(Construct):
    """Created after the controller and destroyed before it, so Karpenter itself drains and terminates the nodes
    of a deleted pool; NodePools likewise go before the node class they reference."""

    def __init__(self, scope: Construct, construct_id: str, *, props: KarpenterNodePoolsProps) -> None:
        super().__init__(scope, construct_id)
        self.node_classes = {
            node_class.name: self._apply(
                props.cluster,
                f"NodeClass-{node_class.name}",
                ec2_node_class_manifest(node_class, props.environment),
                after=props.controller,
            )
            for node_class in props.node_classes
        }
        self.node_pools = {
            pool.name: self._apply(
                props.cluster,
                f"NodePool-{pool.name}",
                node_pool_manifest(pool),
                after=self.node_classes[pool.node_class],
            )
            for pool in props.node_pools
        }

    def _apply(
        self, cluster: eks.ICluster, construct_id: str, manifest: dict[str, Any], *, after: Construct
    ) -> eks.KubernetesManifest:
        # overwrite: `kubectl apply`, so a re-deploy after a failed one adopts the object instead of failing.
        applied = eks.KubernetesManifest(self, construct_id, cluster=cluster, manifest=[manifest], overwrite=True)
        applied.node.add_dependency(after)
        return applied
