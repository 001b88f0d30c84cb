"""The observability stack, from its synthesized template and from what it installs, rendered offline:

- logs: the two log groups exist with the configured retention and the stack's key before Fluent Bit runs, the
  aws-for-fluent-bit chart renders from ../shared/charts with the app's values, writes only to them and creates none;
- metrics: the Prometheus agent's objects validate, each scrape job finds the exporter's pods in the rendered charts,
  and it keeps exactly the names of observability/metrics.yaml, whose Airflow names Airflow 3.3.2 itself declares;
- alarms: CloudWatch alarms at the config's thresholds and the AMP alerting rules (kept metric names only) go to one
  encrypted topic;
- OpenCost (prod; off in dev): renders, queries the workspace only through its loopback SigV4 proxy, and the agent
  scrapes its exporter and the kubelets' cAdvisor, dropping the series OpenCost never reads;
- Amazon Managed Grafana (dev_alternatives): the deploy-time delivery gets every dashboard on the cluster's own data
  source, and its role may only manage its service account in that workspace;
- toggles: each part on (dev, prod) and off (dev_alternatives: logs, in-cluster Grafana, alarms and CoreDNS
  autoscaling off, the Cluster Autoscaler on; every part off, metrics without alarms and features.observability off
  are built, not synthesized), and the cost-allocation tags are on every resource.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import assertions
from aws_cdk import aws_aps as aps
from aws_cdk import aws_kms as kms
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from config.settings import ConfigError, load_config
from constructs.cluster.cluster_autoscaler import RELEASE as AUTOSCALER_RELEASE
from constructs.cluster.cluster_autoscaler import SCALING_ACTIONS, owned_tag
from constructs.cluster.cluster_autoscaler import SERVICE_ACCOUNT as AUTOSCALER_SERVICE_ACCOUNT
from constructs.cluster.eks_cluster import CORE_NODE_LABELS
from constructs.observability.alarms import AlarmTopic, AlarmTopicProps
from constructs.observability.grafana import QUERY_ACTIONS
from constructs.observability.managed_grafana import GRAFANA_ACTIONS, grafana_uid
from constructs.observability.metrics_catalog import load_metrics_catalog
from constructs.observability.names import (
    FLUENT_BIT_RELEASE,
    FLUENT_BIT_SERVICE_ACCOUNT,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_DATASOURCE_TYPE,
    GRAFANA_DATASOURCE_UID,
    GRAFANA_NAMESPACE,
    GRAFANA_RELEASE,
    LOGS_NAMESPACE,
    METRICS_NAMESPACE,
    OPENCOST_API_PORT,
    OPENCOST_NAMESPACE,
    OPENCOST_RELEASE,
    OPENCOST_SERVICE_ACCOUNT,
    OPENCOST_UI_PORT,
    PROMETHEUS_AGENT,
    SPARK_APPLICATION_LABEL,
    container_log_group,
    node_log_group,
)
from constructs.shared.tags import COST_ALLOCATION_TAG_KEYS
from stacks.app_stacks import build_stacks
from tests.config_edits import ALTERNATIVE_GRAFANA_WORKSPACE, config_with, set_key
from tests.releases import Release, render_release
from tests.support import (
    WORKSPACE_ID_STAND_IN,
    core_validation_error,
    crd_errors,
    crd_schemas,
    crds_in,
    pod_identity_problems,
    pod_templates,
    selector_matches,
    transitive_dependencies,
)
from tests.synth import Synthesized, cli_context
from tests.template_queries import (
    helm_release,
    kubernetes_manifests,
    manifest_of_kind,
    only_resource,
    pod_identity_associations,
    render,
    resources_of_type,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_metrics_catalog()
# Where each exporter's pods come from: (stack, Helm release). Airflow's chart is not available offline.
EXPORTER_RELEASES = {
    "karpenter": ("karpenter", "karpenter"),
    "aws-load-balancer-controller": ("cluster", "aws-load-balancer-controller"),
    "spark-operator": ("spark", "spark-operator"),
    "opencost": ("observability", OPENCOST_RELEASE),
}


def _deployed_exporters(synthesized: Synthesized) -> dict:
    config = synthesized.config
    return CATALOG.deployed(
        {"spark_operator": config.features.spark_operator, "opencost": config.observability.opencost.enabled}
    )


@pytest.fixture(scope="session")
def fluent_bit(synthesized: Synthesized, helm: Path, charts_dir: Path) -> Release:
    return render_release(synthesized, "observability", FLUENT_BIT_RELEASE, helm, charts_dir)


def _observability(synthesized: Synthesized) -> dict:
    return synthesized.template("observability")


def _prometheus_config(template: dict) -> dict:
    _, config_map = manifest_of_kind(template, "ConfigMap", f"{PROMETHEUS_AGENT}-config")
    return json.loads(config_map["data"]["prometheus.yml"])


PROMQL_WORDS = {
    "sum",
    "max",
    "min",
    "count",
    "rate",
    "increase",
    "histogram_quantile",
    "absent_over_time",
    "clamp_min",
    "min_over_time",
    "or",
    "and",
    "by",
    "without",
    "le",
}


def _metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers outside label matchers, ranges and strings, less
    PromQL's own words and the labels of `by (...)`."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"|by \([^)]*\)", " ", expr)
    return set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare)) - PROMQL_WORDS


def test_the_promql_name_reader_finds_metrics_and_skips_labels() -> None:
    expr = 'histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="y"}[5m]))) / count by (nodepool) (b) > 25'
    assert _metric_names(expr) == {"a_bucket", "b"}


def _assert_valid(objects: list[dict], kubernetes_version: str) -> None:
    """Every rendered core object validates at the cluster's Kubernetes version."""
    problems = [
        f"{o['kind']} {o['metadata']['name']}: {error}"
        for o in objects
        if (error := core_validation_error(o, kubernetes_version)) is not None
    ]
    assert not problems, "\n".join(problems)


def _statements(template: dict, policy_path: str) -> list[dict]:
    matches = [
        r
        for r in resources_of_type(template, "AWS::IAM::Policy").values()
        if r["Metadata"]["aws:cdk:path"].endswith(policy_path + "/Resource")
    ]
    assert len(matches) == 1, policy_path
    return matches[0]["Properties"]["PolicyDocument"]["Statement"]


