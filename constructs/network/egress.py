"""The private subnets' way out: NAT gateways with their default routes, and (optionally) interface endpoints.

The VPC (network stack) leaves its private subnets without a default route; the cluster stack creates this
construct beside the EKS control plane. Only cluster workloads leave the VPC (the data stack's one function in
the VPC reaches S3 through the gateway endpoint), and a NAT gateway takes minutes to create: in the network
stack every stack above would wait for it, here it is ready long before the first node boots.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

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
PRIVATE_SUBNETS = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)


@dataclass(frozen=True, kw_only=True)
class PrivateEgressProps:
    vpc: ec2.IVpc
    vpc_cidr: str
    # In the first this many AZs' public subnets; a private subnet routes to the gateway of its own AZ, if any.
    nat_gateways: int
    interface_endpoints: bool


class PrivateEgress(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: PrivateEgressProps) -> None:
        super().__init__(scope, construct_id)
        public_subnets = props.vpc.public_subnets[: props.nat_gateways]
        gateways: dict[str, ec2.CfnNatGateway] = {}
        for index, subnet in enumerate(public_subnets, start=1):
            address = ec2.CfnEIP(self, f"NatAddress{index}", domain="vpc")
            gateways[subnet.availability_zone] = ec2.CfnNatGateway(
                self, f"NatGateway{index}", subnet_id=subnet.subnet_id, allocation_id=address.attr_allocation_id
            )
        ordered = list(gateways.values())
        # What a workload in a private subnet needs before it starts: its default route (through its NAT gateway,
        # which the route references) and, when configured, the endpoints.
        self.ready: list[Construct] = []
        for index, subnet in enumerate(props.vpc.private_subnets, start=1):
            gateway = gateways.get(subnet.availability_zone, ordered[(index - 1) % len(ordered)])
            self.ready.append(
                ec2.CfnRoute(
                    self,
                    f"DefaultRoute{index}",
                    route_table_id=subnet.route_table.route_table_id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=gateway.ref,
                )
            )
        if props.interface_endpoints:
            self.ready.extend(self._interface_endpoints(props))

    def _interface_endpoints(self, props: PrivateEgressProps) -> list[ec2.InterfaceVpcEndpoint]:
        security_group = ec2.SecurityGroup(
            self,
            "InterfaceEndpointSecurityGroup",
            vpc=props.vpc,
            description="HTTPS from inside the VPC to the AWS service interface endpoints",
            allow_all_outbound=False,
        )
        security_group.add_ingress_rule(ec2.Peer.ipv4(props.vpc_cidr), ec2.Port.tcp(443), "HTTPS from the VPC")
        return [
            ec2.InterfaceVpcEndpoint(
                self,
                f"{name}Endpoint",
                vpc=props.vpc,
                service=service,
                subnets=PRIVATE_SUBNETS,
                security_groups=[security_group],
                private_dns_enabled=True,
                # The explicit HTTPS rule above replaces the all-ports-from-VPC rule `open` would add.
                open=False,
            )
            for name, service in INTERFACE_ENDPOINTS.items()
        ]
