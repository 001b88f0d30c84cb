"""The Spark stack and the example PySpark DAG, checked the way a first run would check them.

The Spark Operator chart is rendered from ../shared/charts with the values the app synthesized; the SparkApplication
is what the real Airflow 3.3.2 renders from dags/ (tests/airflow_checks/spark_application.py); the NodePools,
RBAC, service accounts and IAM are read from the synthesized templates. Each test names the mistake it catches.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from constructs.airflow.names import NAMESPACE as AIRFLOW_NAMESPACE
from constructs.airflow.names import WORKER_SERVICE_ACCOUNT
from constructs.cluster.eks_cluster import CORE_NODE_LABELS
from constructs.data.spark_team_buckets import EVENT_LOGS_PREFIX, team_bucket_variable
from constructs.spark.job_namespace import SUBMITTER_RULES
from constructs.spark.names import HISTORY_SERVER, JOB_SERVICE_ACCOUNT, RELEASE, SUBMITTER_ROLE
from constructs.spark.s3a import fetch_jars_container
from tests.airflow_venv import DAGS_DIR, run_check
from tests.releases import render_release
from tests.support import (
    core_validation_error,
    crd_errors,
    crd_schemas,
    crds_in,
    node_shapes,
    placement_problem,
    pod_templates,
)
from tests.template_queries import helm_release, kubernetes_manifests, refs_in, render, resources_of_type

if TYPE_CHECKING:
    from tests.synth import Synthesized

DAG_ID = "example_pyspark_pi_job"
TASK_ID = "pyspark_pi"
DAG_YAML = DAGS_DIR / "example_pyspark_pi_job.yaml"
STAND_IN_BUCKET = "airflow-dev-data-sparkteamsbucket-0123"
STAND_IN_REGION = "us-west-2"


@pytest.fixture(scope="module")
def submitted() -> dict[str, Any]:
    """What the DAG's task would submit, rendered by the real Airflow with the release's Variable set."""
    return run_check(
        "spark_application.py",
        stdin={
            "dag_id": DAG_ID,
            "task_id": TASK_ID,
            "env": {
                f"AIRFLOW_VAR_{team_bucket_variable('spark-team-a').upper()}": STAND_IN_BUCKET,
                "AWS_DEFAULT_REGION": STAND_IN_REGION,
            },
        },
    )


@pytest.fixture(scope="module")
def application(submitted: dict[str, Any]) -> dict[str, Any]:
    return submitted["application"]


@pytest.fixture(scope="module")
def spark_crds(schemas_dir: Path, synthesized: Synthesized) -> dict:
    folder = schemas_dir / "spark-operator" / synthesized.config.versions.helm_charts.spark_operator.version
    assert folder.is_dir(), f"no CRDs for the pinned Spark Operator chart in {folder}"
    return crd_schemas(crds_in(folder))


@pytest.fixture(scope="module")
def operator_objects(synthesized: Synthesized, helm: Path, charts_dir: Path) -> list:
    """The Spark Operator release as Helm renders it with the synthesized values, at the cluster's version."""
    return render_release(synthesized, "spark", RELEASE, helm, charts_dir).objects


def _deployment(objects: list[dict], name: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
    return found


def _granted(rules: list[dict]) -> set[tuple[str, str, str]]:
    """Every (API group, resource, verb) a Role's rules allow."""
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def _args(deployment: dict) -> list[str]:
    return deployment["spec"]["template"]["spec"]["containers"][0]["args"]


# ---- the operator ----


def test_the_operator_renders_and_every_object_validates(synthesized: Synthesized, operator_objects: list) -> None:
    assert operator_objects
    problems = {
        f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}": error
        for o in operator_objects
        if (error := core_validation_error(o, synthesized.config.cluster.kubernetes_version))
    }
    assert problems == {}


