"""Karpenter: what the nodes it launches need (role, access entry, interruption queue; the cluster stack's), and
the controller (upstream's CloudFormation policies and the charts; the Karpenter stack's).

Our own constructs because cdk-eks-karpenter does not accept aws_eks_v2 clusters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from config.settings import HelmChartVersion, KarpenterControllerConfig
from constructs.cluster.eks_iam import PodIdentity, node_role
from constructs.shared.acknowledgments import (
    CT_SQS_DEAD_LETTER_QUEUE,
    NAG_SQS_DEAD_LETTER_QUEUE,
    acknowledge,
    wildcard_permission_findings,
)
from constructs.shared.helm_release import helm_release
from constructs.shared.policy_documents import load_policy_file, policy_document

NAMESPACE = "kube-system"  # Karpenter's documented namespace: the API server's priority levels cover it
SERVICE_ACCOUNT = "karpenter"
# Upstream's policy file, kept as data (provenance in iam_policies/README.md).
POLICY_FILE = Path(__file__).resolve().parent / "iam_policies" / "karpenter-controller.json"

# The events Karpenter acts on before EC2 takes a node away (Karpenter docs, interruption handling).
INTERRUPTION_EVENTS = {
    "ScheduledChange": ("aws.health", "AWS Health Event"),
    "SpotInterruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "Rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "InstanceStateChange": ("aws.ec2", "EC2 Instance State-change Notification"),
    "CapacityReservationInterruption": ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}


class KarpenterNodes(Construct):
    """What Karpenter's nodes need besides the controller: their role, the access entry that lets their kubelets
    join, and the queue EC2's notices about them land in. The cluster stack's, so that what names a node role (the
    DAG file system's mounts) or watches the queue (an alarm) does not wait for, or depend on, the Karpenter stack."""

    def __init__(self, scope: Construct, construct_id: str, *, cluster: eks.ICluster, cluster_name: str) -> None:
        super().__init__(scope, construct_id)
        self.role = node_role(self, "NodeRole", description=f"Nodes Karpenter launches for EKS cluster {cluster_name}")
        # Karpenter's nodes are self-managed EC2 instances: this entry lets their kubelets join the cluster.
        self.access_entry = eks.AccessEntry(
            self,
            "NodeAccessEntry",
            cluster=cluster,
            principal=self.role.role_arn,
            access_entry_type=eks.AccessEntryType.EC2_LINUX,
            access_policies=[],
        )
        self.interruption_queue = self._interruption_handling()

    def _interruption_handling(self) -> sqs.Queue:
        """The queue EventBridge fills with notices of nodes EC2 is about to take away, which Karpenter drains."""
        queue = sqs.Queue(
            self,
            "InterruptionQueue",
            # Upstream's value: a notice older than five minutes is about a node that is already gone.
            retention_period=cdk.Duration.minutes(5),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        acknowledge(
            queue,
            "Karpenter acts on and deletes each interruption notice within seconds and a notice older than five "
            "minutes is stale, so a dead-letter queue would only keep messages nobody should act on.",
            NAG_SQS_DEAD_LETTER_QUEUE,
            CT_SQS_DEAD_LETTER_QUEUE,
        )
        for name, (source, detail_type) in INTERRUPTION_EVENTS.items():
            events.Rule(
                self,
                f"{name}Rule",
                description=f"Karpenter interruption handling: {detail_type}",
                event_pattern=events.EventPattern(source=[source], detail_type=[detail_type]),
                targets=[targets.SqsQueue(queue)],
            )
        return queue


@dataclass(frozen=True, kw_only=True)
class KarpenterProps:
    cluster: eks.ICluster
    cluster_name: str
    crd_chart: HelmChartVersion
    chart: HelmChartVersion
    controller: KarpenterControllerConfig
    # KarpenterNodes' (the cluster stack's)
    node_role: iam.IRole
    interruption_queue: sqs.IQueue
    # The controller runs on the core nodes, never on nodes it manages.
    node_selector: dict[str, str]


class Karpenter(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: KarpenterProps) -> None:
        super().__init__(scope, construct_id)
        policies = self._controller_policies(props)
        self.identity = PodIdentity(
            self,
            "ControllerIdentity",
            cluster=props.cluster,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            description=f"Karpenter controller of EKS cluster {props.cluster_name}",
            managed_policies=policies,
        )
        self.crds, self.chart = self._charts(props)
        # Created after, so destroyed before, everything the controller needs to clean up its nodes (KarpenterNodes
        # and the core nodes are the cluster stack's, which is destroyed after this stack).
        self.chart.node.add_dependency(self.crds, self.identity, *policies)

    def _controller_policies(self, props: KarpenterProps) -> list[iam.ManagedPolicy]:
        """Upstream's six controller policies, placeholders filled with this cluster's names and ARNs."""
        stack = cdk.Stack.of(self)
        values = {
            "ClusterName": props.cluster_name,
            "AWS::Partition": stack.partition,
            "AWS::Region": stack.region,
            "AWS::AccountId": stack.account,
            "KarpenterNodeRole.Arn": props.node_role.role_arn,
            "KarpenterInterruptionQueue.Arn": props.interruption_queue.queue_arn,
        }
        policies = [
            iam.ManagedPolicy(
                self,
                name,
                # No chart version here: IAM cannot edit a description, so naming it would replace all six policies
                # on every Karpenter upgrade (iam_policies/README.md says which release the file is from).
                description=f"Karpenter controller: {name} (upstream CloudFormation)",
                document=policy_document(document, values),
            )
            for name, document in load_policy_file(POLICY_FILE).items()
        ]
        for policy in policies:
            acknowledge(
                policy,
                "Karpenter's upstream controller policy: the instances, fleets, launch templates and instance "
                "profiles it creates have no ARN in advance, so writes are scoped by the cluster's ownership and "
                "karpenter.sh tags in conditions and reads by aws:RequestedRegion.",
                *wildcard_permission_findings(policy, policy.document),
            )
        return policies

    def _charts(self, props: KarpenterProps) -> tuple[eks.HelmChart, eks.HelmChart]:
        crds = helm_release(
            self, "CrdChart", cluster=props.cluster, chart=props.crd_chart, release="karpenter-crd", namespace=NAMESPACE
        )
        resources = {"cpu": props.controller.cpu, "memory": props.controller.memory}
        chart = helm_release(
            self,
            "Chart",
            cluster=props.cluster,
            chart=props.chart,
            release="karpenter",
            namespace=NAMESPACE,
            # Inline, not helm_values/: every value but nodeSelector comes from config or this construct, and
            # nodeSelector sits between them, so a file would reorder the release's Values (a no-op Helm upgrade).
            values={
                "settings": {
                    "clusterName": props.cluster_name,
                    "interruptionQueue": props.interruption_queue.queue_name,
                },
                "replicas": props.controller.replicas,
                "nodeSelector": props.node_selector,
                # Karpenter calls only AWS APIs and the API server (by IP): the VPC resolver serves it, so the
                # controller neither waits for nor depends on CoreDNS (upstream's documented setting for that).
                "dnsPolicy": "Default",
                "controller": {"resources": {"requests": resources, "limits": resources}},
            },
        )
        return crds, chart