# ---- logs ----


def test_log_groups_exist_with_the_configured_retention_and_key_before_fluent_bit(synthesized: Synthesized) -> None:
    template = _observability(synthesized)
    key_id, _ = only_resource(template, "AWS::KMS::Key")
    groups = {
        r["Properties"]["LogGroupName"]: (lid, r["Properties"])
        for lid, r in resources_of_type(template, "AWS::Logs::LogGroup").items()
    }
    cluster_name = synthesized.config.cluster_name
    assert set(groups) == {container_log_group(cluster_name), node_log_group(cluster_name)}
    chart_id, _, _ = helm_release(template, FLUENT_BIT_RELEASE)
    for logical_id, properties in groups.values():
        assert properties["RetentionInDays"] == synthesized.config.logging.retention_days
        assert properties["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert logical_id in transitive_dependencies(template, chart_id)


def test_fluent_bit_renders_validates_and_ships_to_exactly_those_groups(
    synthesized: Synthesized, fluent_bit: Release
) -> None:
    _assert_valid(fluent_bit.objects, synthesized.config.cluster.kubernetes_version)
    assert fluent_bit.namespace == LOGS_NAMESPACE
    (config_map,) = fluent_bit.of_kind("ConfigMap")
    conf = config_map["data"]["fluent-bit.conf"]
    cluster_name, region = synthesized.config.cluster_name, synthesized.config.region
    outputs = [block for block in conf.split("[OUTPUT]")[1:]]
    settings = [dict(line.split(None, 1) for line in block.strip().splitlines() if line.strip()) for block in outputs]
    assert [(s["Name"], s["Match"], s["log_group_name"], s["region"]) for s in settings] == [
        ("cloudwatch_logs", "kube.*", container_log_group(cluster_name), region),
        ("cloudwatch_logs", "node.*", node_log_group(cluster_name), region),
    ]
    # The groups are CloudFormation's: Fluent Bit neither creates one nor sets a retention of its own.
    assert all(s.get("auto_create_group", "Off") == "Off" for s in settings)
    assert "log_retention_days" not in conf
    assert "Name                systemd" in conf and "_SYSTEMD_UNIT=kubelet.service" in conf
    # Node logs at warning and above only (read from klog's and containerd's own level marks: journald stores
    # their lines as PRIORITY 6); the API server's health checks never leave the node.
    assert re.search(r"Match +node\.\*\n +Regex +MESSAGE \(\^\[EWF\]\[0-9\]\{4\} \|level=", conf)
    assert re.search(r"Match +kube\.\*\n +Exclude +log /api/v2/monitor/health", conf)
    (daemon_set,) = fluent_bit.of_kind("DaemonSet")
    pod = daemon_set["spec"]["template"]["spec"]
    assert {"operator": "Exists"} in pod["tolerations"], "a node's logs are collected whatever its taints"
    assert pod["serviceAccountName"] == FLUENT_BIT_SERVICE_ACCOUNT


def test_fluent_bit_runs_under_its_association_and_may_only_write_its_groups(
    synthesized: Synthesized, fluent_bit: Release
) -> None:
    template = _observability(synthesized)
    associations = {lid: pair for lid, pair in pod_identity_associations(template).items() if pair[0] == LOGS_NAMESPACE}
    pods = pod_templates(fluent_bit.objects, fluent_bit.namespace)
    assert pod_identity_problems(associations, fluent_bit.of_kind("ServiceAccount"), pods) == []
    (statement,) = _statements(template, "Logs/Identity/Policy")
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    groups = {lid for lid in resources_of_type(template, "AWS::Logs::LogGroup")}
    assert {r["Fn::GetAtt"][0] for r in statement["Resource"]} == groups


# ---- metrics ----


def test_every_manifest_of_the_stack_validates(synthesized: Synthesized, schemas_dir: Path) -> None:
    """Core kinds with kubernetes-validate at the cluster's version; Grafana's SecretStore and ExternalSecret
    against the CRDs of the pinned External Secrets release."""
    eso_version = synthesized.config.versions.helm_charts.external_secrets.version
    custom = crd_schemas(crds_in(schemas_dir / "external-secrets" / eso_version))
    kubernetes_version = synthesized.config.cluster.kubernetes_version
    problems, custom_count = [], 0
    for _, obj in kubernetes_manifests(_observability(synthesized)):
        where = f"{obj['kind']} {obj['metadata']['name']}"
        schema = custom.get((obj["apiVersion"], obj["kind"]))
        if schema is not None:
            custom_count += 1
            problems += [f"{where}: {e}" for e in crd_errors(obj, schema)]
        elif (error := core_validation_error(obj, kubernetes_version)) is not None:
            problems.append(f"{where}: {error}")
    assert not problems, "\n".join(problems)
    assert custom_count == 2


def test_the_agent_runs_under_its_association_and_may_only_write(synthesized: Synthesized) -> None:
    template = _observability(synthesized)
    objects = [m for _, m in kubernetes_manifests(template) if m["metadata"].get("namespace") != GRAFANA_NAMESPACE]
    associations = {
        lid: pair for lid, pair in pod_identity_associations(template).items() if pair[0] == METRICS_NAMESPACE
    }
    service_accounts = [o for o in objects if o["kind"] == "ServiceAccount"]
    pods = pod_templates(objects, METRICS_NAMESPACE)
    assert [p.workload for p in pods] == [f"Deployment {METRICS_NAMESPACE}/{PROMETHEUS_AGENT}"]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == synthesized.config.versions.prometheus.image
    assert "--agent" in container["args"]
    assert pod_identity_problems(associations, service_accounts, pods) == []
    _, role = manifest_of_kind(template, "ClusterRole", PROMETHEUS_AGENT)
    reads_kubelets = [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
    ]
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        # cAdvisor, for OpenCost only: the kubelet authorizes /metrics/cadvisor as nodes/metrics (not nodes/proxy).
        *(reads_kubelets if synthesized.config.observability.opencost.enabled else []),
    ]
    workspace_id, _ = only_resource(template, "AWS::APS::Workspace")
    (statement,) = _statements(template, "Metrics/AgentIdentity/Policy")
    assert statement["Action"] == "aps:RemoteWrite"
    assert statement["Resource"] == {"Fn::GetAtt": [workspace_id, "Arn"]}


