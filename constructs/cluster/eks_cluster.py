"""The EKS control plane and its managed core node group.

Not EKS Auto Mode: capacity is a managed node group for the cluster's own controllers plus Karpenter for
workloads, so node images, instance types and disruption stay under this app's control.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk.lambda_layer_kubectl_v36 import KubectlV36Layer
from constructs import Construct

from config.settings import ClusterConfig
from constructs.cluster.eks_iam import node_role
from constructs.shared.acknowledgments import (
    CT_LAMBDA_IN_VPC,
    CT_LAUNCH_TEMPLATE_HOP_LIMIT,
    CT_LAUNCH_TEMPLATE_MONITORING,
    NAG_LAMBDA_LATEST_RUNTIME,
    acknowledge,
    aws_managed_policy_finding,
    conditional_managed_policy_findings,
    invoke_own_function_finding,
)
from constructs.shared.encryption_key import EncryptionKey
from constructs.shared.lifecycle import Lifecycle
from constructs.shared.log_group import EncryptedLogGroup, EncryptedLogGroupProps, govern_log_group, log_function_to
from constructs.shared.node_images import ROOT_DEVICE

CORE_NODE_LABELS = {"NodeGroupType": "core"}
# The core nodes run system controllers (EBS CSI node, LB controller) that may read instance metadata from a pod,
# which takes two hops; Karpenter's workload nodes keep the default of one.
CORE_NODE_METADATA_HOP_LIMIT = 2

_LOG_TYPES = {
    "api": eks.ClusterLoggingTypes.API,
    "audit": eks.ClusterLoggingTypes.AUDIT,
    "authenticator": eks.ClusterLoggingTypes.AUTHENTICATOR,
    "controllerManager": eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
    "scheduler": eks.ClusterLoggingTypes.SCHEDULER,
}
_AMI_TYPES = {
    "arm64": eks.NodegroupAmiType.AL2023_ARM_64_STANDARD,
    "x86_64": eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
}


@dataclass(frozen=True, kw_only=True)
class EksClusterProps:
    cluster_name: str
    settings: ClusterConfig
    vpc: ec2.IVpc
    # Nodes join this group so the data layer (RDS, EFS) admits them.
    data_clients: ec2.ISecurityGroup
    # The private subnets' way out (default routes, endpoints): nodes need it to join, the kubectl handler to reach
    # the EKS API and chart repositories.
    egress: Sequence[Construct]
    lifecycle: Lifecycle


class EksCluster(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: EksClusterProps) -> None:
        super().__init__(scope, construct_id)
        # Encrypts Kubernetes secrets (envelope encryption) and the control-plane log group.
        self.key = EncryptionKey(
            self,
            "Key",
            alias=f"alias/{props.cluster_name}/eks",
            description=f"Encrypts Kubernetes secrets and control-plane logs of EKS cluster {props.cluster_name}",
            allow_cloudwatch_logs=True,
            lifecycle=props.lifecycle,
        ).key
        # EKS writes control-plane logs here; creating the group first gives it our retention, key and lifecycle
        # instead of a never-expiring group left behind by `cdk destroy`.
        log_settings = EncryptedLogGroupProps(
            key=self.key,
            lifecycle=props.lifecycle,
            log_group_name=f"/aws/eks/{props.cluster_name}/cluster",
        )
        control_plane_logs = EncryptedLogGroup(self, "ControlPlaneLogs", props=log_settings)
        self.cluster = self._control_plane(props)
        # Only what leaves the VPC waits for the egress, not the control plane, which is created beside it. Every
        # manifest and chart waits for the ready barrier, so `cdk destroy` also keeps the way out until the last one
        # (and the load balancer controller's and Karpenter's clean-up calls) is done.
        self.cluster.node.find_child("KubectlReadyBarrier").node.add_dependency(*props.egress)
        self._create_kubectl_handler_beside_the_control_plane(props.cluster_name)
        # Only the control plane waits for the group (a dependency of the Cluster construct would hold its role,
        # security group and node group too); `cdk destroy` still deletes the group only after the control plane.
        self.cluster.node.default_child.node.add_dependency(control_plane_logs)
        acknowledge(
            self.cluster.role,
            "The AWS-managed service-role policy EKS requires for a cluster's control plane; AWS maintains it.",
            aws_managed_policy_finding("AmazonEKSClusterPolicy"),
        )
        self._govern_kubectl_provider(log_settings)
        # The IAM OIDC provider (native AWS::IAM::OIDCProvider) for workloads that still need IRSA; the app's own
        # controllers use Pod Identity.
        self.oidc_provider = self.cluster.open_id_connect_provider
        self._grant_cluster_admin(props.settings.admin_role_arns)
        self.core_nodes = self._core_node_group(props)

    def _control_plane(self, props: EksClusterProps) -> eks.Cluster:
        settings = props.settings
        endpoint = (
            eks.EndpointAccess.PRIVATE
            if settings.endpoint.access == "private"
            else eks.EndpointAccess.PUBLIC_AND_PRIVATE.only_from(*settings.endpoint.public_access_cidrs)
        )
        # The kubectl handler's own group, admitted by the control plane's: a least-privilege path to the API.
        kubectl_handler_group = ec2.SecurityGroup(
            self,
            "KubectlHandlerSecurityGroup",
            vpc=props.vpc,
            description=f"CDK kubectl handler of EKS cluster {props.cluster_name}",
            allow_all_outbound=True,
        )
        cluster = eks.Cluster(
            self,
            "Cluster",
            cluster_name=props.cluster_name,
            version=eks.KubernetesVersion.of(settings.kubernetes_version),
            # Opt out of Auto Mode: no default capacity; nodes come from the core node group and Karpenter.
            default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
            default_capacity=0,
            # The managed add-ons replace the self-managed vpc-cni, kube-proxy and coredns EKS would install.
            bootstrap_self_managed_addons=False,
            # Admins come from config (access entries); the deploying role gets no standing cluster-admin.
            bootstrap_cluster_creator_admin_permissions=False,
            vpc=props.vpc,
            vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)],
            endpoint_access=endpoint,
            secrets_encryption_key=self.key,
            cluster_logging=[_LOG_TYPES[name] for name in settings.control_plane_logs],
            # With a private endpoint CDK runs this handler in the private subnets, so it reaches the API server.
            kubectl_provider_options=eks.KubectlProviderOptions(
                kubectl_layer=KubectlV36Layer(self, "KubectlLayer"), security_groups=[kubectl_handler_group]
            ),
        )
        cluster.connections.allow_from(
            kubectl_handler_group, ec2.Port.HTTPS, "kubectl handler to the private API server endpoint"
        )
        # Every manifest and chart waits for the ready barrier; making it wait for these rules too keeps the handler's
        # way to the API server until the last of them is deleted. Otherwise `cdk destroy` deletes the rules (nothing
        # depends on them) beside the NodePools and charts, and the handler, which logs a failed delete and reports
        # success, would leave Karpenter's nodes and the releases behind.
        handler_rules = [
            rule
            for rule in cluster.node.find_all()
            if isinstance(rule, ec2.CfnSecurityGroupIngress)
            and rule.node.id.startswith("from ")
            and kubectl_handler_group.node.id in rule.node.id
        ]
        assert len(handler_rules) == 2, handler_rules  # the control-plane group's and the cluster group's
        cluster.node.find_child("KubectlReadyBarrier").node.add_dependency(*handler_rules)
        return cluster

    def _create_kubectl_handler_beside_the_control_plane(self, cluster_name: str) -> None:
        """A function in a VPC takes minutes to create (Lambda builds its network interfaces), and aws-cdk-lib makes
        the kubectl handler wait for its role's policy, whose one statement (eks:DescribeCluster) names the cluster by
        its ARN attribute: so the function waited for the control plane. The cluster's name is fixed, so the
        statement names the same ARN built from it; policy and function are then created beside the control plane,
        and the function still waits for its policy, so no manifest can run it before IAM has the grant."""
        handler = self.cluster.node.find_child("KubectlProvider").node.find_child("Handler")
        policy = handler.node.find_child("ServiceRole").node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, iam.CfnPolicy), policy
        stack = cdk.Stack.of(self)
        document = stack.resolve(policy.policy_document)
        assert [s["Action"] for s in document["Statement"]] == ["eks:DescribeCluster"], document
        policy.add_property_override(
            "PolicyDocument.Statement.0.Resource",
            stack.format_arn(service="eks", resource="cluster", resource_name=cluster_name),
        )

    def _grant_cluster_admin(self, role_arns: Sequence[str]) -> None:
        for role_arn in role_arns:
            self.cluster.grant_access(
                f"Admin-{_role_name(role_arn)}",
                role_arn,
                [
                    eks.AccessPolicy.from_access_policy_name(
                        "AmazonEKSClusterAdminPolicy", access_scope_type=eks.AccessScopeType.CLUSTER
                    )
                ],
            )

    def _govern_kubectl_provider(self, log_settings: EncryptedLogGroupProps) -> None:
        """CDK's kubectl handler applies manifests and Helm charts at deploy time and deletes them on `cdk destroy`.
        Its log groups would keep two years, unencrypted, and be deleted before the handler's last run: give them the
        cluster's key, retention and lifecycle, and make them outlive the functions."""
        provider = self.cluster.node.find_child("KubectlProvider")
        handler = provider.node.find_child("Handler")
        on_event = provider.node.find_child("Provider").node.find_child("framework-onEvent")
        for function in (handler, on_event):
            log_group = function.node.find_child("LogGroup").node.default_child
            assert isinstance(log_group, logs.CfnLogGroup)
            govern_log_group(log_group, props=log_settings)
            # CDK names the group `/aws/lambda/<function>`, which makes the group depend on the function: deleted
            # first, while the handler still runs for every manifest `cdk destroy` deletes. A generated name lets
            # the function depend on the group instead.
            log_group.add_property_deletion_override("LogGroupName")
            log_function_to(function.node.default_child, log_group.ref)
        acknowledge(
            provider,
            "aws-cdk-lib's kubectl handler and its provider function run in the VPC's private subnets; the offline "
            "check cannot see that because the subnet ids come from the network stack as Fn::GetStackOutput.",
            CT_LAMBDA_IN_VPC,
        )
        acknowledge(
            provider,
            "aws-cdk-lib's kubectl handler: its runtime, Lambda execution policies (logs, VPC networking, image pull "
            "for the layer) and invoke permission are fixed by the library and upgrade with aws-cdk-lib.",
            NAG_LAMBDA_LATEST_RUNTIME,
            aws_managed_policy_finding("service-role/AWSLambdaBasicExecutionRole"),
            aws_managed_policy_finding("service-role/AWSLambdaVPCAccessExecutionRole"),
            aws_managed_policy_finding("AmazonEC2ContainerRegistryReadOnly"),
            invoke_own_function_finding(provider.node.find_child("Handler")),
            *conditional_managed_policy_findings(provider),
        )

    def _core_node_group(self, props: EksClusterProps) -> eks.Nodegroup:
        core = props.settings.core_nodes
        launch_template = ec2.LaunchTemplate(
            self,
            "CoreNodeLaunchTemplate",
            block_devices=[
                ec2.BlockDevice(
                    device_name=ROOT_DEVICE,
                    volume=ec2.BlockDeviceVolume.ebs(
                        core.disk_size_gib,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        encrypted=True,
                        delete_on_termination=True,
                    ),
                )
            ],
            http_endpoint=True,
            http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
            http_put_response_hop_limit=CORE_NODE_METADATA_HOP_LIMIT,
            # One-minute EC2 metrics cost $2.10 a node a month; a development env idles on the five-minute ones.
            detailed_monitoring=not props.lifecycle.development_env,
            # A launch template that names security groups replaces EKS's default, so list the cluster's own too.
            security_group=self.cluster.cluster_security_group,
        )
        launch_template.add_security_group(props.data_clients)
        if props.lifecycle.development_env:
            acknowledge(
                launch_template,
                "A development env idles on EC2's free five-minute metrics: one-minute metrics cost $2.10 a node a "
                "month and nothing in dev alarms on them. Production keeps them on.",
                CT_LAUNCH_TEMPLATE_MONITORING,
            )
        acknowledge(
            launch_template,
            "Core nodes run AWS controllers (EBS CSI, metrics) that read instance metadata from a pod, which takes "
            "two hops; Karpenter's workload nodes keep the limit of one and their pods use Pod Identity.",
            CT_LAUNCH_TEMPLATE_HOP_LIMIT,
        )
        self.core_node_role: iam.Role = node_role(
            self, "CoreNodeRole", description=f"Core managed node group of EKS cluster {props.cluster_name}"
        )
        nodes = self.cluster.add_nodegroup_capacity(
            "CoreNodes",
            node_role=self.core_node_role,
            ami_type=_AMI_TYPES[core.architecture],
            instance_types=[ec2.InstanceType(name) for name in core.instance_types],
            capacity_type=eks.CapacityType[core.capacity_type],
            min_size=core.min_size,
            desired_size=core.desired_size,
            max_size=core.max_size,
            labels=CORE_NODE_LABELS,
            launch_template_spec=eks.LaunchTemplateSpec(
                id=launch_template.launch_template_id, version=launch_template.latest_version_number
            ),
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )
        # aws-cdk-lib leaves Version unset, which EKS reads as the cluster's version at create only: a cluster
        # upgrade would leave these nodes on the old minor. Naming it rolls them to the new minor's latest AMI
        # release in the same deploy, after the control plane (the group references the cluster).
        cfn_nodes = nodes.node.default_child
        assert isinstance(cfn_nodes, eks.CfnNodegroup)
        cfn_nodes.version = props.settings.kubernetes_version
        cfn_nodes.node.add_dependency(*props.egress)
        return nodes


def _role_name(role_arn: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", role_arn.rsplit("/", 1)[-1])
