"""IAM roles for EKS nodes and for pods (EKS Pod Identity)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs.shared.acknowledgments import acknowledge, aws_managed_policy_finding

# What a node needs to join the cluster, run the VPC CNI and pull images; nothing for workloads, which get their own
# roles through Pod Identity. PullOnly instead of ReadOnly: nodes pull images, they never list repositories.
NODE_MANAGED_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly")


def node_role(scope: Construct, construct_id: str, *, description: str) -> iam.Role:
    role = iam.Role(
        scope,
        construct_id,
        description=description,
        assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in NODE_MANAGED_POLICIES],
    )
    acknowledge(
        role,
        "The AWS-managed policies EKS documents for worker nodes (join the cluster, run the VPC CNI, pull images); "
        "AWS updates them with the service, and workloads get their own Pod Identity roles instead.",
        *(aws_managed_policy_finding(name) for name in NODE_MANAGED_POLICIES),
    )
    return role


class PodIdentity(Construct):
    """An IAM role only one Kubernetes service account can assume, through an EKS Pod Identity association."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        namespace: str,
        service_account: str,
        description: str,
        managed_policies: Sequence[iam.IManagedPolicy] = (),
        statements: Sequence[iam.PolicyStatement] = (),
        create_association: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        # The EKS Pod Identity service assumes the role and tags the session with the pod's namespace and account.
        self.role = iam.Role(
            self,
            "Role",
            description=description,
            assumed_by=iam.SessionTagsPrincipal(iam.ServicePrincipal("pods.eks.amazonaws.com")),
            managed_policies=list(managed_policies),
        )
        # What only this role needs, as its own policy: a construct depending on the identity (e.g. the chart whose
        # pods use it) then waits for the permissions too.
        if statements:
            iam.Policy(self, "Policy", statements=list(statements)).attach_to_role(self.role)
        if create_association:
            eks.CfnPodIdentityAssociation(
                self,
                "Association",
                cluster_name=cluster.cluster_name,
                namespace=namespace,
                service_account=service_account,
                role_arn=self.role.role_arn,
            )
