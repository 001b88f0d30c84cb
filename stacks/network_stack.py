from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from config.settings import AppConfig
from constructs.data_clients import DataClientsSecurityGroup
from constructs.network import KARPENTER_DISCOVERY_TAG, AirflowVpc, AirflowVpcProps
from constructs.acknowledgments import CT_LAMBDA_IN_VPC
from constructs.lifecycle import removal_policy
from stacks.base import AirflowEksStack


class NetworkStack(AirflowEksStack):
    """The VPC everything runs in, and the data-clients security group the data layer admits."""

    def __init__(self, scope: Construct, *, config: AppConfig) -> None:
        super().__init__(scope, "network", config=config, description="Airflow on EKS: VPC, subnets, endpoints")
        network = AirflowVpc(
            self,
            "Network",
            props=AirflowVpcProps(
                cidr=config.network.vpc_cidr,
                availability_zones=config.availability_zones,
                nat_gateways=config.network.nat_gateways,
                interface_endpoints=config.network.interface_endpoints,
                cluster_name=config.cluster_name,
                log_retention_days=config.logging.retention_days,
                removal_policy=removal_policy(config.removal_policy),
                development_env=config.is_development,
            ),
        )
        self.vpc: ec2.IVpc = network.vpc
        self.data_clients: ec2.ISecurityGroup = DataClientsSecurityGroup(
            self, "DataClients", vpc=network.vpc
        ).security_group
        # Karpenter's EC2NodeClasses select security groups by tag (as they select subnets): its nodes join this one.
        cdk.Tags.of(self.data_clients).add(KARPENTER_DISCOVERY_TAG, config.cluster_name)
        self.acknowledge_cdk_provider(
            "Custom::VpcRestrictDefaultSGCustomResourceProvider",
            "CDK's deploy-time handler that strips the default security group's rules; it only calls the EC2 API.",
            CT_LAMBDA_IN_VPC,
        )
