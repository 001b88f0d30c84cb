"""The External Secrets Operator in the cluster template: its release and values, its namespace, the controller's
Pod Identity and IAM policy (read against the secrets the data stack creates), and the order CloudFormation creates
and deletes it in. The chart's rendered objects are checked in test_chart_rendering.py with every other release."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import yaml

from constructs.cluster.eks_cluster import CORE_NODE_LABELS
from constructs.cluster.external_secrets import NAMESPACE, RELEASE, SERVICE_ACCOUNT
from constructs.shared.helm_values import HELM_VALUES_DIR
from tests.support import as_list, unknown_keys
from tests.synth import Synthesized
from tests.template_queries import (
    by_path,
    depends_on,
    helm_release,
    kubernetes_manifests,
    only_resource,
    render,
    resources_of_type,
)
from tests.test_compliance import acknowledgments

POLICY_PATH = "/ExternalSecrets/Policy/Resource"


def _policy_statements(template: dict) -> dict[str, dict]:
    _, policy = by_path(template, POLICY_PATH)
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def _secret_arn_pattern(synthesized: Synthesized) -> str:
    """The ARN pattern the policy must use, with the account as the template writes it."""
    config = synthesized.config
    return f"arn:aws:secretsmanager:{config.region}:${{Ref:AWS::AccountId}}:secret:{config.airflow_secret_prefix}/*"


# ---- release and values ----


def test_release_is_the_pinned_chart_in_its_own_namespace(synthesized: Synthesized, charts_dir: Path) -> None:
    chart = synthesized.config.versions.helm_charts.external_secrets
    _, props, values = helm_release(synthesized.template("cluster"), RELEASE)
    assert (props["Repository"], props["Chart"], props["Version"]) == (chart.repository, chart.chart, chart.version)
    assert props["Namespace"] == NAMESPACE
    # SecretStores and ExternalSecrets go to the API only once the webhook that admits them is ready.
    assert props["Wait"] is True
    assert values["serviceAccount"] == {"create": True, "name": SERVICE_ACCOUNT}
    assert values["installCRDs"] is True
    # helm_values/ holds the selector as data; it must stay the core node group's labels (never a Karpenter pool),
    # and no component may override it with its own.
    assert values["global"]["nodeSelector"] == CORE_NODE_LABELS
    assert all("nodeSelector" not in values.get(part, {}) for part in ("webhook", "certController"))
    assert "nodeSelector" not in values

    source = charts_dir / chart.chart / chart.version
    assert source.is_dir(), f"the pinned chart {chart.chart} {chart.version} is not in {charts_dir}"
    defaults = yaml.safe_load((source / "values.yaml").read_text())
    # The chart's schema allows unknown keys, so a misspelt one would be ignored without this.
    assert unknown_keys(values, defaults) == []


def test_release_carries_its_values_file(synthesized: Synthesized) -> None:
    """What the file says is what the chart gets: the synthesized values are the file plus the stack's own keys."""
    _, _, values = helm_release(synthesized.template("cluster"), RELEASE)
    static = yaml.safe_load((HELM_VALUES_DIR / "external-secrets.yaml").read_text())
    assert {key: values[key] for key in static} == static
    assert set(values) - set(static) == {"serviceAccount"}


def test_namespace_is_a_manifest_the_chart_depends_on(synthesized: Synthesized) -> None:
    """Helm never deletes a namespace it created; a manifest of our own is deleted on `cdk destroy`, after the chart."""
    template = synthesized.template("cluster")
    namespaces = [(lid, m) for lid, m in kubernetes_manifests(template) if m["kind"] == "Namespace"]
    ((namespace_id, namespace),) = [(lid, m) for lid, m in namespaces if m["metadata"]["name"] == NAMESPACE]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    chart_id, _, _ = helm_release(template, RELEASE)
    assert namespace_id in depends_on(template, chart_id)


# ---- Pod Identity and IAM ----


