"""The VPC: public subnets for load balancers, private subnets for nodes and pods, isolated database subnets."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from constructs.shared.acknowledgments import CFN_HARDCODED_AZ, acknowledge
from constructs.shared.encryption_key import EncryptionKey
from constructs.shared.lifecycle import Lifecycle
from constructs.shared.log_group import EncryptedLogGroup, EncryptedLogGroupProps
from constructs.shared.tags import KARPENTER_DISCOVERY_TAG


@dataclass(frozen=True, kw_only=True)
class AirflowVpcProps:
    cidr: str
    availability_zones: list[str]
    cluster_name: str
    lifecycle: Lifecycle


class AirflowVpc(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AirflowVpcProps) -> None:
        super().__init__(scope, construct_id)
        # Pods take their IPs from the private subnets (VPC CNI), so those get the room: an eighth of the VPC each.
        private_mask = ipaddress.IPv4Network(props.cidr).prefixlen + 3
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(props.cidr),
            availability_zones=props.availability_zones,
            # The private subnets' default routes (NAT) and interface endpoints come from the cluster stack
            # (constructs/network/egress.py), so the stacks above wait only for the subnets.
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24, map_public_ip_on_launch=False
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=private_mask
                ),
                ec2.SubnetConfiguration(name="database", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=27),
            ],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
            restrict_default_security_group=True,
        )
        self._tag_subnets(props.cluster_name)
        acknowledge(
            self.vpc,
            "AZ names are pinned in config on purpose: synth stays offline and deterministic, and subnets keep "
            "their AZs whoever runs it (Fn::GetAZs would need a lookup and can reorder).",
            CFN_HARDCODED_AZ,
        )

        # Also the key of the log group of CDK's default-security-group handler (stacks/network_stack.py).
        self.flow_log_key = EncryptionKey(
            self,
            "FlowLogKey",
            alias=f"alias/{props.cluster_name}/vpc-flow-logs",
            description="Encrypts the VPC flow log group",
            allow_cloudwatch_logs=True,
            lifecycle=props.lifecycle,
        ).key
        flow_log_group = EncryptedLogGroup(
            self,
            "FlowLogGroup",
            props=EncryptedLogGroupProps(key=self.flow_log_key, lifecycle=props.lifecycle),
        ).log_group
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

    def _tag_subnets(self, cluster_name: str) -> None:
        # The AWS Load Balancer Controller places internet-facing and internal load balancers by these role tags;
        # Karpenter's EC2NodeClass finds node subnets by the discovery tag.
        for subnet in self.vpc.public_subnets:
            cdk.Tags.of(subnet).add("kubernetes.io/role/elb", "1")
        for subnet in self.vpc.private_subnets:
            cdk.Tags.of(subnet).add("kubernetes.io/role/internal-elb", "1")
            cdk.Tags.of(subnet).add(KARPENTER_DISCOVERY_TAG, cluster_name)
