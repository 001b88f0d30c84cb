"""The Airflow stack as a first deploy would meet it: the chart's values, read back from the synthesized template,
checked the way Helm checks them (merged over the chart's defaults, validated by its schema), and cross-checked
against every other object the app creates that the chart assumes: Secrets and their keys, service accounts and
Pod Identity associations, the DAG claim, the task NodePool and the order CloudFormation creates them in.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import yaml

from constructs.airflow import names
from constructs.airflow.release import AWS_DEFAULT_CONNECTION, KUBERNETES_DEFAULT_CONNECTION
from constructs.cluster.eks_cluster import CORE_NODE_LABELS
from tests import airflow_venv
from tests.config_edits import ALTERNATIVE_CERTIFICATE, ALTERNATIVE_CIDR, ALTERNATIVE_GIT_SYNC, ALTERNATIVE_HOST
from tests.support import (
    MARKER,
    StandIns,
    as_list,
    crd_errors,
    crd_schemas,
    crds_in,
    node_shapes,
    output_source,
    resolve_markers,
    why_not,
)
from tests.template_queries import (
    depends_on,
    helm_release,
    kubernetes_manifests,
    manifest_of_kind,
    refs_in,
    render,
    resources_of_type,
)

if TYPE_CHECKING:
    from tests.synth import Synthesized

CHART_SCHEMA_DIR = "airflow-chart"
ESO_SCHEMA_DIR = "external-secrets"


def airflow_values(synthesized: Synthesized) -> dict[str, Any]:
    """The values the app hands the chart, deploy-time values given realistic stand-ins."""
    template = synthesized.template("airflow")
    _, _, values = helm_release(template, names.RELEASE)
    return resolve_markers(values, StandIns(synthesized.templates, template, synthesized.config.cluster_name))


def coalesce(defaults: Any, ours: Any) -> Any:
    """Helm's merge of user values over the chart's: maps merge, anything else replaces, and null deletes."""
    if isinstance(defaults, dict) and isinstance(ours, dict):
        merged = dict(defaults)
        for key, value in ours.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = coalesce(defaults.get(key), value)
        return merged
    return copy.deepcopy(ours)


def external_secret_targets(template: dict) -> dict[str, set[str]]:
    """Secret name -> keys, for every Secret an ExternalSecret in the Airflow namespace produces."""
    targets: dict[str, set[str]] = {}
    for _, obj in kubernetes_manifests(template):
        if obj["kind"] != "ExternalSecret" or obj["metadata"]["namespace"] != names.NAMESPACE:
            continue
        spec = obj["spec"]
        template_data = (spec["target"].get("template") or {}).get("data")
        keys = set(template_data) if template_data else {item["secretKey"] for item in spec.get("data", [])}
        targets[spec["target"]["name"]] = keys
    return targets


def secret_references(values: dict) -> set[tuple[str, str]]:
    """(Secret, key) for every Secret the values make a pod read."""
    refs = {
        (values["data"]["metadataSecretName"], "connection"),
        (values["fernetKeySecretName"], "fernet-key"),
        (values["apiSecretKeySecretName"], "api-secret-key"),
        (values["jwtSecretName"], "jwt-secret"),
    }
    refs |= {(item["secretName"], item["secretKey"]) for item in values.get("secret", [])}
    for entry in values["createUserJob"].get("env", []):
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            refs.add((ref["name"], ref["key"]))
    return refs


# ---- Helm's own check ----


def test_values_validate_against_the_chart_schema(synthesized: Synthesized, schemas_dir: Path) -> None:
    chart = synthesized.config.versions.helm_charts.airflow
    folder = schemas_dir / CHART_SCHEMA_DIR / chart.version
    assert folder.is_dir(), f"no schema for the pinned Airflow chart {chart.version} in {schemas_dir}"
    schema = json.loads((folder / "values.schema.json").read_text())
    defaults = yaml.safe_load((folder / "values.yaml").read_text())
    merged = coalesce(defaults, airflow_values(synthesized))
    errors = sorted(
        f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
        for error in jsonschema.Draft7Validator(schema).iter_errors(merged)
    )
    assert errors == []


def test_schema_check_catches_a_misplaced_value(synthesized: Synthesized, schemas_dir: Path) -> None:
    folder = schemas_dir / CHART_SCHEMA_DIR / synthesized.config.versions.helm_charts.airflow.version
    schema = json.loads((folder / "values.schema.json").read_text())
    defaults = yaml.safe_load((folder / "values.yaml").read_text())
    planted = airflow_values(synthesized)
    planted["scheduler"]["replica"] = 2
    assert list(jsonschema.Draft7Validator(schema).iter_errors(coalesce(defaults, planted)))


# ---- what the release runs ----


def test_release_is_pinned_and_waits_within_cdk_limit(synthesized: Synthesized) -> None:
    _, properties, values = helm_release(synthesized.template("airflow"), names.RELEASE)
    versions = synthesized.config.versions
    assert (properties["Chart"], properties["Version"]) == ("airflow", versions.helm_charts.airflow.version)
    assert properties["Repository"] == "https://airflow.apache.org"
    assert properties["Namespace"] == names.NAMESPACE
    assert properties["Wait"] is True
    # Below the kubectl handler's 15-minute Lambda limit, so Helm reports a stuck install itself.
    assert properties["Timeout"] == "780s"
    assert values["airflowVersion"] == versions.airflow.version == "3.3.2"
    assert values["defaultAirflowTag"] == versions.airflow.image_tag
    assert values["defaultAirflowRepository"] == "apache/airflow"


def test_kubernetes_executor_on_external_rds_without_hooks(synthesized: Synthesized) -> None:
    values = airflow_values(synthesized)
    assert values["executor"] == "KubernetesExecutor"
    for bundled in ("postgresql", "pgbouncer", "redis"):
        assert values[bundled]["enabled"] is False
    for job in ("migrateDatabaseJob", "createUserJob"):
        assert values[job]["useHelmHooks"] is False
    assert values["images"]["migrationsWaitTimeout"] >= 600
    assert values["triggerer"]["persistence"]["enabled"] is False
    assert int(values["config"]["scheduler"]["task_queued_timeout"]) >= 1800
    assert values["statsd"]["enabled"] is True


def test_every_component_has_requests_and_limits(synthesized: Synthesized) -> None:
    values = airflow_values(synthesized)
    components = {
        "apiServer": values["apiServer"],
        "scheduler": values["scheduler"],
        "dagProcessor": values["dagProcessor"],
        "triggerer": values["triggerer"],
        "statsd": values["statsd"],
        "migrateDatabaseJob": values["migrateDatabaseJob"],
        "createUserJob": values["createUserJob"],
        "task pods": values["workers"]["kubernetes"],
    }
    for sidecar_of in ("scheduler", "dagProcessor", "triggerer"):
        components[f"{sidecar_of} log groomer"] = values[sidecar_of]["logGroomerSidecar"]
    for name, component in components.items():
        resources = component["resources"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[kind]), f"{name}: {kind} lacks cpu or memory"
    assert values["apiServer"]["resources"]["limits"]["memory"] == "3Gi"


def test_replicas_and_budgets_follow_the_env(synthesized: Synthesized) -> None:
    values = airflow_values(synthesized)
    settings = synthesized.config.airflow
    for key, replicas in (("apiServer", settings.api_server_replicas), ("scheduler", settings.scheduler_replicas)):
        assert values[key]["replicas"] == replicas
        assert values[key]["podDisruptionBudget"]["enabled"] is (replicas > 1)
    expected = (1, 1) if synthesized.config.is_development else (2, 2)
    assert (settings.api_server_replicas, settings.scheduler_replicas) == expected


def test_pods_run_as_non_root(synthesized: Synthesized) -> None:
    contexts = airflow_values(synthesized)["securityContexts"]
    assert contexts["pod"]["runAsNonRoot"] is True
    assert contexts["pod"]["runAsUser"] == 50000
    assert contexts["containers"]["allowPrivilegeEscalation"] is False
    assert contexts["containers"]["capabilities"]["drop"] == ["ALL"]


# ---- secrets ----


def test_every_secret_the_chart_reads_is_produced_by_an_external_secret(synthesized: Synthesized) -> None:
    values = airflow_values(synthesized)
    produced = external_secret_targets(synthesized.template("airflow"))
    missing = sorted(ref for ref in secret_references(values) if ref[1] not in produced.get(ref[0], set()))
    assert missing == []


def test_the_async_engine_gets_its_own_tls_uri(synthesized: Synthesized) -> None:
    values = airflow_values(synthesized)
    (async_env,) = [s for s in values["secret"] if s["envName"] == "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"]
    _, metadata = manifest_of_kind(synthesized.template("airflow"), "ExternalSecret", async_env["secretName"])
    uris = metadata["spec"]["target"]["template"]["data"]
    sync, async_uri = uris["connection"], uris[async_env["secretKey"]]
    user = "{{ .username | urlquery }}:{{ .password | urlquery }}@"
    assert sync.startswith(f"postgresql://{user}") and sync.endswith("?sslmode=require")
    assert async_uri.startswith(f"postgresql+asyncpg://{user}") and async_uri.endswith("?ssl=require")
    assert "sslmode" not in async_uri
    database = next(iter(resources_of_type(synthesized.template("data"), "AWS::RDS::DBInstance")))
    (host,) = set(MARKER.findall(async_uri))
    _, logical_id, attribute = output_source(synthesized.templates, f"${{{host}}}")
    assert (logical_id, attribute) == (database, "Endpoint.Address")


def test_external_secrets_read_this_deployments_secrets_through_a_namespaced_store(synthesized: Synthesized) -> None:
    template = synthesized.template("airflow")
    data = synthesized.template("data")
    _, store = manifest_of_kind(template, "SecretStore", names.SECRET_STORE)
    assert store["metadata"]["namespace"] == names.NAMESPACE
    assert store["spec"]["provider"]["aws"] == {"service": "SecretsManager", "region": synthesized.config.region}
    # The DB credentials are read through their attachment, whose Ref is the same secret's ARN.
    secrets = set(resources_of_type(data, "AWS::SecretsManager::Secret")) | set(
        resources_of_type(data, "AWS::SecretsManager::SecretTargetAttachment")
    )
    for _, obj in kubernetes_manifests(template):
        if obj["kind"] != "ExternalSecret":
            continue
        assert obj["spec"]["secretStoreRef"] == {"kind": "SecretStore", "name": names.SECRET_STORE}
        assert obj["spec"]["target"]["creationPolicy"] == "Owner"
        for item in obj["spec"]["data"]:
            producer, logical_id, attribute = output_source(synthesized.templates, item["remoteRef"]["key"])
            assert producer is data and attribute == "Ref" and logical_id in secrets


def test_external_secrets_and_store_validate_against_the_operator_crds(
    synthesized: Synthesized, schemas_dir: Path
) -> None:
    version = synthesized.config.versions.helm_charts.external_secrets.version
    schemas = crd_schemas(crds_in(schemas_dir / ESO_SCHEMA_DIR / version))
    checked = 0
    for _, obj in kubernetes_manifests(synthesized.template("airflow")):
        if obj["apiVersion"].startswith("external-secrets.io/"):
            schema = schemas[(obj["apiVersion"], obj["kind"])]
            assert crd_errors(obj, schema) == [], obj["metadata"]["name"]
            checked += 1
    assert checked == 6  # the store and five ExternalSecrets


# Chart value keys that hold a secret itself (not a Secret's name): fernetKey, apiSecretKey, jwtSecret,
# webserverSecretKey, defaultUser.password, redis/pgbouncer/postgresql passwords, and any *Token.
SECRET_VALUE_KEY = re.compile(r"(password|pass|token|fernetKey|apiSecretKey|jwtSecret|webserverSecretKey)$", re.I)
# A Fernet key or any other url-safe base64 blob of 32+ bytes written out literally.
KEY_SHAPED = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=")


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [item for key, inner in value.items() for item in _strings(inner, f"{path}.{key}" if path else key)]
    if isinstance(value, list):
        return [item for index, inner in enumerate(value) for item in _strings(inner, f"{path}[{index}]")]
    return [(path, value)] if isinstance(value, str) else []


def test_no_secret_material_in_any_template_or_helm_value(synthesized: Synthesized) -> None:
    for name, template in synthesized.templates.items():
        for logical_id, secret in resources_of_type(template, "AWS::SecretsManager::Secret").items():
            assert "SecretString" not in secret["Properties"], (name, logical_id)
        text = json.dumps(template)
        assert not KEY_SHAPED.search(text), name
        for resource in resources_of_type(template, "Custom::AWSCDK-EKS-HelmChart").values():
            values = json.loads(render(resource["Properties"].get("Values", "{}")))
            for path, value in _strings(values):
                leaf = path.rsplit(".", 1)[-1].split("[")[0]
                if SECRET_VALUE_KEY.search(leaf):
                    assert value == "", f"{name} {resource['Properties']['Release']}: {path} holds a literal secret"
    for path, value in _strings(airflow_values(synthesized)):
        assert value.lower() != "admin" or not path.endswith("password"), path


def test_the_create_user_job_waits_for_the_schema_as_the_components_do(synthesized: Synthesized) -> None:
    values = airflow_values(synthesized)
    command = values["createUserJob"]["args"][2]
    # The chart renders the args as a template: the Job waits exactly as long as the components' init containers.
    wait = "airflow db check-migrations --migration-wait-timeout={{ .Values.images.migrationsWaitTimeout }} && "
    assert command.startswith(wait) and "exec airflow users create" in command


def test_the_api_server_trusts_forwarded_headers_from_the_vpc_only(synthesized: Synthesized) -> None:
    api_server = airflow_values(synthesized)["apiServer"]
    assert api_server["args"] == ["bash", "-c", "exec airflow api-server --proxy-headers"]
    assert api_server["env"] == [{"name": "FORWARDED_ALLOW_IPS", "value": synthesized.config.network.vpc_cidr}]


def test_no_default_or_literal_password(synthesized: Synthesized) -> None:
    values = airflow_values(synthesized)
    assert values["createUserJob"]["defaultUser"]["password"] == ""
    args = values["createUserJob"]["args"]
    assert f'"${names.ADMIN_PASSWORD_ENV}"' in args[2]
    assert not any("defaultUser.password" in arg for arg in args)


# ---- identities ----


def test_pod_identities_name_the_service_accounts_the_pods_run_as(synthesized: Synthesized) -> None:
    template = synthesized.template("airflow")
    values = airflow_values(synthesized)
    associated = {
        (r["Properties"]["Namespace"], r["Properties"]["ServiceAccount"])
        for r in resources_of_type(template, "AWS::EKS::PodIdentityAssociation").values()
    }
    chart_accounts = {}
    for account in names.CHART_ACCOUNTS:
        service_account = values[account.values_key]["serviceAccount"]
        assert service_account["create"] is True, account.component
        chart_accounts[account.component] = service_account["name"]
    for key in (values["workers"]["serviceAccount"], values["workers"]["kubernetes"]["serviceAccount"]):
        assert key == {"create": False, "name": names.WORKER_SERVICE_ACCOUNT}
    _, worker_account = manifest_of_kind(template, "ServiceAccount", names.WORKER_SERVICE_ACCOUNT)
    assert worker_account["metadata"]["namespace"] == names.NAMESPACE
    runs_as = {(names.NAMESPACE, name) for name in chart_accounts.values()} | {
        (names.NAMESPACE, names.WORKER_SERVICE_ACCOUNT)
    }
    assert associated <= runs_as, associated - runs_as
    # Task pods and the triggerer write task logs, the api-server reads them; in Airflow 3.3 the scheduler and the
    # dag-processor touch neither, so they have no role.
    call_aws = {names.WORKER.service_account, names.TRIGGERER.service_account, names.API_SERVER.service_account}
    assert associated == {(names.NAMESPACE, sa) for sa in call_aws}


def test_airflow_roles_reach_only_the_task_log_prefix_and_its_key(synthesized: Synthesized) -> None:
    template = synthesized.template("airflow")
    data = synthesized.template("data")
    roles = resources_of_type(template, "AWS::IAM::Role")
    for association in resources_of_type(template, "AWS::EKS::PodIdentityAssociation").values():
        service_account = association["Properties"]["ServiceAccount"]
        role = roles[association["Properties"]["RoleArn"]["Fn::GetAtt"][0]]
        assert "Policies" not in role["Properties"], service_account
        assert not any(
            r["Properties"]["Roles"]
            for r in resources_of_type(template, "AWS::IAM::Policy").values()
            if {"Ref": association["Properties"]["RoleArn"]["Fn::GetAtt"][0]} in r["Properties"]["Roles"]
        )
        (policy_arn,) = role["Properties"]["ManagedPolicyArns"]
        producer, policy_id, _ = output_source(synthesized.templates, render(policy_arn))
        assert producer is data, service_account
        policy = data["Resources"][policy_id]
        assert policy["Type"] == "AWS::IAM::ManagedPolicy", service_account
        actions = set()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            statement_actions = set(as_list(statement["Action"]))
            actions |= statement_actions
            for resource in as_list(statement["Resource"]):
                text = render(resource)
                assert "*" != text, service_account
                kind = data["Resources"][refs_of(resource)]["Type"]
                if statement_actions & {"s3:GetObject", "s3:PutObject"}:
                    assert kind == "AWS::S3::Bucket" and text.endswith("/task-logs/*"), text
                elif "s3:ListBucket" in statement_actions:
                    # IfExists: a HeadObject carries no prefix and must see 404 for a log not yet written.
                    assert statement["Condition"] == {"StringLikeIfExists": {"s3:prefix": ["task-logs/*"]}}
                else:
                    assert kind == "AWS::KMS::Key", text
                    assert "kms:ViaService" in statement["Condition"]["StringEquals"]
        assert "s3:DeleteObject" not in actions
        if service_account == names.API_SERVER.service_account:
            assert actions == {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"}
        else:
            assert "s3:PutObject" in actions


def refs_of(value: Any) -> str:
    (logical_id,) = refs_in(value)
    return logical_id


# ---- DAG volume ----


def test_dag_claim_is_the_data_layers_access_point(synthesized: Synthesized) -> None:
    template = synthesized.template("airflow")
    data = synthesized.template("data")
    values = airflow_values(synthesized)
    persistence = values["dags"]["persistence"]
    assert persistence == {**persistence, "enabled": True, "accessMode": "ReadWriteMany"}
    _, claim = manifest_of_kind(template, "PersistentVolumeClaim", persistence["existingClaim"])
    assert claim["metadata"]["namespace"] == names.NAMESPACE
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    _, volume = manifest_of_kind(template, "PersistentVolume", claim["spec"]["volumeName"])
    _, storage_class = manifest_of_kind(template, "StorageClass", claim["spec"]["storageClassName"])
    assert volume["spec"]["storageClassName"] == storage_class["metadata"]["name"]
    assert storage_class["provisioner"] == volume["spec"]["csi"]["driver"] == "efs.csi.aws.com"
    assert volume["spec"]["claimRef"] == {"namespace": names.NAMESPACE, "name": persistence["existingClaim"]}
    file_system, access_point = volume["spec"]["csi"]["volumeHandle"].split("::")
    fs_id = next(iter(resources_of_type(data, "AWS::EFS::FileSystem")))
    ap_id = next(iter(resources_of_type(data, "AWS::EFS::AccessPoint")))
    assert output_source(synthesized.templates, file_system) == (data, fs_id, "Ref")
    assert output_source(synthesized.templates, access_point) == (data, ap_id, "Ref")
    assert values["config"]["core"]["dags_folder"] == f"{values['dags']['mountPath']}/{names.DAGS_CURRENT}"
    # Only the deploy writes delivered DAGs: pods mount them read-only, and nodes may not write through IAM either.
    assert volume["spec"]["mountOptions"] == ["iam", "ro"]
    assert _node_mount_actions(template) == ["elasticfilesystem:ClientMount"]


def _node_mount_actions(template: dict) -> list[str]:
    (policy,) = [
        p
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        if "NodesMountDags" in p["Metadata"]["aws:cdk:path"]
    ]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert "elasticfilesystem:AccessPointArn" in statement["Condition"]["StringEquals"]
    return as_list(statement["Action"])


# ---- placement ----


def test_airflow_components_run_on_the_core_nodes(synthesized: Synthesized) -> None:
    assert airflow_values(synthesized)["nodeSelector"] == CORE_NODE_LABELS


def test_task_pods_land_on_the_task_pool_and_only_there(synthesized: Synthesized) -> None:
    kubernetes = airflow_values(synthesized)["workers"]["kubernetes"]
    pod = {"nodeSelector": kubernetes["nodeSelector"], "tolerations": kubernetes["tolerations"]}
    shapes = {shape.name: shape for shape in node_shapes(synthesized.platform())}
    pool = synthesized.config.airflow.task_node_pool
    fits = sorted(name for name, shape in shapes.items() if why_not(pod, shape) is None)
    assert fits == [f"NodePool {pool}"] or fits == [pool], (fits, sorted(shapes))
    assert kubernetes["podAnnotations"]["karpenter.sh/do-not-disrupt"] == "true"


# ---- connections, logs ----


def test_connections_and_remote_logging_need_no_manual_step(synthesized: Synthesized) -> None:
    values = airflow_values(synthesized)
    env = {item["name"]: item["value"] for item in values["env"]}
    assert env["AIRFLOW_CONN_AWS_DEFAULT"] == AWS_DEFAULT_CONNECTION
    assert env["AIRFLOW_CONN_KUBERNETES_DEFAULT"] == KUBERNETES_DEFAULT_CONNECTION
    assert env["AWS_DEFAULT_REGION"] == synthesized.config.region
    logging = values["config"]["logging"]
    assert logging["remote_logging"] == "True"
    assert logging["remote_log_conn_id"] == "aws_default"
    assert logging["remote_base_log_folder"].startswith("s3://") and logging["remote_base_log_folder"].endswith(
        "/task-logs"
    )


def test_every_airflow_option_the_deployment_sets_is_known_and_current(synthesized: Synthesized) -> None:
    """The chart writes `config:` into airflow.cfg and `env`/`secret` into every container: Airflow ignores a
    misspelled option silently, so the real Airflow 3.3.2 (and its providers) checks each name."""
    values = airflow_values(synthesized)
    env_names = [item["name"] for item in values["env"]] + [item["envName"] for item in values["secret"]]
    env_names += [item["name"] for item in values["createUserJob"]["env"]]
    assert airflow_venv.check_airflow_options(values["config"], env_names) == []


# ---- ingress ----


def test_ingress_is_internal_by_default_and_health_checked(synthesized: Synthesized) -> None:
    _, ingress = manifest_of_kind(synthesized.template("airflow"), "Ingress", names.INGRESS)
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internal"
    assert annotations["alb.ingress.kubernetes.io/inbound-cidrs"] == synthesized.config.network.vpc_cidr
    assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == "/api/v2/monitor/health"
    assert annotations["alb.ingress.kubernetes.io/listen-ports"] == '[{"HTTP":80}]'
    assert "certificate-arn" not in json.dumps(annotations)
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": names.API_SERVER_SERVICE, "port": {"number": names.API_SERVER_PORT}}
    assert "api" not in airflow_values(synthesized)["config"]


def test_internet_facing_ingress_admits_only_the_allowed_cidrs_over_https(dev_alternatives: Synthesized) -> None:
    _, ingress = manifest_of_kind(dev_alternatives.template("airflow"), "Ingress", names.INGRESS)
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert annotations["alb.ingress.kubernetes.io/inbound-cidrs"] == ALTERNATIVE_CIDR
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == ALTERNATIVE_CERTIFICATE
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert json.loads(annotations["alb.ingress.kubernetes.io/listen-ports"]) == [{"HTTP": 80}, {"HTTPS": 443}]
    assert ingress["spec"]["rules"][0]["host"] == ALTERNATIVE_HOST
    assert airflow_values(dev_alternatives)["config"]["api"]["base_url"] == f"https://{ALTERNATIVE_HOST}"
    assert (
        render(dev_alternatives.template("airflow")["Outputs"]["AirflowUrl"]["Value"]) == f"https://{ALTERNATIVE_HOST}"
    )


def test_git_sync_is_the_alternative_dag_source(dev_alternatives: Synthesized) -> None:
    values = airflow_values(dev_alternatives)
    assert values["dags"]["gitSync"]["enabled"] is True
    assert values["dags"]["gitSync"]["repo"] == ALTERNATIVE_GIT_SYNC["repository"]
    assert values["dags"]["gitSync"]["ref"] == ALTERNATIVE_GIT_SYNC["branch"]
    assert values["dags"]["persistence"]["existingClaim"] == names.DAGS_CLAIM
    assert "dags_folder" not in values["config"].get("core", {})
    # git-sync writes into the volume.
    _, volume = manifest_of_kind(dev_alternatives.template("airflow"), "PersistentVolume", "airflow-airflow-dags")
    assert volume["spec"]["mountOptions"] == ["iam"]
    assert _node_mount_actions(dev_alternatives.template("airflow")) == [
        "elasticfilesystem:ClientMount",
        "elasticfilesystem:ClientWrite",
    ]


def test_alternative_values_validate_against_the_chart_schema(dev_alternatives: Synthesized, schemas_dir: Path) -> None:
    test_values_validate_against_the_chart_schema(dev_alternatives, schemas_dir)


# ---- order ----


def test_each_step_waits_for_what_it_needs(synthesized: Synthesized) -> None:
    template = synthesized.template("airflow")
    by_kind = {obj["kind"]: lid for lid, obj in kubernetes_manifests(template)}
    release, _, _ = helm_release(template, names.RELEASE)
    namespace, store = by_kind["Namespace"], by_kind["SecretStore"]
    external_secrets, claim, ingress = by_kind["ExternalSecret"], by_kind["PersistentVolumeClaim"], by_kind["Ingress"]
    associations = set(resources_of_type(template, "AWS::EKS::PodIdentityAssociation"))
    assert namespace in depends_on(template, store)
    assert store in depends_on(template, external_secrets)
    assert namespace in depends_on(template, claim) and namespace in depends_on(template, ingress)
    release_waits_for = depends_on(template, release)
    assert {claim, by_kind["ServiceAccount"]} <= release_waits_for
    assert associations <= release_waits_for
    # Not the ExternalSecrets: applying them proves nothing about their sync, and the chart's pods start once the
    # Secrets exist, inside its Helm wait; so the chart installs while ESO syncs.
    assert external_secrets not in release_waits_for
    # The ALB is built while the chart installs, not after it.
    assert release not in depends_on(template, ingress)


def test_the_stack_outputs_what_a_user_needs_first(synthesized: Synthesized) -> None:
    outputs = synthesized.template("airflow")["Outputs"]
    assert {"AlbHostname", "AirflowUrl", "AdminPasswordSecretArn", "AdminPasswordCommand", "TaskLogsLocation"} <= set(
        outputs
    )
    kubeconfig = render(outputs["UpdateKubeconfigCommand"]["Value"])
    assert kubeconfig == (
        f"aws eks update-kubeconfig --region {synthesized.config.region} --name {synthesized.config.cluster_name}"
    )
    hostname = outputs["AlbHostname"]["Value"]
    (value_id,) = resources_of_type(synthesized.template("airflow"), "Custom::AWSCDK-EKS-KubernetesObjectValue")
    assert hostname == {"Fn::GetAtt": [value_id, "Value"]}
