"""The Kubernetes Secrets the Airflow chart reads, produced by External Secrets from Secrets Manager.

A SecretStore in `airflow` (so only that namespace can use it) reads with the External Secrets controller's own
Pod Identity, whose role may read only this deployment's Airflow secrets. Each ExternalSecret is a CDK manifest,
not part of a Helm chart, so Helm never evaluates its `{{ }}` templates, and a `helm upgrade` regenerates nothing:
the chart is told every Secret's name. No value passes through CloudFormation or Helm: the controller copies them
inside the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from constructs.airflow.names import (
    ADMIN_PASSWORD_SECRET,
    API_SECRET_KEY_SECRET,
    FERNET_KEY_SECRET,
    JWT_SECRET,
    METADATA_ASYNC_KEY,
    METADATA_SECRET,
    NAMESPACE,
    SECRET_STORE,
    SecretRef,
)
from constructs.data.database import DATABASE_NAME, POSTGRES_PORT
from constructs.shared.external_secrets import external_secret_manifest, secret_store_manifest

# The data layer's generated secrets (plain strings), by their name there, and the Secret each becomes.
GENERATED_SECRET_TARGETS: Mapping[str, SecretRef] = {
    "fernet-key": FERNET_KEY_SECRET,
    "api-secret-key": API_SECRET_KEY_SECRET,
    "jwt-secret": JWT_SECRET,
    "admin-password": ADMIN_PASSWORD_SECRET,
}


@dataclass(frozen=True, kw_only=True)
class AirflowExternalSecretsProps:
    cluster: eks.ICluster
    # The store and the secrets install once the operator's CRDs and webhook serve, in the namespace.
    after: tuple[Construct, ...]
    database: rds.IDatabaseInstance
    database_secret: secretsmanager.ISecret
    secrets: Mapping[str, secretsmanager.ISecret]


class AirflowExternalSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AirflowExternalSecretsProps) -> None:
        super().__init__(scope, construct_id)
        region = cdk.Stack.of(self).region
        self.store = eks.KubernetesManifest(
            self,
            "Store",
            cluster=props.cluster,
            manifest=[secret_store_manifest(SECRET_STORE, NAMESPACE, region)],
        )
        self.store.node.add_dependency(*props.after)

        manifests = [metadata_external_secret(props.database, props.database_secret)]
        manifests += [
            plain_external_secret(props.secrets[name], target) for name, target in GENERATED_SECRET_TARGETS.items()
        ]
        # One resource for all five: they are applied, replaced and deleted together.
        self.external_secrets = eks.KubernetesManifest(
            self, "ExternalSecrets", cluster=props.cluster, manifest=manifests
        )
        self.external_secrets.node.add_dependency(self.store)


def _external_secret(target: str, spec: dict[str, Any]) -> dict[str, Any]:
    return external_secret_manifest(target, NAMESPACE, SECRET_STORE, spec)


def plain_external_secret(secret: secretsmanager.ISecret, target: SecretRef) -> dict[str, Any]:
    """A Secret with one key holding the whole (plain string) value of `secret`."""
    return _external_secret(target.name, {"data": [{"secretKey": target.key, "remoteRef": {"key": secret.secret_arn}}]})


def metadata_external_secret(database: rds.IDatabaseInstance, credentials: secretsmanager.ISecret) -> dict[str, Any]:
    """The metadata DB's SQLAlchemy URIs, built in the cluster from the RDS credentials secret.

    `urlquery` escapes the user and password for the URI. TLS is required both ways: libpq takes `sslmode`, and
    Airflow's async engine (asyncpg) takes `ssl` and fails on `sslmode`, so it gets a URI of its own. The DB's
    parameter group also refuses non-TLS connections (`rds.force_ssl`).
    """
    user = "{{ .username | urlquery }}:{{ .password | urlquery }}"
    address = f"{database.db_instance_endpoint_address}:{POSTGRES_PORT}/{DATABASE_NAME}"
    spec = {
        "data": [
            {"secretKey": field, "remoteRef": {"key": credentials.secret_arn, "property": field}}
            for field in ("username", "password")
        ],
    }
    external_secret = _external_secret(METADATA_SECRET.name, spec)
    external_secret["spec"]["target"]["template"] = {
        "engineVersion": "v2",
        "type": "Opaque",
        "data": {
            METADATA_SECRET.key: f"postgresql://{user}@{address}?sslmode=require",
            METADATA_ASYNC_KEY: f"postgresql+asyncpg://{user}@{address}?ssl=require",
        },
    }
    return external_secret
