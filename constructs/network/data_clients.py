"""The security group that marks a workload as a client of the Airflow data layer."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct


class DataClientsSecurityGroup(Construct):
    """Created with the network so the data stack and the cluster stack both depend on the network only.

    The database and DAG file system admit this group; cluster nodes join it later. So RDS and the EKS
    cluster can be created in parallel (`cdk deploy --all --concurrency 4`) and neither stack references the other.
    """

    def __init__(self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Workloads allowed to reach the Airflow metadata database and DAG file system",
            allow_all_outbound=True,
        )
