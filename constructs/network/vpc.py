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

# Interface endpoints that keep node bootstrap, image pulls, IRSA/Pod Identity token exchange, logging and
# Karpenter's interruption queue off the NAT gateways.
INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "CloudWatchLogs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Ec2": ec2.InterfaceVpcEndpointAwsService.EC2,
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
}


@dataclass(frozen=True, kw_only=True)
class AirflowVpcProps:
    cidr: str
    availability_zones: list[str]
    nat_gateways: int
    interface_endpoints: bool
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
            nat_gateways=props.nat_gateways,
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

        if props.interface_endpoints:
            self._add_interface_endpoints(props.cidr)

    def _tag_subnets(self, cluster_name: str) -> None:
        # The AWS Load Balancer Controller places internet-facing and internal load balancers by these role tags;
        # Karpenter's EC2NodeClass finds node subnets by the discovery tag.
        for subnet in self.vpc.public_subnets:
            cdk.Tags.of(subnet).add("kubernetes.io/role/elb", "1")
        for subnet in self.vpc.private_subnets:
            cdk.Tags.of(subnet).add("kubernetes.io/role/internal-elb", "1")
            cdk.Tags.of(subnet).add(KARPENTER_DISCOVERY_TAG, cluster_name)

    def _add_interface_endpoints(self, cidr: str) -> None:
        endpoint_security_group = ec2.SecurityGroup(
            self,
            "InterfaceEndpointSecurityGroup",
            vpc=self.vpc,
            description="HTTPS from inside the VPC to the AWS service interface endpoints",
            allow_all_outbound=False,
        )
        endpoint_security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from the VPC")
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                security_groups=[endpoint_security_group],
                private_dns_enabled=True,
                # The explicit HTTPS rule above replaces the all-ports-from-VPC rule `open` would add.
                open=False,
            )