def test_controller_service_account_has_the_association(synthesized: Synthesized) -> None:
    template = synthesized.template("cluster")
    association_id, association = by_path(template, "/ExternalSecrets/Identity/Association")
    assert (association["Properties"]["Namespace"], association["Properties"]["ServiceAccount"]) == (
        NAMESPACE,
        SERVICE_ACCOUNT,
    )
    role_id = association["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    policy_id, _ = by_path(template, POLICY_PATH)
    assert role["ManagedPolicyArns"] == [{"Ref": policy_id}]
    assert "Policies" not in role


def test_policy_reads_only_the_airflow_secrets(synthesized: Synthesized) -> None:
    statements = _policy_statements(synthesized.template("cluster"))
    assert set(statements) == {"ReadAirflowSecrets", "DecryptAirflowSecrets"}
    read = statements["ReadAirflowSecrets"]
    assert read["Effect"] == "Allow"
    assert sorted(as_list(read["Action"])) == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert [render(r) for r in as_list(read["Resource"])] == [_secret_arn_pattern(synthesized)]
    assert "Condition" not in read


def test_policy_decrypts_only_through_secrets_manager_for_those_secrets(synthesized: Synthesized) -> None:
    config = synthesized.config
    decrypt = _policy_statements(synthesized.template("cluster"))["DecryptAirflowSecrets"]
    assert decrypt["Effect"] == "Allow"
    assert as_list(decrypt["Action"]) == ["kms:Decrypt"]
    # The one wildcard left: the data key's ARN is the data stack's, which this stack may not reference.
    assert [render(r) for r in as_list(decrypt["Resource"])] == [
        f"arn:aws:kms:{config.region}:${{Ref:AWS::AccountId}}:key/*"
    ]
    conditions = {
        operator: {key: render(value) for key, value in entries.items()}
        for operator, entries in decrypt["Condition"].items()
    }
    assert conditions == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{config.region}.${{Ref:AWS::URLSuffix}}"},
        "StringLike": {"kms:EncryptionContext:SecretARN": _secret_arn_pattern(synthesized)},
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{config.cluster_name}/airflow-data"},
    }


def test_policy_covers_every_secret_the_data_stack_creates_under_the_alias_of_their_key(
    synthesized: Synthesized,
) -> None:
    """The cluster stack names the data stack's secrets and key only by their prefix and alias: both must be what the
    data stack really creates, or the controller is denied at run time."""
    data = synthesized.template("data")
    statements = _policy_statements(synthesized.template("cluster"))
    pattern = _secret_arn_pattern(synthesized).rpartition(":secret:")[2]
    secrets = resources_of_type(data, "AWS::SecretsManager::Secret")
    names = {s["Properties"]["Name"] for s in secrets.values()}
    prefix = synthesized.config.airflow_secret_prefix
    expected = {f"{prefix}/{name}" for name in ("metadata-db", "api-secret-key", "jwt-secret", "admin-password")}
    assert expected | {f"{prefix}/fernet-key"} == names
    # Secrets Manager appends "-" and six random characters to the name in the ARN.
    assert all(fnmatch.fnmatchcase(f"{name}-AbCdEf", pattern) for name in names)

    _, alias = only_resource(data, "AWS::KMS::Alias")
    key_id = alias["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
    condition = statements["DecryptAirflowSecrets"]["Condition"]["ForAnyValue:StringEquals"]
    assert condition["kms:ResourceAliases"] == alias["Properties"]["AliasName"]
    assert all(s["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]} for s in secrets.values())


def test_exactly_the_two_wildcard_resources_are_acknowledged_on_the_policy(synthesized: Synthesized) -> None:
    """Synth fails on an unacknowledged finding; this pins which ones the policy waives, and where."""
    config = synthesized.config
    policy_path = f"/{config.stack_name('cluster')}{POLICY_PATH.removesuffix('/Resource')}"
    acknowledged = {(path, rule) for path, rule, _ in acknowledgments(synthesized) if "/ExternalSecrets" in path}
    region, prefix = config.region, config.airflow_secret_prefix
    assert acknowledged == {
        (
            policy_path,
            f"AwsSolutions-IAM5[Resource::arn:aws:secretsmanager:{region}:<AWS::AccountId>:secret:{prefix}/*]",
        ),
        (policy_path, f"AwsSolutions-IAM5[Resource::arn:aws:kms:{region}:<AWS::AccountId>:key/*]"),
    }


# ---- create and destroy order ----


def test_chart_waits_for_its_association_and_the_core_nodes(synthesized: Synthesized) -> None:
    template = synthesized.template("cluster")
    chart_id, _, values = helm_release(template, RELEASE)
    dependencies = depends_on(template, chart_id)
    association_id, _ = by_path(template, "/ExternalSecrets/Identity/Association")
    nodegroup_id, _ = only_resource(template, "AWS::EKS::Nodegroup")
    # The association before the pods (they get credentials only if it exists when they start); the core nodes its
    # pods run on (they wait for the Pod Identity agent). Not CoreDNS: the controller resolves Secrets Manager
    # through the VPC resolver.
    assert {association_id, nodegroup_id} <= dependencies
    assert values["dnsPolicy"] == "Default"
