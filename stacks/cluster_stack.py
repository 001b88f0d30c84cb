"""The cluster stack: EKS, core nodes, add-ons, controllers and NodePools; hands the stacks above a ClusterHandle."""

from __future__ import annotations

from constructs import Construct

from config.settings import AppConfig
from constructs.cluster.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerProps
from constructs.cluster.eks_addons import ManagedAddons, ManagedAddonsProps
from constructs.cluster.eks_cluster import CORE_NODE_LABELS, EksCluster, EksClusterProps
from constructs.cluster.external_secrets import ExternalSecretsOperator, ExternalSecretsOperatorProps
from constructs.cluster.karpenter import KarpenterNodes
from constructs.cluster.load_balancer_controller import LoadBalancerController, LoadBalancerControllerProps
from constructs.network.egress import PrivateEgress, PrivateEgressProps
from constructs.shared.tags import ownership_tags
from stacks.base import AirflowEksStack
from stacks.handles import ClusterHandle, NetworkHandle


class ClusterStack(AirflowEksStack):
    """The EKS cluster Airflow and Spark run on: the private subnets' egress, core node group, managed add-ons, load
    balancer controller, External Secrets Operator, the role of Karpenter's nodes, and (optional) the Cluster
    Autoscaler for the core group. Depends on the network stack only; Karpenter itself is the Karpenter stack's."""

    def __init__(self, scope: Construct, *, config: AppConfig, network: NetworkHandle) -> None:
        super().__init__(
            scope,
            "cluster",
            config=config,
            description="Airflow on EKS: EKS cluster, NAT, core nodes, add-ons, load balancer controller, External "
            "Secrets Operator",
        )
        settings = config.cluster
        charts = config.versions.helm_charts
        egress = PrivateEgress(
            self,
            "Egress",
            props=PrivateEgressProps(
                vpc=network.vpc,
                vpc_cidr=config.network.vpc_cidr,
                nat_gateways=config.network.nat_gateways,
                interface_endpoints=config.network.interface_endpoints,
            ),
        )
        eks_cluster = EksCluster(
            self,
            "Eks",
            props=EksClusterProps(
                cluster_name=config.cluster_name,
                settings=settings,
                vpc=network.vpc,
                data_clients=network.data_clients,
                egress=egress.ready,
                lifecycle=self.lifecycle,
            ),
        )
        cluster = eks_cluster.cluster
        core_nodes = eks_cluster.core_nodes
        # What controllers and add-ons put on the AWS resources they create outside CloudFormation, so that what a
        # destroy left behind can be found by the env's tags (scripts/leftovers.sh).
        tags = ownership_tags(config.project, config.env_name)

        ManagedAddons(
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
        # The controllers' charts install side by side once the core nodes (which wait for the node daemons) are up,
        # beside CoreDNS: they resolve only AWS endpoints, through the VPC resolver (`dnsPolicy: Default`), and none
        # admits another's objects (the load balancer controller's Service webhook is off, helm_values/).
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
        if settings.cluster_autoscaler.enabled:
            ClusterAutoscaler(
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
        # Karpenter itself is the Karpenter stack's (stacks/karpenter_stack.py says why). The id is the one these
        # resources had in this stack before, so their logical ids, and the role the DAG volume's policy names, stay.
        karpenter_nodes = KarpenterNodes(self, "Karpenter", cluster=cluster, cluster_name=config.cluster_name)
        self.handle = ClusterHandle(
            cluster=cluster,
            core_nodes=core_nodes,
            load_balancer_controller=load_balancer_controller.chart,
            external_secrets=external_secrets.chart,
            karpenter_node_role=karpenter_nodes.role,
            interruption_queue=karpenter_nodes.interruption_queue,
        )