def test_the_agent_remote_writes_to_the_encrypted_workspace_with_sigv4(synthesized: Synthesized) -> None:
    template = _observability(synthesized)
    workspace_id, workspace = only_resource(template, "AWS::APS::Workspace")
    key_id, _ = only_resource(template, "AWS::KMS::Key")
    assert workspace["Properties"]["KmsKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
    config = _prometheus_config(template)
    assert config["remote_write"] == [
        {
            "url": f"${{{workspace_id}.PrometheusEndpoint}}api/v1/remote_write",
            "sigv4": {"region": synthesized.config.region},
        }
    ]
    assert config["global"]["scrape_interval"] == synthesized.config.observability.metrics.scrape_interval


def test_each_scrape_job_finds_its_exporters_pods_in_the_rendered_charts(
    synthesized: Synthesized, helm: Path, charts_dir: Path
) -> None:
    jobs = {job["job_name"]: job for job in _prometheus_config(_observability(synthesized))["scrape_configs"]}
    assert set(jobs) == set(_deployed_exporters(synthesized))
    for name, (component, release_name) in EXPORTER_RELEASES.items():
        if name not in jobs:
            continue
        scrape = CATALOG.exporters[name].scrape
        (sd,) = jobs[name]["kubernetes_sd_configs"]
        assert sd["namespaces"]["names"] == [scrape.namespace]
        release = render_release(synthesized, component, release_name, helm, charts_dir)
        matching = [
            pod
            for obj in release.objects
            if obj["kind"] == "Deployment"
            and obj["metadata"]["namespace"] == scrape.namespace
            and selector_matches(
                {"matchLabels": scrape.pod_labels}, (pod := obj["spec"]["template"])["metadata"]["labels"]
            )
        ]
        assert len(matching) == 1, f"{name}: {len(matching)} Deployments match {scrape.pod_labels}"
        ports = {p["containerPort"] for c in matching[0]["spec"]["containers"] for p in c.get("ports", [])}
        assert scrape.port in ports, f"{name}: the pods serve no port {scrape.port} ({sorted(ports)})"


def test_airflow_sends_tagged_statsd_to_the_exporter_the_agent_scrapes(synthesized: Synthesized) -> None:
    _, _, values = helm_release(synthesized.template("airflow"), "airflow")
    assert values["statsd"]["enabled"] is True
    assert values["config"]["metrics"] == {"statsd_influxdb_enabled": "True", "legacy_names_on": "False"}
    scrape = CATALOG.exporters["airflow"].scrape
    # The chart's statsd pods: namespace and release of the Airflow release; 9102 is statsd_exporter's web port.
    assert (scrape.namespace, scrape.pod_labels, scrape.port) == (
        "airflow",
        {"component": "statsd", "release": "airflow"},
        9102,
    )


def test_the_agent_keeps_exactly_the_listed_series(synthesized: Synthesized) -> None:
    jobs = {job["job_name"]: job for job in _prometheus_config(_observability(synthesized))["scrape_configs"]}
    for name, job in jobs.items():
        keep, *drops = job["metric_relabel_configs"]
        assert keep["action"] == "keep" and keep["source_labels"] == ["__name__"]
        assert [(d["action"], d["source_labels"]) for d in drops] == [
            ("drop", list(rule.labels)) for rule in CATALOG.exporters[name].drop
        ]
        pattern = re.compile(f"^(?:{keep['regex']})$")
        listed = {series for m in CATALOG.exporters[name].metrics for series in m.series}
        assert all(pattern.match(series) for series in listed)
        assert not pattern.match("go_goroutines") and not pattern.match("process_cpu_seconds_total")


def _airflow_registry() -> dict[str, str]:
    found = sorted(
        REPO_ROOT.glob(
            ".venv-airflow/lib/python*/site-packages/airflow/_shared/observability/metrics/metrics_template.yaml"
        )
    )
    if not found:
        message = "the Airflow venv (scripts/airflow_venv.sh) is absent: its metrics registry cannot be read"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return {m["name"]: m["type"] for m in yaml.safe_load(found[0].read_text())["metrics"]}


def test_every_airflow_metric_is_one_airflow_declares_with_that_type() -> None:
    registry = _airflow_registry()
    exposed_as = {"counter": "counter", "gauge": "gauge", "timer": "summary"}
    for metric in CATALOG.exporters["airflow"].metrics:
        assert metric.from_ in registry, f"{metric.name}: Airflow 3.3.2 declares no metric {metric.from_!r}"
        assert metric.name == "airflow_" + metric.from_.replace(".", "_")
        assert metric.type == exposed_as[registry[metric.from_]], metric.name


# ---- Grafana and the dashboards ----


@pytest.fixture(scope="session")
def grafana(synthesized: Synthesized, helm: Path, charts_dir: Path) -> Release:
    return render_release(synthesized, "observability", GRAFANA_RELEASE, helm, charts_dir)


def _dashboards() -> dict[str, dict]:
    return {
        p.stem: json.loads(p.read_text()) for p in sorted((REPO_ROOT / "observability" / "dashboards").glob("*.json"))
    }


def _panels(dashboard: dict) -> list[dict]:
    return [inner for panel in dashboard["panels"] for inner in [panel, *panel.get("panels", [])]]


def test_dashboards_are_grafana_json_on_the_workspace_using_only_kept_metrics() -> None:
    dashboards = _dashboards()
    assert set(dashboards) == {"airflow", "karpenter", "spark"}
    kept = CATALOG.series()
    for name, dashboard in dashboards.items():
        assert {"uid", "title", "panels", "schemaVersion"} <= set(dashboard), name
        ids = [panel["id"] for panel in _panels(dashboard)]
        assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"
        for panel in _panels(dashboard):
            where = f"{name}: {panel['title']}"
            assert panel["datasource"] == {"type": GRAFANA_DATASOURCE_TYPE, "uid": GRAFANA_DATASOURCE_UID}, where
            assert set(panel["gridPos"]) == {"h", "w", "x", "y"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            assert panel["targets"], where
            for target in panel["targets"]:
                unknown = _metric_names(target["expr"]) - kept
                assert not unknown, f"{where}: {sorted(unknown)} are not kept by the agent (observability/metrics.yaml)"


def test_each_dashboard_shows_what_the_issue_asks_of_it() -> None:
    exprs = {name: " ".join(t["expr"] for p in _panels(d) for t in p["targets"]) for name, d in _dashboards().items()}
    wanted = {
        "airflow": [
            "airflow_scheduler_heartbeat",
            "airflow_dagrun_duration_success",
            "airflow_ti_failures",
            "airflow_pool_open_slots",
            "airflow_executor_queued_tasks",
        ],
        "karpenter": [
            "by (nodepool, capacity_type)",
            "karpenter_scheduler_unschedulable_pods_count",
            "karpenter_nodeclaims_disrupted_total",
            "karpenter_interruption_received_messages_total",
        ],
        "spark": [
            "spark_application_running_count",
            "spark_application_submit_count",
            "spark_application_failure_count",
        ],
    }
    for name, fragments in wanted.items():
        for fragment in fragments:
            assert fragment in exprs[name], f"{name} dashboard: nothing shows {fragment}"


def test_grafana_renders_with_the_dashboards_and_the_sigv4_workspace_source(
    synthesized: Synthesized, grafana: Release
) -> None:
    _assert_valid(grafana.objects, synthesized.config.cluster.kubernetes_version)
    assert not grafana.of_kind("ClusterRole") and not grafana.of_kind("Secret"), "no RBAC, no chart-made password"
    (provider_map,) = [c for c in grafana.of_kind("ConfigMap") if c["metadata"]["name"].endswith("-dashboards-app")]
    assert {k.removesuffix(".json"): json.loads(v) for k, v in provider_map["data"].items()} == _dashboards()
    (config_map,) = [c for c in grafana.of_kind("ConfigMap") if c["metadata"]["name"] == GRAFANA_RELEASE]
    (source,) = yaml.safe_load(config_map["data"]["datasources.yaml"])["datasources"]
    assert source["uid"] == GRAFANA_DATASOURCE_UID and source["url"].startswith("https://aps-workspaces.")
    # Grafana 13's core Prometheus source no longer signs with SigV4: the AMP plugin, pinned, does.
    assert source["type"] == GRAFANA_DATASOURCE_TYPE
    plugin = synthesized.config.versions.grafana_plugins.amazon_prometheus
    assert config_map["data"]["plugins"] == f"{GRAFANA_DATASOURCE_TYPE}@{plugin}"
    assert source["jsonData"]["sigV4Auth"] is True and source["jsonData"]["sigV4AuthType"] == "default"
    assert "sigv4_auth_enabled = true" in config_map["data"]["grafana.ini"]
    (deployment,) = grafana.of_kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"NodeGroupType": "core"}
    env = {e["name"]: e for c in pod["containers"] for e in c.get("env", [])}
    assert env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": GRAFANA_ADMIN_SECRET,
        "key": "admin-password",
    }


