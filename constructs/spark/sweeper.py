"""The destroy-time sweeper: a small local chart whose pre-delete hook deletes every SparkApplication (and
ScheduledSparkApplication) of the job namespaces, and waits until they are gone.

A SparkApplication carries the operator's finalizer. Airflow deletes the applications it submits, but one whose task
pod died first stays until its TTL; if the operator were uninstalled before it, the job namespace could never finish
deleting and `cdk destroy` would hang. This release depends on the operator and the namespaces, so CloudFormation
uninstalls it first: its hook runs while the controller still removes finalizers (and the driver and executor pods
with them), and only then do the operator and the namespaces go. At create time it adds only its account and roles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from constructs.shared.acknowledgments import acknowledge, wildcard_statement_findings
from constructs.spark.names import OPERATOR_NAMESPACE

SWEEPER_CHART_DIR = Path(__file__).resolve().parent / "sweeper_chart"
SWEEPER_RELEASE = "spark-application-sweeper"
# Each namespace's delete waits this long for the operator to finalize; the uninstall waits for the hook a bit more.
SWEEP_TIMEOUT = "4m"
UNINSTALL_TIMEOUT = cdk.Duration.minutes(6)


@dataclass(frozen=True, kw_only=True)
class SparkApplicationSweeperProps:
    cluster: eks.ICluster
    job_namespaces: Sequence[str]
    kubectl_image: str
    core_node_labels: Mapping[str, str]
    # The operator and the job namespaces: this release is created after them and so deleted before them.
    after: Sequence[Construct]


class SparkApplicationSweeper(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: SparkApplicationSweeperProps) -> None:
        super().__init__(scope, construct_id)
        self.values = {
            "jobNamespaces": list(props.job_namespaces),
            "image": props.kubectl_image,
            "nodeSelector": dict(props.core_node_labels),
            "timeout": SWEEP_TIMEOUT,
        }
        self.chart_asset = s3_assets.Asset(self, "ChartAsset", path=str(SWEEPER_CHART_DIR))
        self.chart = eks.HelmChart(
            self,
            "Chart",
            cluster=props.cluster,
            chart_asset=self.chart_asset,
            release=SWEEPER_RELEASE,
            namespace=OPERATOR_NAMESPACE,
            values=self.values,
            wait=True,
            timeout=UNINSTALL_TIMEOUT,
        )
        self.chart.node.add_dependency(*props.after)
        _acknowledge_asset_read(props.cluster, self.chart_asset)


def _acknowledge_asset_read(cluster: eks.ICluster, asset: s3_assets.Asset) -> None:
    """CDK lets the cluster's kubectl handler read chart assets with Asset.grantRead: the CDK asset bucket's objects
    (s3:GetObject*, GetBucket*, List*). Acknowledged on the handler's policy, for those statements only."""
    policy = cluster.kubectl_provider.role.node.find_child("DefaultPolicy")
    stack = cdk.Stack.of(policy)
    bucket_arn = stack.resolve(asset.bucket.bucket_arn)
    statements = [
        statement
        for statement in stack.resolve(policy.document.to_json())["Statement"]
        if bucket_arn in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    ]
    assert statements, "the chart asset's read grant is not on the kubectl handler's policy"
    acknowledge(
        policy,
        "CDK's kubectl handler downloads local Helm chart assets (the Spark sweeper chart) from the CDK asset bucket, "
        "read-only; that bucket holds deploy assets only, never a secret.",
        *wildcard_statement_findings(statements),
    )
