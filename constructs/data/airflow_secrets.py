"""Secrets Airflow needs besides its DB password, generated inside AWS at deploy time.

No value exists in a template, source file or test: Secrets Manager generates three of them, and a one-shot
custom resource writes the Fernet key (Secrets Manager's generator cannot emit one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from constructs.shared.acknowledgments import CT_LAMBDA_IN_VPC, NAG_SECRET_ROTATION, acknowledge
from constructs.shared.handler_role import handler_logs_and_role, python_handler
from constructs.shared.lifecycle import Lifecycle

FERNET_HANDLER_DIR = Path(__file__).resolve().parent / "fernet_key_handler"


@dataclass(frozen=True, kw_only=True)
class GeneratedSecretSpec:
    construct_id: str
    name: str
    description: str
    length: int
    why_not_rotated: str


# The admin password excludes punctuation so it can be typed and pasted anywhere; length makes up the entropy.
GENERATED_SECRETS = (
    GeneratedSecretSpec(
        construct_id="ApiSecretKey",
        name="api-secret-key",
        length=64,
        description="Airflow [api] secret_key: signs API server session cookies",
        why_not_rotated="Every API server replica must hold the same key; a rotation Lambda cannot restart them "
        "together, so a rotation would log everyone out mid-rollout. Rotate by a planned Helm upgrade.",
    ),
    GeneratedSecretSpec(
        construct_id="JwtSecret",
        name="jwt-secret",
        length=64,
        description="Airflow [api_auth] jwt_secret: signs the JWTs between Airflow components",
        why_not_rotated="Schedulers, workers and the API server must switch keys at once or task-to-API calls fail; "
        "Secrets Manager rotation cannot coordinate that. Rotate by a planned Helm upgrade.",
    ),
    GeneratedSecretSpec(
        construct_id="AdminPassword",
        name="admin-password",
        length=32,
        description="Password of the initial Airflow admin user",
        why_not_rotated="Only seeds the first admin user at install; changing the secret later does not change "
        "the user's password in Airflow, so rotation would only desynchronise them.",
    ),
)
FERNET_KEY_WHY_NOT_ROTATED = (
    "Rotating the Fernet key needs Airflow's `rotate-fernet-key` run with old and new keys together; a Secrets "
    "Manager rotation that swaps the value would make every stored connection and variable unreadable."
)


@dataclass(frozen=True, kw_only=True)
class AirflowSecretsProps:
    name_prefix: str
    key: kms.IKey
    lifecycle: Lifecycle


class AirflowSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AirflowSecretsProps) -> None:
        super().__init__(scope, construct_id)
        self.secrets: dict[str, secretsmanager.Secret] = {}
        for spec in GENERATED_SECRETS:
            self.secrets[spec.name] = secretsmanager.Secret(
                self,
                spec.construct_id,
                secret_name=f"{props.name_prefix}/{spec.name}",
                description=spec.description,
                encryption_key=props.key,
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=spec.length, exclude_punctuation=True, include_space=False
                ),
                removal_policy=props.lifecycle.removal_policy,
            )
            acknowledge(self.secrets[spec.name], spec.why_not_rotated, NAG_SECRET_ROTATION)

        fernet_key = secretsmanager.Secret(
            self,
            "FernetKey",
            secret_name=f"{props.name_prefix}/fernet-key",
            description="Airflow [core] fernet_key: encrypts connections and variables in the metadata DB",
            encryption_key=props.key,
            removal_policy=props.lifecycle.removal_policy,
        )
        self.secrets["fernet-key"] = fernet_key
        acknowledge(fernet_key, FERNET_KEY_WHY_NOT_ROTATED, NAG_SECRET_ROTATION)
        self._write_fernet_key(fernet_key, props)

    def _write_fernet_key(self, secret: secretsmanager.Secret, props: AirflowSecretsProps) -> None:
        log_group, role = handler_logs_and_role(
            self,
            logs_id="FernetKeyWriterLogs",
            role_id="FernetKeyWriterRole",
            key=props.key,
            lifecycle=props.lifecycle,
            description="Writes the generated Airflow Fernet key into its secret",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["secretsmanager:PutSecretValue"], resources=[secret.secret_arn])
        )
        # Secrets Manager encrypts the new value under our key on the caller's behalf.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[props.key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{cdk.Stack.of(self).region}.amazonaws.com"}
                },
            )
        )

        writer = python_handler(
            self,
            "FernetKeyWriter",
            handler_dir=FERNET_HANDLER_DIR,
            role=role,
            log_group=log_group,
            timeout=cdk.Duration.seconds(60),
            memory_size=128,
            description="Deploy-time writer of the Airflow Fernet key (never returns the value)",
        )
        write = cdk.CustomResource(
            self,
            "FernetKeyValue",
            service_token=writer.function_arn,
            resource_type="Custom::AirflowFernetKey",
            properties={"SecretArn": secret.secret_arn},
        )
        write.node.add_dependency(role)
        acknowledge(
            writer,
            "Runs once per deploy and only calls the Secrets Manager API; a VPC would add ENIs that slow "
            "`cdk destroy` and give it network reach it does not need.",
            CT_LAMBDA_IN_VPC,
        )
