"""The AWS Load Balancer Controller: ALBs for Ingresses and NLBs for LoadBalancer Services, via Pod Identity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from config.settings import HelmChartVersion
from constructs.cluster.eks_iam import PodIdentity
from constructs.shared.acknowledgments import acknowledge, wildcard_permission_findings
from constructs.shared.helm_release import helm_release
from constructs.shared.helm_values import chart_values
from constructs.shared.policy_documents import load_policy_file, policy_document

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
# Upstream's policy file, kept as data (provenance in iam_policies/README.md).
POLICY_FILE = Path(__file__).resolve().parent / "iam_policies" / "aws-load-balancer-controller.json"


@dataclass(frozen=True, kw_only=True)
class LoadBalancerControllerProps:
    cluster: eks.ICluster
    chart: HelmChartVersion
    vpc: ec2.IVpc
    # The controller's pods run on the core nodes (nodeSelector in helm_values/), so the chart waits for them.
    core_nodes: eks.Nodegroup
    # On every load balancer, target group, listener and security group it creates, so leftovers can be found.
    tags: Mapping[str, str]


class LoadBalancerController(Construct):
    """Charts that own Ingresses or LoadBalancer Services depend on `chart`: they are then deleted first, while the
    controller still runs to delete their load balancers."""

    def __init__(self, scope: Construct, construct_id: str, *, props: LoadBalancerControllerProps) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            # No chart version: IAM cannot edit a description, so naming it would replace the policy on every upgrade.
            description="AWS Load Balancer Controller (upstream docs/install/iam_policy.json)",
            document=policy_document(load_policy_file(POLICY_FILE), {}),
        )
        acknowledge(
            policy,
            "The controller's upstream policy: the load balancers, target groups, listeners and security groups it "
            "creates have no ARN in advance, so writes are scoped by its elbv2.k8s.aws/cluster tag in conditions.",
            *wildcard_permission_findings(policy, policy.document),
        )
        identity = PodIdentity(
            self,
            "Identity",
            cluster=props.cluster,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            description="AWS Load Balancer Controller",
            managed_policies=[policy],
        )
        self.chart = helm_release(
            self,
            "Chart",
            cluster=props.cluster,
            chart=props.chart,
            release=SERVICE_ACCOUNT,
            namespace=NAMESPACE,
            values=chart_values(
                props.chart.chart,
                {
                    "clusterName": props.cluster.cluster_name,
                    # Pods may not reach instance metadata (IMDSv2, hop limit), so region and VPC are given.
                    "region": stack.region,
                    "vpcId": props.vpc.vpc_id,
                    # The service account the Pod Identity association above names.
                    "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                    "defaultTags": dict(props.tags),
                },
            ),
        )
        self.chart.node.add_dependency(identity, props.core_nodes)
