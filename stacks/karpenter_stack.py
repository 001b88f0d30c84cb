"""The Karpenter stack: the controller and the NodeClasses and NodePools it serves; hands a KarpenterHandle up.

Beside the stacks above the cluster, not below them: Airflow's components and the Spark Operator run on the core
nodes, so they install and turn healthy without Karpenter, and only task and Spark pods wait, Pending, for a
Karpenter node. In the cluster stack, every stack above would wait for the controller's chart and the NodePools.
What its nodes need besides the controller (role, access entry, interruption queue) stays in the cluster stack
(constructs/cluster/karpenter.py, KarpenterNodes), so nothing depends on this stack: on `cdk destroy` it may go
first, and deleting its NodePools drains and terminates their nodes while the controller still runs.
"""

from __future__ import annotations

from constructs import Construct

from config.settings import AppConfig
from constructs.cluster.eks_cluster import CORE_NODE_LABELS
from constructs.cluster.karpenter import Karpenter, KarpenterProps
from constructs.cluster.karpenter_node_pools import KarpenterNodePools, KarpenterNodePoolsProps, NodeClassEnvironment
from constructs.shared.tags import ownership_tags
from stacks.base import AirflowEksStack
from stacks.handles import ClusterHandle


class KarpenterStack(AirflowEksStack):
    def __init__(self, scope: Construct, *, config: AppConfig, cluster: ClusterHandle) -> None:
        super().__init__(
            scope,
            "karpenter",
            config=config,
            description="Airflow on EKS: Karpenter controller, NodeClasses and NodePools",
        )
        charts = config.versions.helm_charts
        karpenter = Karpenter(
            self,
            "Karpenter",
            props=KarpenterProps(
                cluster=cluster.cluster,
                cluster_name=config.cluster_name,
                crd_chart=charts.karpenter_crd,
                chart=charts.karpenter,
                controller=config.cluster.karpenter.controller,
                node_role=cluster.karpenter_node_role,
                interruption_queue=cluster.interruption_queue,
                node_selector=CORE_NODE_LABELS,
            ),
        )
        KarpenterNodePools(
            self,
            "NodePools",
            props=KarpenterNodePoolsProps(
                cluster=cluster.cluster,
                node_classes=config.cluster.karpenter.node_classes,
                node_pools=config.cluster.karpenter.node_pools,
                environment=NodeClassEnvironment(
                    cluster_name=config.cluster_name,
                    ami_alias=config.versions.karpenter_ami_alias,
                    node_role_name=cluster.karpenter_node_role.role_name,
                    tags=ownership_tags(config.project, config.env_name),
                ),
                controller=karpenter.chart,
            ),
        )
