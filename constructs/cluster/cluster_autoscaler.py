"""The Cluster Autoscaler for the core managed node group (optional, `cluster.cluster_autoscaler.enabled`, off by
default: Karpenter serves every workload pool; the core group holds the system controllers and Airflow's own
components, whose size changes rarely).

It finds the group by the auto-discovery tags EKS puts on a managed node group's Auto Scaling group, and its Pod
Identity role may change the desired capacity of, or terminate instances in, only Auto Scaling groups tagged as
this cluster's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from config.settings import HelmChartVersion
from constructs.cluster.eks_iam import PodIdentity
from constructs.shared.acknowledgments import acknowledge, wildcard_permission_findings
from constructs.shared.helm_release import helm_release
from constructs.shared.helm_values import chart_values

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
RELEASE = "cluster-autoscaler"
# What it reads to build each group's node template and to watch scaling: describe calls, which take no resource.
DESCRIBE_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
)
SCALING_ACTIONS = ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup")


def owned_tag(cluster_name: str) -> str:
    """The tag EKS sets to `owned` on the Auto Scaling group of each of the cluster's managed node groups."""
    return f"k8s.io/cluster-autoscaler/{cluster_name}"


@dataclass(frozen=True, kw_only=True)
class ClusterAutoscalerProps:
    cluster: eks.ICluster
    cluster_name: str
    chart: HelmChartVersion
    core_nodes: eks.Nodegroup
    core_node_labels: Mapping[str, str]


class ClusterAutoscaler(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: ClusterAutoscalerProps) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"Cluster Autoscaler of EKS cluster {props.cluster_name}: scales its managed node groups",
            statements=[
                iam.PolicyStatement(
                    sid="ScaleThisClustersGroups",
                    actions=list(SCALING_ACTIONS),
                    resources=["*"],
                    conditions={"StringEquals": {f"aws:ResourceTag/{owned_tag(props.cluster_name)}": "owned"}},
                ),
                iam.PolicyStatement(sid="Describe", actions=list(DESCRIBE_ACTIONS), resources=["*"]),
                iam.PolicyStatement(
                    sid="DescribeThisClustersNodegroups",
                    actions=["eks:DescribeNodegroup"],
                    resources=[
                        stack.format_arn(service="eks", resource="nodegroup", resource_name=f"{props.cluster_name}/*/*")
                    ],
                ),
            ],
        )
        acknowledge(
            policy,
            "Auto Scaling groups are created by EKS for each managed node group and have no ARN in advance, so the "
            "two writes are scoped by the owned tag EKS puts on this cluster's groups; the describe calls accept no "
            "resource.",
            *wildcard_permission_findings(policy, policy.document),
        )
        identity = PodIdentity(
            self,
            "Identity",
            cluster=props.cluster,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            description=f"Cluster Autoscaler of EKS cluster {props.cluster_name}",
            managed_policies=[policy],
        )
        self.values = chart_values(
            props.chart.chart,
            {
                "autoDiscovery": {"clusterName": props.cluster_name},
                # Pods may not reach instance metadata (IMDSv2, hop limit 2 on core nodes only), so it is given.
                "awsRegion": stack.region,
                "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
                "nodeSelector": dict(props.core_node_labels),
            },
        )
        self.chart = helm_release(
            self,
            "Chart",
            cluster=props.cluster,
            chart=props.chart,
            release=RELEASE,
            namespace=NAMESPACE,
            values=self.values,
        )
        self.chart.node.add_dependency(identity, props.core_nodes)
