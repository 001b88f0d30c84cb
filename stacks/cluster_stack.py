"""The cluster stack: EKS, core nodes, add-ons, controllers and NodePools; hands the stacks above a ClusterHandle."""

from __future__ import annotations

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from config.settings import AppConfig
from constructs.cluster.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerProps
from constructs.cluster.eks_addons import ManagedAddons, ManagedAddonsProps
from constructs.cluster.eks_cluster import CORE_NODE_LABELS, EksCluster, EksClusterProps
from constructs.cluster.external_secrets import ExternalSecretsOperator, ExternalSecretsOperatorProps
from constructs.cluster.karpenter import Karpenter, KarpenterProps
from constructs.cluster.karpenter_node_pools import KarpenterNodePools, KarpenterNodePoolsProps, NodeClassEnvironment
from constructs.cluster.load_balancer_controller import LoadBalancerController, LoadBalancerControllerProps
from constructs.shared.tags import ownership_tags
from stacks.base import AirflowEksStack
from stacks.handles import ClusterHandle, NetworkHandle


class ClusterStack(AirflowEksStack):
    """The EKS cluster Airflow and Spark run on: core node group, managed add-ons, load balancer controller,
    External Secrets Operator, Karpenter with its NodePools, and (optional) the Cluster Autoscaler for the core
    group. Depends on the network stack only."""

    def __init__(self, scope: Construct, *, config: AppConfig, network: NetworkHandle) -> None:
        super().__init__(
            scope,
            "cluster",
            config=config,
            description="Airflow on EKS: EKS cluster, core nodes, add-ons, load balancer controller, External Secrets "
            "Operator, Karpenter",
        )
        settings = config.cluster
        charts = config.versions.helm_charts
        eks_cluster = EksCluster(
            self,
            "Eks",
            props=EksClusterProps(
                cluster_name=config.cluster_name,
                settings=settings,
                vpc=network.vpc,
                data_clients=network.data_clients,
                lifecycle=self.lifecycle,
            ),
        )
        cluster = eks_cluster.cluster
        core_nodes = eks_cluster.core_nodes
        # What controllers and add-ons put on the AWS resources they create outside CloudFormation, so that what a
        # destroy left behind can be found by the env's tags (scripts/leftovers.sh).
        tags = ownership_tags(config.project, config.env_name)

        addons = ManagedAddons(
            self,
            "Addons",
            props=ManagedAddonsProps(
                cluster=cluster,
                addons=settings.addons,
                versions=config.versions.eks_addons,
                core_nodes=core_nodes,
                volume_tags=tags,
            ),
        )
        load_balancer_controller = LoadBalancerController(
            self,
            "LoadBalancerController",
            props=LoadBalancerControllerProps(
                cluster=cluster,
                chart=charts.aws_load_balancer_controller,
                vpc=network.vpc,
                core_nodes=core_nodes,
                tags=tags,
            ),
        )
        # The controllers' charts install side by side once the core nodes (which wait for the node daemons) and
        # CoreDNS are up, since each calls AWS as it starts: none admits another's objects (the load balancer
        # controller's Service webhook is off, helm_values/), so none waits for another.
        load_balancer_controller.chart.node.add_dependency(*addons.cluster_dns)
        karpenter, node_pools = self._karpenter(cluster, core_nodes, after=addons.cluster_dns)
        external_secrets = ExternalSecretsOperator(
            self,
            "ExternalSecrets",
            props=ExternalSecretsOperatorProps(
                cluster=cluster,
                chart=charts.external_secrets,
                secret_prefix=config.airflow_secret_prefix,
                # The data stack's key alias: this stack may not reference that stack's key (they deploy in parallel).
                secrets_key_alias=config.data_key_alias,
                core_nodes=core_nodes,
            ),
        )
        external_secrets.chart.node.add_dependency(*addons.cluster_dns)
        if settings.cluster_autoscaler.enabled:
            autoscaler = ClusterAutoscaler(
                self,
                "ClusterAutoscaler",
                props=ClusterAutoscalerProps(
                    cluster=cluster,
                    cluster_name=config.cluster_name,
                    chart=charts.cluster_autoscaler,
                    core_nodes=core_nodes,
                    core_node_labels=CORE_NODE_LABELS,
                ),
            )
            autoscaler.chart.node.add_dependency(*addons.cluster_dns)
        self.handle = ClusterHandle(
            cluster=cluster,
            core_nodes=core_nodes,
            load_balancer_controller=load_balancer_controller.chart,
            external_secrets=external_secrets.chart,
            node_pools=node_pools.node_pools,
            node_roles=(core_nodes.role, karpenter.node_role),
            interruption_queue=karpenter.interruption_queue,
        )

    def _karpenter(
        self, cluster: eks.ICluster, core_nodes: eks.Nodegroup, *, after: tuple[Construct, ...]
    ) -> tuple[Karpenter, KarpenterNodePools]:
        """Karpenter's controller (installed after `after`) and the NodeClasses and NodePools it serves."""
        config = self.config
        charts = config.versions.helm_charts
        karpenter = Karpenter(
            self,
            "Karpenter",
            props=KarpenterProps(
                cluster=cluster,
                cluster_name=config.cluster_name,
                crd_chart=charts.karpenter_crd,
                chart=charts.karpenter,
                controller=config.cluster.karpenter.controller,
                core_nodes=core_nodes,
                node_selector=CORE_NODE_LABELS,
            ),
        )
        karpenter.chart.node.add_dependency(*after)
        return karpenter, KarpenterNodePools(
            self,
            "NodePools",
            props=KarpenterNodePoolsProps(
                cluster=cluster,
                node_classes=config.cluster.karpenter.node_classes,
                node_pools=config.cluster.karpenter.node_pools,
                environment=NodeClassEnvironment(
                    cluster_name=config.cluster_name,
                    ami_alias=config.versions.karpenter_ami_alias,
                    node_role_name=karpenter.node_role.role_name,
                    tags=ownership_tags(config.project, config.env_name),
                ),
                controller=karpenter.chart,
            ),
        )
