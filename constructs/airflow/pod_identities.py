"""One EKS Pod Identity role per Airflow component that calls AWS, each with only its part of the task logs.

The data layer defines what reading and writing task logs takes (constructs/data/task_log_access.py); each role
here gets exactly one of the two, for the one service account its component runs as.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs.airflow.names import NAMESPACE, ComponentAccount
from constructs.cluster.eks_iam import PodIdentity
from constructs.data.task_log_access import TaskLogAccessLevel


@dataclass(frozen=True, kw_only=True)
class ComponentIdentity:
    account: ComponentAccount
    task_logs: TaskLogAccessLevel
    # Why this component needs that access, as the role's description says it.
    purpose: str


@dataclass(frozen=True, kw_only=True)
class AirflowPodIdentitiesProps:
    cluster: eks.ICluster
    components: Sequence[ComponentIdentity]
    task_log_policies: Mapping[TaskLogAccessLevel, iam.IManagedPolicy]


class AirflowPodIdentities(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AirflowPodIdentitiesProps) -> None:
        super().__init__(scope, construct_id)
        self.identities: dict[str, PodIdentity] = {
            component.account.component: PodIdentity(
                self,
                component.account.component,
                cluster=props.cluster,
                namespace=NAMESPACE,
                service_account=component.account.service_account,
                description=f"Airflow {component.account.component}: {component.purpose}",
                managed_policies=[props.task_log_policies[component.task_logs]],
            )
            for component in props.components
        }
