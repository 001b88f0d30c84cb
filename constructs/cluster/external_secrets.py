"""The External Secrets Operator: syncs this deployment's Airflow secrets from Secrets Manager into Kubernetes
Secrets, with the controller's own EKS Pod Identity credentials (SecretStores name no `auth`)."""

from __future__ import annotations

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

NAMESPACE = "external-secrets"
SERVICE_ACCOUNT = "external-secrets"
RELEASE = "external-secrets"
# Its own namespace, so `cdk destroy` removes it (Helm never deletes a namespace it created). Every pod the chart
# runs is non-root with no privileges, so the namespace enforces the restricted Pod Security Standard.
NAMESPACE_MANIFEST = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": NAMESPACE, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
}


@dataclass(frozen=True, kw_only=True)
class ExternalSecretsOperatorProps:
    cluster: eks.ICluster
    chart: HelmChartVersion
    # Every Airflow secret of this deployment is named `<secret_prefix>/<name>`: all the controller may read.
    secret_prefix: str
    # The alias of the KMS key those secrets are encrypted with (the data stack's key, whose ARN this stack cannot
    # reference: the two stacks deploy in parallel).
    secrets_key_alias: str
    # The controller, webhook and cert-controller run on the core nodes (nodeSelector in helm_values/).
    core_nodes: eks.Nodegroup


class ExternalSecretsOperator(Construct):
    """SecretStores and ExternalSecrets depend on `chart`: its webhook validates them (failing closed) and its CRDs
    define them, and on `cdk destroy` the controller outlives them."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ExternalSecretsOperatorProps) -> None:
        super().__init__(scope, construct_id)
        policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"External Secrets Operator: read the Airflow secrets under {props.secret_prefix}/",
            document=_read_airflow_secrets(cdk.Stack.of(self), props.secret_prefix, props.secrets_key_alias),
        )
        acknowledge(
            policy,
            "Secrets Manager appends a random suffix to every secret ARN, so the Airflow secrets are named by their "
            f"prefix {props.secret_prefix}/; the data key's ARN is in the data stack, which deploys in parallel, so "
            "Decrypt is scoped by the key's alias, Secrets Manager as the caller and the secret ARN in the encryption "
            "context instead.",
            *wildcard_permission_findings(policy, policy.document),
        )
        identity = PodIdentity(
            self,
            "Identity",
            cluster=props.cluster,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            description="External Secrets Operator controller: reads the Airflow secrets",
            managed_policies=[policy],
        )
        namespace = eks.KubernetesManifest(self, "Namespace", cluster=props.cluster, manifest=[NAMESPACE_MANIFEST])
        self.chart = helm_release(
            self,
            "Chart",
            cluster=props.cluster,
            chart=props.chart,
            release=RELEASE,
            namespace=NAMESPACE,
            values=chart_values(
                props.chart.chart,
                # The service account the Pod Identity association above names.
                {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
            ),
        )
        # A pod started before its association exists gets no credentials until it restarts: the association first.
        self.chart.node.add_dependency(namespace, identity, props.core_nodes)


def _read_airflow_secrets(stack: cdk.Stack, secret_prefix: str, key_alias: str) -> iam.PolicyDocument:
    """Read (never list, write or delete) the secrets under `secret_prefix/`, and decrypt them only through Secrets
    Manager."""
    secrets = stack.format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"{secret_prefix}/*",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="ReadAirflowSecrets",
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[secrets],
            ),
            iam.PolicyStatement(
                sid="DecryptAirflowSecrets",
                actions=["kms:Decrypt"],
                resources=[stack.format_arn(service="kms", resource="key", resource_name="*")],
                conditions={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.{stack.url_suffix}"},
                    # Secrets Manager encrypts each secret's data key under the secret's ARN as encryption context.
                    "StringLike": {"kms:EncryptionContext:SecretARN": secrets},
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": key_alias},
                },
            ),
        ]
    )
