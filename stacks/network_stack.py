"""The network stack: VPC and data-clients security group; hands the stacks above a NetworkHandle.

The private subnets' NAT gateways and interface endpoints are the cluster stack's (constructs/network/egress.py):
only cluster workloads leave the VPC, and the stacks above this one wait for all of it."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config.settings import AppConfig
from constructs.network.data_clients import DataClientsSecurityGroup
from constructs.network.vpc import AirflowVpc, AirflowVpcProps
from constructs.shared.acknowledgments import CT_LAMBDA_IN_VPC
from constructs.shared.tags import KARPENTER_DISCOVERY_TAG
from stacks.base import AirflowEksStack
from stacks.handles import NetworkHandle


class NetworkStack(AirflowEksStack):
    """The VPC everything runs in, and the data-clients security group the data layer admits."""

    def __init__(self, scope: Construct, *, config: AppConfig) -> None:
        super().__init__(
            scope, "network", config=config, description="Airflow on EKS: VPC, subnets, S3 gateway endpoint, flow log"
        )
        network = AirflowVpc(
            self,
            "Network",
            props=AirflowVpcProps(
                cidr=config.network.vpc_cidr,
                availability_zones=config.availability_zones,
                cluster_name=config.cluster_name,
                lifecycle=self.lifecycle,
            ),
        )
        data_clients = DataClientsSecurityGroup(self, "DataClients", vpc=network.vpc).security_group
        # Karpenter's EC2NodeClasses select security groups by tag (as they select subnets): its nodes join this one.
        cdk.Tags.of(data_clients).add(KARPENTER_DISCOVERY_TAG, config.cluster_name)
        self.handle = NetworkHandle(vpc=network.vpc, data_clients=data_clients)
        self.log_cdk_provider(
            "Custom::VpcRestrictDefaultSGCustomResourceProvider",
            "RestrictDefaultSgHandlerLogs",
            key=network.flow_log_key,
        )
        self.acknowledge_cdk_provider(
            "Custom::VpcRestrictDefaultSGCustomResourceProvider",
            "CDK's deploy-time handler that strips the default security group's rules; it only calls the EC2 API.",
            CT_LAMBDA_IN_VPC,
        )
