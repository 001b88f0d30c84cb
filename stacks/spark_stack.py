"""The Spark stack: the Kubeflow Spark Operator, the job namespaces Airflow submits SparkApplications to, and a
History Server per namespace.

Depends on the cluster and data stacks only (the team buckets are the data stack's), so it deploys beside the
Airflow stack. Inside it: job namespaces -> operator (its chart puts Roles in them); accounts, RBAC, identities
and History Servers beside the operator. `cdk destroy` deletes the namespaces last; the operator 2.5.2 puts no
finalizer on SparkApplications (its finalizer name is declared but unused), so deleting a namespace removes any left
there, and their pods through owner references, with or without the operator.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config.settings import AppConfig
from constructs.cluster.eks_cluster import CORE_NODE_LABELS
from constructs.data.spark_team_buckets import EVENT_LOGS_PREFIX
from constructs.spark.history_server import SparkHistoryServer, SparkHistoryServerProps
from constructs.spark.job_namespace import SparkJobNamespace, SparkJobNamespaceProps
from constructs.spark.names import HISTORY_SERVER, HISTORY_SERVER_PORT
from constructs.spark.operator import SparkOperator, SparkOperatorProps
from stacks.base import AirflowEksStack
from stacks.handles import ClusterHandle, DataHandle


class SparkStack(AirflowEksStack):
    def __init__(self, scope: Construct, *, config: AppConfig, cluster: ClusterHandle, data: DataHandle) -> None:
        super().__init__(
            scope,
            "spark",
            config=config,
            description="Airflow on EKS: Spark Operator, Spark job namespaces and History Servers",
        )
        eks_cluster = cluster.cluster
        self.job_namespaces = {
            namespace: SparkJobNamespace(
                self, f"JobNamespace-{namespace}", props=SparkJobNamespaceProps(cluster=eks_cluster, team=team)
            )
            for namespace, team in data.spark_teams.items()
        }
        self.operator = SparkOperator(
            self,
            "Operator",
            props=SparkOperatorProps(
                cluster=eks_cluster,
                chart=config.versions.helm_charts.spark_operator,
                job_namespaces=list(self.job_namespaces),
                core_node_labels=CORE_NODE_LABELS,
                # Not the Karpenter stack's NodePool: the operator installs on the core nodes, and on `cdk destroy`
                # the order of the two does not matter (a deleted pool's nodes are drained, their Spark pods evicted,
                # and nothing the operator made lives outside the cluster).
                after=tuple(job.namespace for job in self.job_namespaces.values()),
            ),
        )
        if config.spark.history_server.enabled:
            for namespace, job in self.job_namespaces.items():
                SparkHistoryServer(
                    self,
                    f"HistoryServer-{namespace}",
                    props=SparkHistoryServerProps(
                        cluster=eks_cluster,
                        namespace=job.namespace,
                        team=data.spark_teams[namespace],
                        spark=config.versions.spark,
                        region=config.region,
                    ),
                )
        for namespace, team in data.spark_teams.items():
            cdk.CfnOutput(
                self,
                f"EventLogs-{namespace}",
                value=f"s3://{team.bucket.bucket_name}/{EVENT_LOGS_PREFIX}/",
                description=f"Where Spark jobs of namespace {namespace} write their event logs",
            )
            if config.spark.history_server.enabled:
                cdk.CfnOutput(
                    self,
                    f"HistoryServerCommand-{namespace}",
                    value=f"kubectl port-forward -n {namespace} service/{HISTORY_SERVER} "
                    f"{HISTORY_SERVER_PORT}:{HISTORY_SERVER_PORT}",
                    description="Then open http://localhost:18080 for the Spark History Server",
                )