def test_the_operator_watches_exactly_the_configured_job_namespaces(
    synthesized: Synthesized, operator_objects: list
) -> None:
    expected = synthesized.config.spark.job_namespaces
    for name in ("spark-operator-controller", "spark-operator-webhook"):
        assert f"--namespaces={','.join(expected)}" in _args(_deployment(operator_objects, name)), name
    # The webhooks intercept pods and SparkApplications of those namespaces only, failing closed.
    for config in (o for o in operator_objects if o["kind"].endswith("WebhookConfiguration")):
        for webhook in config["webhooks"]:
            (expression,) = webhook["namespaceSelector"]["matchExpressions"]
            assert expression["key"] == "kubernetes.io/metadata.name"
            assert expression["values"] == expected, webhook["name"]
            assert webhook["failurePolicy"] == "Fail"
    # No cluster-wide pod rights: the controller's ClusterRole reads CRDs only when namespaces are listed.
    (controller_role,) = [
        o
        for o in operator_objects
        if o["kind"] == "ClusterRole" and o["metadata"]["name"] == "spark-operator-controller"
    ]
    assert {r for rule in controller_role["rules"] for r in rule["resources"]} == {"customresourcedefinitions"}
    namespaced = {o["metadata"]["namespace"] for o in operator_objects if o["kind"] == "Role"}
    assert namespaced == {"spark-operator", *expected}


