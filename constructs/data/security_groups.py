"""The security group of a data-layer resource: one port, from the network's data-clients group only."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct


def security_group_for_data_clients(
    scope: Construct, *, vpc: ec2.IVpc, clients: ec2.ISecurityGroup, port: int, service: str, protocol: str
) -> ec2.SecurityGroup:
    """A data-layer resource's security group: `protocol` on `port` from the data-clients group, nothing else."""
    security_group = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=vpc,
        description=f"{service}: {protocol} from data clients only",
        allow_all_outbound=False,
    )
    security_group.add_ingress_rule(clients, ec2.Port.tcp(port), f"{protocol} from Airflow data clients")
    return security_group