def test_grafanas_admin_password_comes_through_external_secrets_and_its_role_only_queries(
    synthesized: Synthesized, grafana: Release
) -> None:
    template = _observability(synthesized)
    _, external_secret = manifest_of_kind(template, "ExternalSecret", GRAFANA_ADMIN_SECRET)
    assert external_secret["metadata"]["namespace"] == GRAFANA_NAMESPACE
    assert external_secret["spec"]["target"]["template"]["data"]["admin-password"] == "{{ .password }}"
    (secret_id, secret) = [
        (lid, r)
        for lid, r in resources_of_type(template, "AWS::SecretsManager::Secret").items()
        if r["Properties"]["Name"].endswith("/grafana-admin-password")
    ][0]
    # Under the prefix and key the External Secrets controller may read and decrypt.
    assert secret["Properties"]["Name"] == f"{synthesized.config.airflow_secret_prefix}/grafana-admin-password"
    assert "GenerateSecretString" in secret["Properties"] and "SecretString" not in secret["Properties"]
    assert external_secret["spec"]["data"][0]["remoteRef"]["key"] == f"${{Ref:{secret_id}}}"
    associations = {
        lid: pair for lid, pair in pod_identity_associations(template).items() if pair[0] == GRAFANA_NAMESPACE
    }
    pods = pod_templates(grafana.objects, grafana.namespace)
    assert pod_identity_problems(associations, grafana.of_kind("ServiceAccount"), pods) == []
    (statement,) = _statements(template, "Grafana/Identity/Policy")
    assert sorted(statement["Action"]) == sorted(QUERY_ACTIONS)
    assert statement["Resource"] == {"Fn::GetAtt": [only_resource(template, "AWS::APS::Workspace")[0], "Arn"]}


# ---- alarms ----


def test_cloudwatch_alarms_page_the_topic_at_the_configured_thresholds(synthesized: Synthesized) -> None:
    template = _observability(synthesized)
    limits = synthesized.config.observability.alarms.thresholds
    topic_id, topic = only_resource(template, "AWS::SNS::Topic")
    alarms = {
        r["Metadata"]["aws:cdk:path"].split("/Alarms/")[1].split("/")[0]: r["Properties"]
        for r in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    }
    expected = {
        "DatabaseCpu": ("CPUUtilization", limits.database.cpu_percent),
        "DatabaseFreeStorage": ("FreeStorageSpace", limits.database.free_storage_gib * 1024**3),
        "DatabaseConnections": ("DatabaseConnections", limits.database.connections),
        "DagFileSystemThroughput": ("TotalIOBytes", limits.efs_throughput_mib_per_second * 1024**2 * 300),
        "InterruptionQueueAge": ("ApproximateAgeOfOldestMessage", limits.interruption_queue_age_seconds),
        "LoadBalancerTarget5xx": ("HTTPCode_Target_5XX_Count", limits.alb_5xx_per_5_minutes),
        "LoadBalancerElb5xx": ("HTTPCode_ELB_5XX_Count", limits.alb_5xx_per_5_minutes),
        "LoadBalancerUnhealthyTargets": ("UnHealthyHostCount", limits.alb_unhealthy_targets),
    }
    found = {}
    for name, alarm in alarms.items():
        if "MetricName" in alarm:
            found[name] = (alarm["MetricName"], alarm["Threshold"])
        else:
            ((query,),) = [[m["Expression"] for m in alarm["Metrics"]]]
            found[name] = (re.search(r"\((\w+)\) FROM", query)[1], alarm["Threshold"])
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]
    assert found == expected
    assert topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0] == only_resource(template, "AWS::KMS::Key")[0]
    subscriptions = resources_of_type(template, "AWS::SNS::Subscription")
    assert not subscriptions, "no email in config: nobody is subscribed"


