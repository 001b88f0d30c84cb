"""The Kubeflow Spark Operator: controller and webhook on the core nodes, watching exactly the job namespaces.

The chart creates its Roles in every job namespace, so it installs after them; its webhook (port 9443) is reached
by the control plane through the EKS cluster security group, which the core nodes carry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from config.settings import HelmChartVersion
from constructs.shared.helm_release import helm_release
from constructs.shared.helm_values import chart_values
from constructs.spark.names import JOB_SERVICE_ACCOUNT, OPERATOR_NAMESPACE, RELEASE


@dataclass(frozen=True, kw_only=True)
class SparkOperatorProps:
    cluster: eks.ICluster
    chart: HelmChartVersion
    job_namespaces: Sequence[str]
    core_node_labels: Mapping[str, str]
    # The job namespaces (the chart creates its Roles there) and the NodePool its Spark pods run on.
    after: Sequence[Construct]


class SparkOperator(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: SparkOperatorProps) -> None:
        super().__init__(scope, construct_id)
        self.values = chart_values(props.chart.chart, computed_values(props))
        self.chart = helm_release(
            self,
            "Chart",
            cluster=props.cluster,
            chart=props.chart,
            release=RELEASE,
            namespace=OPERATOR_NAMESPACE,
            values=self.values,
        )
        self.chart.node.add_dependency(*props.after)


def computed_values(props: SparkOperatorProps) -> dict[str, Any]:
    core = dict(props.core_node_labels)
    return {
        "controller": {"nodeSelector": core},
        "webhook": {"nodeSelector": core},
        "spark": {"jobNamespaces": list(props.job_namespaces), "serviceAccount": {"name": JOB_SERVICE_ACCOUNT}},
    }
