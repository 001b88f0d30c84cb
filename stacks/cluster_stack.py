from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from config.settings import AppConfig
from constructs.eks_addons import ManagedAddons, ManagedAddonsProps
from constructs.eks_cluster import CORE_NODE_LABELS, EksCluster, EksClusterProps
from constructs.karpenter import Karpenter, KarpenterProps
from constructs.karpenter_node_pools import KarpenterNodePools, KarpenterNodePoolsProps, NodeClassEnvironment
from constructs.lifecycle import removal_policy
from constructs.load_balancer_controller import LoadBalancerController, LoadBalancerControllerProps
from stacks.base import AirflowEksStack


class ClusterStack(AirflowEksStack):
    """The EKS cluster Airflow and Spark run on: core node group, managed add-ons, load balancer controller,
    and Karpenter with its NodePools. Depends on the network stack only."""

    def __init__(self, scope: Construct, *, config: AppConfig, vpc: ec2.IVpc, data_clients: ec2.ISecurityGroup) -> None:
        super().__init__(
            scope,
            "cluster",
            config=config,
            description="Airflow on EKS: EKS cluster, core nodes, add-ons, load balancer controller, Karpenter",
        )
        settings = config.cluster
        charts = config.versions.helm_charts
        eks_cluster = EksCluster(
            self,
            "Eks",
            props=EksClusterProps(
                cluster_name=config.cluster_name,
                settings=settings,
                vpc=vpc,
                data_clients=data_clients,
                log_retention_days=config.logging.retention_days,
                removal_policy=removal_policy(config.removal_policy),
                development_env=config.is_development,
            ),
        )
        self.cluster = eks_cluster.cluster
        self.core_nodes = eks_cluster.core_nodes

        self.addons = ManagedAddons(
            self,
            "Addons",
            props=ManagedAddonsProps(
                cluster=self.cluster,
                addons=settings.addons,
                versions=config.versions.eks_addons,
                core_nodes=self.core_nodes,
            ),
        )
        # Later stacks make charts that own Ingresses depend on `load_balancer_controller.chart`.
        self.load_balancer_controller = LoadBalancerController(
            self,
            "LoadBalancerController",
            props=LoadBalancerControllerProps(
                cluster=self.cluster,
                chart=charts.aws_load_balancer_controller,
                vpc=vpc,
                core_nodes=self.core_nodes,
                node_selector=CORE_NODE_LABELS,
            ),
        )
        self.karpenter = Karpenter(
            self,
            "Karpenter",
            props=KarpenterProps(
                cluster=self.cluster,
                cluster_name=config.cluster_name,
                crd_chart=charts.karpenter_crd,
                chart=charts.karpenter,
                controller=settings.karpenter.controller,
                core_nodes=self.core_nodes,
                node_selector=CORE_NODE_LABELS,
            ),
        )
        # The controllers resolve AWS endpoints through CoreDNS and run beside the other add-ons: install them after.
        for chart in (self.load_balancer_controller.chart, self.karpenter.chart):
            chart.node.add_dependency(self.addons)
        self.node_pools = KarpenterNodePools(
            self,
            "NodePools",
            props=KarpenterNodePoolsProps(
                cluster=self.cluster,
                node_classes=settings.karpenter.node_classes,
                node_pools=settings.karpenter.node_pools,
                environment=NodeClassEnvironment(
                    cluster_name=config.cluster_name,
                    ami_alias=config.versions.karpenter_ami_alias,
                    node_role_name=self.karpenter.node_role.role_name,
                ),
                controller=self.karpenter.chart,
            ),
        )