def test_the_load_balancer_alarms_find_the_alb_by_the_tags_its_ingress_gives_it(synthesized: Synthesized) -> None:
    """The ALB exists only after the controller builds it from the Airflow stack's Ingress: the alarms' Metrics
    Insights queries select it by exactly the tags that Ingress asks the controller to put on it."""
    _, ingress = manifest_of_kind(synthesized.template("airflow"), "Ingress", "airflow-api-server")
    annotation = ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/tags"]
    ingress_tags = dict(pair.split("=", 1) for pair in annotation.split(","))
    queries = [
        m["Expression"]
        for r in resources_of_type(_observability(synthesized), "AWS::CloudWatch::Alarm").values()
        for m in r["Properties"].get("Metrics", [])
    ]
    assert len(queries) == 3
    for query in queries:
        assert query.startswith("SELECT ") and 'FROM SCHEMA("AWS/ApplicationELB", LoadBalancer' in query
        selected = dict(re.findall(r"tag\.(\w+) = '([^']*)'", query))
        assert selected == ingress_tags
        assert set(selected) == set(COST_ALLOCATION_TAG_KEYS)


def test_the_topic_admits_only_this_accounts_alarms_and_workspaces_over_tls(synthesized: Synthesized) -> None:
    template = _observability(synthesized)
    (policy,) = resources_of_type(template, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    publishers = {s["Principal"]["Service"]: s for s in statements if s["Effect"] == "Allow"}
    assert set(publishers) == {"cloudwatch.amazonaws.com", "aps.amazonaws.com"}
    account = {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert publishers["cloudwatch.amazonaws.com"]["Action"] == "sns:Publish"
    assert publishers["cloudwatch.amazonaws.com"]["Condition"] == {"StringEquals": account}
    amp = publishers["aps.amazonaws.com"]
    assert sorted(amp["Action"]) == ["sns:GetTopicAttributes", "sns:Publish"]
    assert amp["Condition"]["StringEquals"] == account
    assert render(amp["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(":workspace/*")
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    # Both may use the key only through SNS, for this topic.
    _, topic = only_resource(template, "AWS::SNS::Topic")
    _, key = only_resource(template, "AWS::KMS::Key")
    (use,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "PublishToAlarmTopic"]
    assert sorted(use["Principal"]["Service"]) == ["aps.amazonaws.com", "cloudwatch.amazonaws.com"]
    topic_arn = render(use["Condition"]["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"])
    assert topic_arn.endswith(f":{topic['Properties']['TopicName']}")
    assert topic["Properties"]["TopicName"] == f"{synthesized.config.cluster_name}-alarms"


def test_airflow_alerts_use_only_kept_metrics_and_go_to_the_topic(synthesized: Synthesized) -> None:
    template = _observability(synthesized)
    limits = synthesized.config.observability.alarms.thresholds.airflow
    (rules,) = resources_of_type(template, "AWS::APS::RuleGroupsNamespace").values()
    (group,) = yaml.safe_load(rules["Properties"]["Data"])["groups"]
    by_name = {rule["alert"]: rule["expr"] for rule in group["rules"]}
    assert set(by_name) == {
        "AirflowSchedulerHeartbeatMissing",
        "AirflowTaskFailureRateHigh",
        "AirflowDagImportErrors",
        "AirflowTasksQueuedTooLong",
    }
    kept = CATALOG.series()
    for alert, expr in by_name.items():
        assert _metric_names(expr) <= kept, f"{alert}: {_metric_names(expr) - kept}"
    assert f"[{limits.scheduler_heartbeat_missing_for}]" in by_name["AirflowSchedulerHeartbeatMissing"]
    assert by_name["AirflowTaskFailureRateHigh"].endswith(f"> {limits.task_failure_percent:g}")
    assert f"[{limits.task_failure_window}]" in by_name["AirflowTaskFailureRateHigh"]
    assert f"[{limits.task_queued_for}:1m]" in by_name["AirflowTasksQueuedTooLong"]

    topic_id, _ = only_resource(template, "AWS::SNS::Topic")
    _, workspace = only_resource(template, "AWS::APS::Workspace")
    definition = yaml.safe_load(render(workspace["Properties"]["AlertManagerDefinition"]))
    manager = yaml.safe_load(definition["alertmanager_config"])
    (receiver,) = manager["receivers"]
    assert manager["route"]["receiver"] == receiver["name"]
    assert receiver["sns_configs"] == [
        {
            "topic_arn": f"${{Ref:{topic_id}}}",
            "sigv4": {"region": synthesized.config.region},
            "attributes": {"source": "amp-alertmanager"},
        }
    ]


# ---- cost visibility (OpenCost) ----


def _relabel_drops(job: dict, labels: dict[str, str]) -> bool:
    """Whether the job's drop rules drop a series with these labels, as Prometheus relabels: the source labels'
    values (a missing label is empty) joined with ";" must match the rule's regex in full."""
    return any(
        re.fullmatch(rule["regex"], ";".join(labels.get(label, "") for label in rule["source_labels"]))
        for rule in job["metric_relabel_configs"][1:]
    )


def test_cadvisor_keeps_what_opencost_reads_and_drops_the_rest(synthesized: Synthesized) -> None:
    jobs = {job["job_name"]: job for job in _prometheus_config(_observability(synthesized))["scrape_configs"]}
    if not synthesized.config.observability.opencost.enabled:
        assert not {"cadvisor", "opencost"} & set(jobs)
        return
    job = jobs["cadvisor"]
    # OpenCost reads at 5-minute resolution: both of its inputs every 2 minutes, not the env's 60 s.
    assert job["scrape_interval"] == jobs["opencost"]["scrape_interval"] == "2m"
    assert (job["scheme"], job["metrics_path"], job["kubernetes_sd_configs"]) == (
        "https",
        "/metrics/cadvisor",
        [{"role": "node"}],
    )
    # The kubelet's serving certificate is the cluster CA's; the token is the agent's own.
    assert job["tls_config"] == {"ca_file": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"}
    assert "insecure_skip_verify" not in json.dumps(job)
    assert {"source_labels": ["__meta_kubernetes_node_name"], "target_label": "node"} in job["relabel_configs"]
    container = {"namespace": "airflow", "pod": "airflow-scheduler-0", "container": "scheduler", "id": "/kubepods/x"}
    kept = [
        {"__name__": "container_cpu_usage_seconds_total", **container},
        {"__name__": "container_memory_working_set_bytes", **container},
        {"__name__": "container_fs_usage_bytes", "id": "/", "device": "/dev/nvme0n1p1"},  # the node's disk
        {"__name__": "container_network_receive_bytes_total", "pod": "airflow-scheduler-0", "interface": "eth0"},
    ]
    dropped = [
        {"__name__": "container_cpu_usage_seconds_total", **container, "container": ""},  # the pod's cgroup
        {"__name__": "container_memory_working_set_bytes", **container, "container": "POD"},  # the sandbox
        {"__name__": "container_fs_usage_bytes", "id": "/system.slice/containerd.service"},
        {"__name__": "container_fs_limit_bytes", **container},  # OpenCost reads the node's disk only
        {"__name__": "container_network_transmit_bytes_total", "interface": "eth0"},  # the node's own
    ]
    assert [series for series in kept if _relabel_drops(job, series)] == []
    assert [series for series in dropped if not _relabel_drops(job, series)] == []
    # OpenCost's own series describe other pods: their namespace and pod labels win over the target's.
    assert jobs["opencost"]["honor_labels"] is True
    assert all("honor_labels" not in jobs[name] for name in jobs if name != "opencost")


@pytest.fixture(scope="session")
def opencost(prod: Synthesized, helm: Path, charts_dir: Path) -> Release:
    """OpenCost as prod installs it (dev leaves it out: test_opencost_is_off_in_dev_and_on_in_prod)."""
    return render_release(prod, "observability", OPENCOST_RELEASE, helm, charts_dir)


def test_opencost_is_off_in_dev_and_on_in_prod(synthesized: Synthesized) -> None:
    releases = {
        r["Properties"]["Chart"]
        for r in resources_of_type(_observability(synthesized), "Custom::AWSCDK-EKS-HelmChart").values()
    }
    assert (OPENCOST_RELEASE in releases) is synthesized.config.observability.opencost.enabled
    assert synthesized.config.observability.opencost.enabled is (synthesized.config.env_name == "prod")


def test_opencost_renders_and_queries_the_workspace_only_through_its_loopback_proxy(
    prod: Synthesized, opencost: Release
) -> None:
    synthesized = prod
    _assert_valid(opencost.objects, synthesized.config.cluster.kubernetes_version)
    (deployment,) = opencost.of_kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert set(containers) == {"opencost", "opencost-ui", "sigv4-proxy"}
    env = {e["name"]: e.get("value") for e in containers["opencost"]["env"]}
    assert env["PROMETHEUS_SERVER_ENDPOINT"] == f"http://127.0.0.1:8005/workspaces/{WORKSPACE_ID_STAND_IN}"
    assert env["CLUSTER_ID"] == synthesized.config.cluster_name
    # AMP serves no status/config, so OpenCost is told how often its inputs are scraped.
    jobs = {job["job_name"]: job for job in _prometheus_config(_observability(synthesized))["scrape_configs"]}
    assert env["KUBECOST_SCRAPE_INTERVAL"] == jobs["opencost"]["scrape_interval"] == jobs["cadvisor"]["scrape_interval"]
    assert env["MCP_SERVER_ENABLED"] == "false"
    proxy = containers["sigv4-proxy"]
    region = synthesized.config.region
    assert proxy["image"] == synthesized.config.versions.aws_sigv4_proxy.image
    assert proxy["args"] == [
        "--name",
        "aps",
        "--region",
        region,
        "--host",
        f"aps-workspaces.{region}.amazonaws.com",
        "--port",
        "127.0.0.1:8005",
    ]
    # Only the pod's own containers reach the proxy: it has no port, and the Service offers the API and UI only.
    assert "ports" not in proxy
    (service,) = opencost.of_kind("Service")
    assert sorted(p["port"] for p in service["spec"]["ports"]) == [OPENCOST_API_PORT, OPENCOST_UI_PORT]
    assert pod["nodeSelector"] == CORE_NODE_LABELS
    for name, container in containers.items():
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}, name
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert not opencost.of_kind("Secret"), "OpenCost needs no credential of its own"


def test_opencost_runs_under_its_association_and_may_only_query(prod: Synthesized, opencost: Release) -> None:
    template = _observability(prod)
    associations = {
        lid: pair for lid, pair in pod_identity_associations(template).items() if pair[0] == OPENCOST_NAMESPACE
    }
    assert list(associations.values()) == [(OPENCOST_NAMESPACE, OPENCOST_SERVICE_ACCOUNT)]
    pods = pod_templates(opencost.objects, opencost.namespace)
    assert pod_identity_problems(associations, opencost.of_kind("ServiceAccount"), pods) == []
    workspace_id, _ = only_resource(template, "AWS::APS::Workspace")
    (statement,) = _statements(template, "OpenCost/Identity/Policy")
    assert sorted(statement["Action"]) == sorted(QUERY_ACTIONS)
    assert statement["Resource"] == {"Fn::GetAtt": [workspace_id, "Arn"]}
    # The agent finds the OpenCost pod: its namespace, labels and API port.
    scrape = CATALOG.exporters["opencost"].scrape
    (deployment,) = opencost.of_kind("Deployment")
    assert opencost.namespace == scrape.namespace
    assert selector_matches({"matchLabels": scrape.pod_labels}, deployment["spec"]["template"]["metadata"]["labels"])


def test_only_the_agent_may_reach_opencosts_api(prod: Synthesized, opencost: Release) -> None:
    """OpenCost's API passes PromQL through unauthenticated: its network policy admits the agent's pods to the API
    port and nothing else (port-forward enters the pod and is not filtered)."""
    template = _observability(prod)
    _, policy = manifest_of_kind(template, "NetworkPolicy", f"{OPENCOST_RELEASE}-api")
    assert policy["metadata"]["namespace"] == opencost.namespace
    (deployment,) = opencost.of_kind("Deployment")
    assert selector_matches(policy["spec"]["podSelector"], deployment["spec"]["template"]["metadata"]["labels"])
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": OPENCOST_API_PORT}]
    (source,) = rule["from"]
    assert source["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": METRICS_NAMESPACE}}
    (agent,) = [
        m
        for _, m in kubernetes_manifests(template)
        if m["kind"] == "Deployment" and m["metadata"]["name"] == PROMETHEUS_AGENT
    ]
    assert agent["metadata"]["namespace"] == METRICS_NAMESPACE
    assert selector_matches(source["podSelector"], agent["spec"]["template"]["metadata"]["labels"])


def test_a_grafana_uid_over_40_characters_is_a_config_error() -> None:
    assert grafana_uid("a" * 40) == "a" * 40
    with pytest.raises(ConfigError, match=r"^observability.grafana.managed_workspace_id: the Grafana uid a{41} is"):
        grafana_uid("a" * 41)


def test_spark_applications_carry_the_label_opencost_aggregates_by() -> None:
    """The README's per-application query aggregates by the label the Spark Operator sets on drivers and executors
    (pkg/common/spark.go LabelSparkAppName in 2.5.2); OpenCost sanitizes it as Prometheus does."""
    assert SPARK_APPLICATION_LABEL == "sparkoperator.k8s.io/app-name"
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "aggregate=label:" + re.sub(r"[^a-zA-Z0-9_]", "_", SPARK_APPLICATION_LABEL) in readme


# ---- Amazon Managed Grafana ----


def test_dashboards_go_to_the_named_managed_grafana_workspace_on_the_clusters_own_source(
    dev_alternatives: Synthesized,
) -> None:
    template = _observability(dev_alternatives)
    config = dev_alternatives.config
    cluster_name = config.cluster_name
    assert "Custom::AWSCDK-EKS-HelmChart" not in {r["Type"] for r in template["Resources"].values()}
    (delivery,) = resources_of_type(template, "Custom::ManagedGrafanaDashboards").values()
    properties = delivery["Properties"]
    workspace_id, _ = only_resource(template, "AWS::APS::Workspace")
    assert properties["WorkspaceId"] == ALTERNATIVE_GRAFANA_WORKSPACE
    source = properties["DataSource"]
    assert source["Uid"] == f"{cluster_name}-{GRAFANA_DATASOURCE_UID}"
    assert source["Url"] == {"Fn::GetAtt": [workspace_id, "PrometheusEndpoint"]}
    assert source["Region"] == config.region
    shipped = {name: json.loads(text) for name, text in properties["Dashboards"].items()}
    assert set(shipped) == {"airflow", "karpenter"}, "no Spark dashboard without Spark"
    for name, dashboard in shipped.items():
        original = _dashboards()[name]
        assert dashboard["uid"] == f"{cluster_name}-{original['uid']}" and len(dashboard["uid"]) <= 40
        assert [p["title"] for p in _panels(dashboard)] == [p["title"] for p in _panels(original)]
        sources = {json.dumps(p["datasource"], sort_keys=True) for p in _panels(dashboard)}
        assert sources == {json.dumps({"type": GRAFANA_DATASOURCE_TYPE, "uid": source["Uid"]}, sort_keys=True)}
    assert "ManagedGrafanaDataSourceHealth" in template["Outputs"]


def test_the_delivery_may_only_manage_its_service_account_in_that_workspace(dev_alternatives: Synthesized) -> None:
    template = _observability(dev_alternatives)
    statements = _statements(template, "ManagedGrafana/DeliveryRole/DefaultPolicy")
    grafana = [s for s in statements if any(a.startswith("grafana:") for a in _as_list(s["Action"]))]
    (statement,) = grafana
    assert sorted(statement["Action"]) == sorted(GRAFANA_ACTIONS)
    assert render(statement["Resource"]) == (
        f"arn:aws:grafana:{dev_alternatives.config.region}:${{Ref:AWS::AccountId}}:/workspaces/"
        f"{ALTERNATIVE_GRAFANA_WORKSPACE}"
    )
    logs = [s for s in statements if s not in grafana]
    assert all(set(_as_list(s["Action"])) == {"logs:CreateLogStream", "logs:PutLogEvents"} for s in logs)
    (function,) = [
        r
        for r in resources_of_type(template, "AWS::Lambda::Function").values()
        if r["Metadata"]["aws:cdk:path"].endswith("ManagedGrafana/Delivery/Resource")
    ]
    assert function["Properties"]["Handler"] == "index.handler"
    (invoke_config,) = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::Lambda::EventInvokeConfig").values()
        if r["Metadata"]["aws:cdk:path"].endswith("ManagedGrafana/Delivery/EventInvokeConfig/Resource")
    ]
    assert invoke_config["MaximumRetryAttempts"] == 0


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# ---- toggles, one pair each ----


def _built_observability(tmp_path: Path, *edits) -> cdk.Stack:
    """dev's observability stack with these config edits, built (not synthesized: it only loses constructs that
    dev's synth runs the compliance checks on)."""
    config = config_with("dev", *edits, tmp_path=tmp_path)
    stacks = build_stacks(cdk.App(context=cli_context("dev"), outdir=str(tmp_path / "out")), config)
    (observability,) = [s for s in stacks if s.stack_name.endswith("-observability")]
    return observability


def _resource_types(stack: cdk.Stack) -> set[str]:
    return {c.cfn_resource_type for c in stack.node.find_all() if isinstance(c, cdk.CfnResource)}


def test_with_every_part_off_only_the_key_remains(tmp_path: Path) -> None:
    stack = _built_observability(
        tmp_path,
        *(set_key(f"observability.{part}.enabled", False) for part in ("logs", "metrics", "grafana", "alarms")),
    )
    assert _resource_types(stack) == {"AWS::KMS::Key", "AWS::KMS::Alias"}


def test_metrics_without_alarms_have_no_alert_manager(tmp_path: Path) -> None:
    """Alarms off, metrics on: the workspace has no alert manager and no rules (built, not synthesized: the
    stack's constructs are the same as in dev, whose synth runs the compliance checks)."""
    observability = _built_observability(tmp_path, set_key("observability.alarms.enabled", False))
    kinds = _resource_types(observability)
    assert "AWS::APS::Workspace" in kinds
    assert not kinds & {"AWS::SNS::Topic", "AWS::CloudWatch::Alarm", "AWS::APS::RuleGroupsNamespace"}
    (workspace,) = [c for c in observability.node.find_all() if isinstance(c, aps.CfnWorkspace)]
    assert workspace.alert_manager_definition is None


def test_an_email_in_config_is_subscribed_to_the_topic() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Topic", env=cdk.Environment(region="us-west-2"))
    AlarmTopic(
        stack,
        "AlarmTopic",
        props=AlarmTopicProps(key=kms.Key(stack, "Key"), topic_name="t-alarms", email="oncall@example.com"),
    )
    template = assertions.Template.from_stack(stack).to_json()
    (subscription,) = resources_of_type(template, "AWS::SNS::Subscription").values()
    assert (subscription["Properties"]["Protocol"], subscription["Properties"]["Endpoint"]) == (
        "email",
        "oncall@example.com",
    )


def test_coredns_scales_through_the_addon_configuration(
    synthesized: Synthesized, dev_alternatives: Synthesized
) -> None:
    def coredns(cluster_template: dict) -> dict:
        (addon,) = [
            r["Properties"]
            for r in resources_of_type(cluster_template, "AWS::EKS::Addon").values()
            if r["Properties"]["AddonName"] == "coredns"
        ]
        return addon

    (configured,) = [a for a in synthesized.config.cluster.addons if a.name == "coredns"]
    scaling = json.loads(coredns(synthesized.template("cluster"))["ConfigurationValues"])["autoScaling"]
    assert scaling == configured.configuration["autoScaling"]
    assert scaling["enabled"] is True and scaling["minReplicas"] >= 2
    assert "ConfigurationValues" not in coredns(dev_alternatives.template("cluster"))


def test_with_the_feature_off_there_is_no_observability_stack(tmp_path: Path) -> None:
    """dev only: production requires the feature (tests/test_config_observability.py)."""
    env = "dev"
    config = load_config(env)
    config = config.model_copy(update={"features": config.features.model_copy(update={"observability": False})})
    stacks = build_stacks(cdk.App(context=cli_context(env), outdir=str(tmp_path)), config)
    assert [s.stack_name for s in stacks] == [
        config.stack_name(c) for c in ("network", "data", "cluster", "airflow", "karpenter", "spark")
    ]


# ---- cost allocation ----


def test_every_taggable_resource_carries_the_cost_allocation_tags(synthesized: Synthesized) -> None:
    config = synthesized.config
    untagged = []
    for stack_name in synthesized.stack_names:
        component = stack_name.removeprefix(f"{config.name_prefix}-{config.env_name}-")
        expected = {"project": config.project, "env": config.env_name, "component": component}
        for logical_id, resource in synthesized.templates[stack_name]["Resources"].items():
            if resource["Type"].startswith("Custom::"):
                continue
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(config.region, resource["Type"]).schema
            if "Tags" not in schema.get("properties", {}):
                continue
            tags = resource["Properties"].get("Tags", {})
            tags = {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else tags
            if {k: tags.get(k) for k in COST_ALLOCATION_TAG_KEYS} != expected:
                untagged.append(f"{stack_name} {logical_id} ({resource['Type']}): {tags}")
    assert not untagged, "\n".join(untagged)


# ---- the Cluster Autoscaler (cluster stack, off by default) ----


def test_the_cluster_autoscaler_is_off_by_default(synthesized: Synthesized) -> None:
    assert synthesized.config.cluster.cluster_autoscaler.enabled is False
    releases = {
        r["Properties"]["Release"]
        for r in resources_of_type(synthesized.template("cluster"), "Custom::AWSCDK-EKS-HelmChart").values()
    }
    assert AUTOSCALER_RELEASE not in releases


def test_the_cluster_autoscaler_scales_only_this_clusters_managed_groups(
    dev_alternatives: Synthesized, helm: Path, charts_dir: Path
) -> None:
    # Only the variant has this release: render_release's cache is keyed by env, which dev shares.
    release = render_release(dev_alternatives, "cluster", AUTOSCALER_RELEASE, helm, charts_dir)
    _assert_valid(release.objects, dev_alternatives.config.cluster.kubernetes_version)
    cluster_name = dev_alternatives.config.cluster_name
    (deployment,) = release.of_kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert (
        f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,{owned_tag(cluster_name)}"
        in container["command"]
    )
    assert pod["nodeSelector"] == {"NodeGroupType": "core"}
    template = dev_alternatives.template("cluster")
    associations = {
        lid: pair for lid, pair in pod_identity_associations(template).items() if pair[1] == AUTOSCALER_SERVICE_ACCOUNT
    }
    pods = pod_templates(release.objects, release.namespace)
    assert len(associations) == 1
    assert pod_identity_problems(associations, release.of_kind("ServiceAccount"), pods) == []
    (policy,) = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
        if r["Metadata"]["aws:cdk:path"].endswith("/ClusterAutoscaler/Policy/Resource")
    ]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    scale = statements["ScaleThisClustersGroups"]
    assert sorted(scale["Action"]) == sorted(SCALING_ACTIONS)
    assert scale["Condition"] == {"StringEquals": {f"aws:ResourceTag/{owned_tag(cluster_name)}": "owned"}}
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in statements["Describe"]["Action"])
    assert render(statements["DescribeThisClustersNodegroups"]["Resource"]).endswith(f":nodegroup/{cluster_name}/*/*")
