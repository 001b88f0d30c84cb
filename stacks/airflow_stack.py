"""The Airflow stack: Airflow 3 on the official chart, on the cluster stack's EKS with the data stack's state.

Depends on the cluster and data stacks only. Inside it, the deploy waits only where a step needs the one before:
namespace -> secret store -> ExternalSecrets -> release, with the pod identities, the DAG volume and the Ingress
beside them (the ALB is built while the chart installs).
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config.settings import AppConfig
from constructs.airflow.dag_volume import DagVolume, DagVolumeProps
from constructs.airflow.external_secrets import AirflowExternalSecrets, AirflowExternalSecretsProps
from constructs.airflow.ingress import AirflowIngress, AirflowIngressProps, load_balancer_tags
from constructs.airflow.names import API_SERVER, TRIGGERER, WORKER
from constructs.airflow.namespace import AirflowNamespace, AirflowNamespaceProps
from constructs.airflow.pod_identities import AirflowPodIdentities, AirflowPodIdentitiesProps, ComponentIdentity
from constructs.airflow.release import AirflowRelease, AirflowReleaseProps
from constructs.cluster.eks_cluster import CORE_NODE_LABELS
from constructs.data.spark_team_buckets import team_bucket_variable
from constructs.data.task_log_access import TASK_LOGS_PREFIX
from stacks.base import AirflowEksStack
from stacks.handles import ClusterHandle, DataHandle

# Who touches AWS, and for what (the worker is a KubernetesExecutor task pod). Airflow 3.3's scheduler and
# dag-processor neither read nor write remote logs (their own logs stay in the pod), so they get no role.
COMPONENT_IDENTITIES = (
    ComponentIdentity(account=WORKER, task_logs="write", purpose="task pods upload their task logs"),
    ComponentIdentity(account=TRIGGERER, task_logs="write", purpose="uploads the logs of deferred tasks"),
    ComponentIdentity(account=API_SERVER, task_logs="read", purpose="shows task logs in the UI"),
)


class AirflowStack(AirflowEksStack):
    def __init__(self, scope: Construct, *, config: AppConfig, cluster: ClusterHandle, data: DataHandle) -> None:
        super().__init__(
            scope,
            "airflow",
            config=config,
            description="Airflow on EKS: Airflow 3 release, its secrets, pod identities, DAG volume and ALB",
        )
        eks_cluster = cluster.cluster
        namespace = AirflowNamespace(self, "Namespace", props=AirflowNamespaceProps(cluster=eks_cluster))
        AirflowExternalSecrets(
            self,
            "Secrets",
            props=AirflowExternalSecretsProps(
                cluster=eks_cluster,
                after=(namespace.namespace, cluster.external_secrets),
                database=data.database,
                database_secret=data.database_secret,
                secrets=data.secrets,
            ),
        )
        identities = AirflowPodIdentities(
            self,
            "PodIdentities",
            props=AirflowPodIdentitiesProps(
                cluster=eks_cluster,
                components=COMPONENT_IDENTITIES,
                task_log_policies=data.task_log_policies,
            ),
        )
        dag_volume = DagVolume(
            self,
            "DagVolume",
            props=DagVolumeProps(
                cluster=eks_cluster,
                namespace=namespace.namespace,
                file_system=data.dag_file_system,
                access_point=data.dags_access_point,
                node_roles=cluster.node_roles,
                read_only=config.airflow.dags.source == "deploy",
            ),
        )
        ingress = AirflowIngress(
            self,
            "Ingress",
            props=AirflowIngressProps(
                cluster=eks_cluster,
                namespace=namespace.namespace,
                load_balancer_controller=cluster.load_balancer_controller,
                settings=config.airflow.ingress,
                vpc_cidr=config.network.vpc_cidr,
                allowed_cidrs=config.allowed_ingress_cidrs,
                tags=load_balancer_tags(config.project, config.env_name),
            ),
        )
        task_pool = config.airflow_task_pool
        assert task_pool is not None  # the config refuses a name that is not a NodePool
        release = AirflowRelease(
            self,
            "Release",
            props=AirflowReleaseProps(
                cluster=eks_cluster,
                chart=config.versions.helm_charts.airflow,
                airflow=config.versions.airflow,
                settings=config.airflow,
                vpc_cidr=config.network.vpc_cidr,
                core_node_labels=CORE_NODE_LABELS,
                task_node_pool=task_pool,
                logs_bucket=data.logs_bucket,
                logs_prefix=TASK_LOGS_PREFIX,
                variables={
                    team_bucket_variable(namespace): team.bucket.bucket_name
                    for namespace, team in data.spark_teams.items()
                },
                # Not after the ExternalSecrets: their apply returns before ESO syncs anything, so waiting for it
                # proves nothing; the chart's pods start once the Secrets they name exist, within its Helm wait.
                after=(
                    namespace.worker_service_account,
                    dag_volume.claim,
                    *identities.identities.values(),
                ),
            ),
        )
        self.release = release
        self._outputs(data, ingress)

    def _outputs(self, data: DataHandle, ingress: AirflowIngress) -> None:
        config = self.config
        scheme = "https" if config.airflow.ingress.certificate_arn is not None else "http"
        host = config.airflow.ingress.host
        cdk.CfnOutput(self, "AlbHostname", value=ingress.hostname, description="DNS name of the Airflow ALB")
        cdk.CfnOutput(
            self,
            "AirflowUrl",
            value=f"{scheme}://{host}" if host is not None else f"{scheme}://{ingress.hostname}",
            description="Open this to reach the Airflow UI (internal ALBs answer inside the VPC only)",
        )
        admin_password = data.secrets["admin-password"]
        cdk.CfnOutput(
            self,
            "AdminPasswordSecretArn",
            value=admin_password.secret_arn,
            description="The Airflow admin user's password (user name: admin)",
        )
        cdk.CfnOutput(
            self,
            "AdminPasswordCommand",
            value=f"aws secretsmanager get-secret-value --region {config.region} --secret-id "
            f"{admin_password.secret_arn} --query SecretString --output text",
            description="Prints the admin password",
        )
        cdk.CfnOutput(
            self,
            "TaskLogsLocation",
            value=f"s3://{data.logs_bucket.bucket_name}/{TASK_LOGS_PREFIX}/",
            description="Where Airflow writes task logs",
        )
        cdk.CfnOutput(
            self,
            "UpdateKubeconfigCommand",
            value=f"aws eks update-kubeconfig --region {config.region} --name {config.cluster_name}",
            description="Points kubectl at the cluster (the API endpoint's access is set in config)",
        )