def test_the_operator_runs_on_the_core_nodes_and_its_webhook_is_reachable(
    synthesized: Synthesized, operator_objects: list
) -> None:
    for name in ("spark-operator-controller", "spark-operator-webhook"):
        spec = _deployment(operator_objects, name)["spec"]["template"]["spec"]
        assert spec["nodeSelector"] == CORE_NODE_LABELS, name
    # The control plane calls the webhook on the pod's port through the EKS cluster security group, which the
    # core nodes' launch template carries (the group admits all traffic from itself).
    webhook = _deployment(operator_objects, "spark-operator-webhook")
    ports = {p["containerPort"] for c in webhook["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
    assert 9443 in ports
    cluster = synthesized.platform()
    (template,) = resources_of_type(cluster, "AWS::EC2::LaunchTemplate").values()
    groups = json.dumps(template["Properties"]["LaunchTemplateData"]["SecurityGroupIds"])
    assert "ClusterSecurityGroupId" in groups


def test_the_operator_installs_after_its_job_namespaces_and_the_controllers_it_needs(
    synthesized: Synthesized,
) -> None:
    template = synthesized.template("spark")
    logical_id, _, _ = helm_release(template, RELEASE)
    after = set(template["Resources"][logical_id].get("DependsOn", []))
    namespaces = {lid for lid, m in kubernetes_manifests(template) if m["kind"] == "Namespace"}
    assert namespaces and namespaces <= after


# ---- the SparkApplication the DAG submits ----


def test_the_dag_task_renders_the_yaml_beside_it_into_a_valid_spark_application(
    submitted: dict[str, Any], application: dict[str, Any], spark_crds: dict
) -> None:
    assert submitted["operator"].endswith("spark_kubernetes.SparkKubernetesOperator")
    source = yaml.safe_load(
        DAG_YAML.read_text()
        .replace("{{ var.value.spark_team_a_bucket }}", STAND_IN_BUCKET)
        .replace("{{ params.aws_region }}", STAND_IN_REGION)
    )
    assert application == source
    assert (application["apiVersion"], application["kind"]) == ("sparkoperator.k8s.io/v1beta2", "SparkApplication")
    assert crd_errors(application, spark_crds[("sparkoperator.k8s.io/v1beta2", "SparkApplication")]) == []
    assert application["spec"]["mainApplicationFile"] == "local:///opt/spark/examples/src/main/python/pi.py"
    assert application["spec"]["restartPolicy"]["type"] == "OnFailure"
    assert application["spec"]["restartPolicy"]["onFailureRetries"] >= 1


def test_the_operator_is_given_a_watched_namespace_explicitly(
    synthesized: Synthesized, submitted: dict[str, Any], application: dict[str, Any]
) -> None:
    # SparkKubernetesOperator creates the application in its `namespace` argument (default "default"), whatever
    # the YAML says: the DAG passes it, and it is one the operator watches.
    assert submitted["namespace"] == application["metadata"]["namespace"]
    assert submitted["namespace"] in synthesized.config.spark.job_namespaces
    assert submitted["kubernetes_conn_id"] == "kubernetes_default"
    assert submitted["delete_on_termination"] is True


def test_the_image_and_s3_connector_are_the_pinned_ones(synthesized: Synthesized, application: dict) -> None:
    spark = synthesized.config.versions.spark
    spec = application["spec"]
    assert spec["image"] == spark.image
    assert spec["sparkVersion"] == spark.version
    (init,) = spec["driver"]["initContainers"]
    assert init == fetch_jars_container(spark)
    assert spec["sparkConf"]["spark.eventLog.dir"] == f"s3a://{STAND_IN_BUCKET}/{EVENT_LOGS_PREFIX}/"


def test_driver_on_demand_and_executors_on_spot_of_a_pool_the_cluster_emits(
    synthesized: Synthesized, application: dict
) -> None:
    shapes = {shape.name: shape for shape in node_shapes(synthesized.platform())}
    pool = shapes[f"NodePool {synthesized.config.spark.node_pool}"]
    for role, capacity in (("driver", "on-demand"), ("executor", "spot")):
        pod = application["spec"][role]
        assert pod["nodeSelector"]["karpenter.sh/capacity-type"] == capacity, role
        pod_spec = {"nodeSelector": pod["nodeSelector"], "tolerations": pod["tolerations"]}
        assert pool.labels["karpenter.sh/capacity-type"].values is not None
        assert capacity in pool.labels["karpenter.sh/capacity-type"].values, role
        # It fits the Spark pool, and nothing else: the labels and the taint keep it off every other pool.
        fits = [name for name, shape in shapes.items() if placement_problem(pod_spec, [shape]) is None]
        assert fits == [pool.name], (role, fits)


def test_the_image_runs_on_every_architecture_the_pool_may_launch(synthesized: Synthesized) -> None:
    shapes = {shape.name: shape for shape in node_shapes(synthesized.platform())}
    arches = shapes[f"NodePool {synthesized.config.spark.node_pool}"].labels["kubernetes.io/arch"].values
    assert arches is not None, "the Spark pool does not restrict kubernetes.io/arch"
    assert set(arches) <= set(synthesized.config.versions.spark.architectures)


def test_the_service_accounts_the_application_names_exist_with_their_rbac_and_identity(
    synthesized: Synthesized, application: dict, operator_objects: list
) -> None:
    template = synthesized.template("spark")
    namespace = application["metadata"]["namespace"]
    accounts = {
        (m["metadata"]["namespace"], m["metadata"]["name"])
        for _, m in kubernetes_manifests(template)
        if m["kind"] == "ServiceAccount"
    }
    for role in ("driver", "executor"):
        assert (namespace, application["spec"][role]["serviceAccount"]) in accounts, role
    # The chart's driver Role (pods, services, configmaps of the namespace) is bound to that account.
    (binding,) = [
        o
        for o in operator_objects
        if o["kind"] == "RoleBinding"
        and o["metadata"]["namespace"] == namespace
        and o["metadata"]["name"] == JOB_SERVICE_ACCOUNT
    ]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": JOB_SERVICE_ACCOUNT, "namespace": namespace}]
    associations = {
        (r["Properties"]["Namespace"], r["Properties"]["ServiceAccount"])
        for r in resources_of_type(template, "AWS::EKS::PodIdentityAssociation").values()
    }
    assert (namespace, JOB_SERVICE_ACCOUNT) in associations


def test_airflow_task_pods_may_submit_in_each_job_namespace_and_nowhere_else(synthesized: Synthesized) -> None:
    airflow_values = helm_release(synthesized.template("airflow"), "airflow")[2]
    # The account the Airflow chart runs task pods as (the app's own, not the chart's).
    assert airflow_values["workers"]["serviceAccount"] == {"create": False, "name": WORKER_SERVICE_ACCOUNT}
    subject = {"kind": "ServiceAccount", "name": WORKER_SERVICE_ACCOUNT, "namespace": AIRFLOW_NAMESPACE}
    bound: dict[str, list] = {}
    for _, manifest in kubernetes_manifests(synthesized.template("spark")):
        if manifest["kind"] == "RoleBinding" and subject in manifest["subjects"]:
            assert manifest["roleRef"] == {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": SUBMITTER_ROLE,
            }
            bound[manifest["metadata"]["namespace"]] = manifest
    assert sorted(bound) == sorted(synthesized.config.spark.job_namespaces)
    roles = {
        m["metadata"]["namespace"]: m["rules"]
        for _, m in kubernetes_manifests(synthesized.template("spark"))
        if m["kind"] == "Role" and m["metadata"]["name"] == SUBMITTER_ROLE
    }
    assert roles == {namespace: SUBMITTER_RULES for namespace in bound}
    granted = _granted(SUBMITTER_RULES)
    spark_apps = {
        ("sparkoperator.k8s.io", "sparkapplications", v) for v in ("create", "get", "list", "watch", "patch", "delete")
    }
    assert granted == spark_apps | {
        ("sparkoperator.k8s.io", "sparkapplications/status", "get"),
        ("", "pods", "get"),
        ("", "pods", "list"),
        ("", "pods", "watch"),
        # Beyond the list: the provider labels a failed driver (see the provider-call test below).
        ("", "pods", "patch"),
        ("", "pods/log", "get"),
        ("", "events", "list"),
        ("", "events", "watch"),
    }


def test_no_cluster_role_binding_gives_airflow_anything(synthesized: Synthesized, operator_objects: list) -> None:
    applied = [m for template in synthesized.templates.values() for _, m in kubernetes_manifests(template)]
    for obj in applied + operator_objects:
        if obj["kind"] == "ClusterRoleBinding":
            namespaces = {s.get("namespace") for s in obj.get("subjects", [])}
            assert AIRFLOW_NAMESPACE not in namespaces, obj["metadata"]["name"]


def test_the_release_tells_dags_each_team_bucket(synthesized: Synthesized) -> None:
    env = {e["name"]: e["value"] for e in helm_release(synthesized.template("airflow"), "airflow")[2]["env"]}
    for namespace in synthesized.config.spark.job_namespaces:
        value = env[f"AIRFLOW_VAR_{team_bucket_variable(namespace).upper()}"]
        assert value.startswith("${Output:"), value  # the data stack's bucket, by reference


# ---- IAM and the bucket ----


def test_spark_and_history_policies_name_only_the_team_bucket_and_the_key(synthesized: Synthesized) -> None:
    data = synthesized.template("data")
    buckets = {lid for lid in resources_of_type(data, "AWS::S3::Bucket") if "SparkTeams" in lid}
    (key,) = resources_of_type(data, "AWS::KMS::Key")
    policies = {lid: r for lid, r in resources_of_type(data, "AWS::IAM::ManagedPolicy").items() if "SparkTeams" in lid}
    assert len(policies) == 2 * len(synthesized.config.spark.job_namespaces)
    for logical_id, policy in policies.items():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        for statement in statements:
            named = refs_in(statement["Resource"])
            assert named and named <= buckets | {key}, (logical_id, statement)
            assert "*" not in json.dumps(statement["Resource"]).replace("/*", ""), (logical_id, statement)
        if "History" in logical_id:
            actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
            assert actions == {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"}, logical_id
            # S3A HEADs the folder's own key before listing it: without GetObject there, S3 answers 403.
            (reads,) = [s for s in statements if s["Action"] == "s3:GetObject"]
            keys = {render(resource).rsplit("/", 1)[-1] for resource in reads["Resource"]}
            assert keys == {EVENT_LOGS_PREFIX, "*"}, logical_id
    spark = synthesized.template("spark")
    for role in resources_of_type(spark, "AWS::IAM::Role").values():
        assert "Policies" not in role["Properties"]
        assert len(role["Properties"]["ManagedPolicyArns"]) == 1


def test_the_team_bucket_is_encrypted_tls_only_private_and_expires_event_logs(synthesized: Synthesized) -> None:
    data = synthesized.template("data")
    buckets = {lid: r for lid, r in resources_of_type(data, "AWS::S3::Bucket").items() if "SparkTeams" in lid}
    assert len(buckets) == len(synthesized.config.spark.job_namespaces)
    for logical_id, bucket in buckets.items():
        properties = bucket["Properties"]
        (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
        rules = {r["Id"]: r for r in properties["LifecycleConfiguration"]["Rules"]}
        assert rules["expire-event-logs"]["Prefix"] == f"{EVENT_LOGS_PREFIX}/"
        assert rules["expire-event-logs"]["ExpirationInDays"] == synthesized.config.spark.event_log_expiry_days
        policies = [
            p
            for p in resources_of_type(data, "AWS::S3::BucketPolicy").values()
            if p["Properties"]["Bucket"] == {"Ref": logical_id}
        ]
        (policy,) = policies
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )


# ---- the History Server ----


def test_history_servers_follow_the_toggle_and_run_read_only_on_the_core_nodes(
    synthesized: Synthesized, charts_dir: Path
) -> None:
    template = synthesized.template("spark")
    objects = [m for _, m in kubernetes_manifests(template)]
    servers = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == HISTORY_SERVER]
    if not synthesized.config.spark.history_server.enabled:
        assert servers == []
        return
    assert sorted(s["metadata"]["namespace"] for s in servers) == sorted(synthesized.config.spark.job_namespaces)
    shapes = node_shapes(synthesized.platform())
    for pod in pod_templates(servers, "default"):
        assert pod.spec["nodeSelector"] == CORE_NODE_LABELS
        assert placement_problem(pod.spec, shapes) is None
        assert pod.service_account == HISTORY_SERVER
        (container,) = pod.spec["containers"]
        options = next(e["value"] for e in container["env"] if e["name"] == "SPARK_HISTORY_OPTS")
        assert f"/{EVENT_LOGS_PREFIX}/" in options and "spark.history.fs.cleaner.enabled=false" in options
        assert pod.spec["initContainers"] == [fetch_jars_container(synthesized.config.versions.spark)]
    for obj in objects:
        error = core_validation_error(obj, synthesized.config.cluster.kubernetes_version)
        assert error is None, (obj["kind"], obj["metadata"]["name"], error)
    associations = {
        (r["Properties"]["Namespace"], r["Properties"]["ServiceAccount"])
        for r in resources_of_type(template, "AWS::EKS::PodIdentityAssociation").values()
    }
    assert {(s["metadata"]["namespace"], HISTORY_SERVER) for s in servers} <= associations


def test_without_the_spark_operator_nothing_of_spark_is_synthesized(dev_alternatives: Synthesized) -> None:
    assert dev_alternatives.config.features.spark_operator is False
    assert not any(name.endswith("-spark") for name in dev_alternatives.stack_names)
    data = dev_alternatives.template("data")
    assert not [lid for lid in data["Resources"] if "SparkTeams" in lid or "AWS679f53fac002430cb0da5b7982bd2287" in lid]
    env = helm_release(dev_alternatives.template("airflow"), "airflow")[2]["env"]
    assert not [e for e in env if e["name"].startswith("AIRFLOW_VAR_")]


# ---- what a first run would hit ----

# The Kubernetes API calls a SparkKubernetesOperator task makes, by client method, as (API group, resource, verb).
API_CALLS = {
    "list_namespaced_pod": ("", "pods", "list"),
    "read_namespaced_pod": ("", "pods", "get"),
    "patch_namespaced_pod": ("", "pods", "patch"),
    "read_namespaced_pod_log": ("", "pods/log", "get"),
    "list_namespaced_event": ("", "events", "list"),
    "create_namespaced_custom_object": ("sparkoperator.k8s.io", "sparkapplications", "create"),
    "get_namespaced_custom_object": ("sparkoperator.k8s.io", "sparkapplications", "get"),
    "list_namespaced_custom_object": ("sparkoperator.k8s.io", "sparkapplications", "list"),
    "patch_namespaced_custom_object": ("sparkoperator.k8s.io", "sparkapplications", "patch"),
    "delete_namespaced_custom_object": ("sparkoperator.k8s.io", "sparkapplications", "delete"),
    "get_namespaced_custom_object_status": ("sparkoperator.k8s.io", "sparkapplications/status", "get"),
}
# The Spark operator's own code, read whole; and the calls of the pod-operator flow it runs through (wait for the
# driver to start, follow its log, report its events, wait for it to finish), read from the pod manager.
SPARK_PROVIDER_FILES = ("operators/spark_kubernetes.py", "operators/custom_object_launcher.py")
POD_FLOW_CALLS = ("read_namespaced_pod", "read_namespaced_pod_log", "list_namespaced_event")


def _provider_dir() -> Path:
    from tests.airflow_venv import airflow_python

    venv = airflow_python().parent.parent
    (found,) = venv.glob("lib/python3*/site-packages/airflow/providers/cncf/kubernetes")
    return found


def test_the_submitter_role_grants_every_call_the_installed_provider_makes() -> None:
    provider = _provider_dir()
    calls = {
        name
        for file in SPARK_PROVIDER_FILES
        for name in re.findall(r"\.(\w+_namespaced_\w+)\(", (provider / file).read_text())
    }
    pod_manager = (provider / "utils" / "pod_manager.py").read_text()
    for name in POD_FLOW_CALLS:
        assert f".{name}(" in pod_manager, f"the pod manager no longer calls {name}: re-read the provider"
    calls |= set(POD_FLOW_CALLS)
    unknown = sorted(calls - set(API_CALLS))
    assert unknown == [], f"the provider calls {unknown}: map each to its API resource and verb"
    granted = _granted(SUBMITTER_RULES)
    missing = sorted(API_CALLS[name] for name in calls if API_CALLS[name] not in granted)
    assert missing == []


def _numeric_user_problems(pod_spec: dict) -> list[str]:
    pod = pod_spec.get("securityContext") or {}
    problems = []
    for container in [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]:
        context = {**pod, **(container.get("securityContext") or {})}
        if context.get("runAsNonRoot") and not isinstance(context.get("runAsUser"), int):
            problems.append(container["name"])
    return problems


def test_non_root_spark_containers_name_a_numeric_user(synthesized: Synthesized, application: dict) -> None:
    # Apache's image ends with `USER spark`: a name, so the kubelet refuses runAsNonRoot without a numeric user.
    for role in ("driver", "executor"):
        pod = application["spec"][role]
        spec = {
            "securityContext": pod.get("podSecurityContext"),
            "initContainers": pod.get("initContainers", []),
            "containers": [{"name": role, "securityContext": pod.get("securityContext")}],
        }
        assert _numeric_user_problems(spec) == [], role
    servers = [m for _, m in kubernetes_manifests(synthesized.template("spark")) if m["kind"] == "Deployment"]
    for pod in pod_templates(servers, "default"):
        assert _numeric_user_problems(pod.spec) == [], pod.workload
    assert _numeric_user_problems({"containers": [{"name": "x", "securityContext": {"runAsNonRoot": True}}]}) == ["x"]


def test_event_log_expiry_spares_the_folder_marker(synthesized: Synthesized) -> None:
    data = synthesized.template("data")
    markers = [r for r in resources_of_type(data, "Custom::AWS").values() if "SparkTeams" in json.dumps(r)]
    assert len(markers) == len(synthesized.config.spark.job_namespaces)
    for marker in markers:
        call = json.loads(render(marker["Properties"]["Create"]))
        assert call["parameters"]["Key"] == f"{EVENT_LOGS_PREFIX}/" and call["parameters"]["Body"] == ""
    for bucket in (r for lid, r in resources_of_type(data, "AWS::S3::Bucket").items() if "SparkTeams" in lid):
        (rule,) = [r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"] if r["Id"] == "expire-event-logs"]
        # The marker is zero bytes: a rule for objects larger than that never expires the folder itself.
        assert rule["ObjectSizeGreaterThan"] == "0"
