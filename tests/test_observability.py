"""The observability stack, from its synthesized template and from what it installs, rendered offline:

- logs: the two log groups exist with the configured retention and the stack's key before Fluent Bit runs, the
  aws-for-fluent-bit chart renders from ../shared/charts with the app's values, writes only to them and creates none;
- metrics: the Prometheus agent's objects validate, each scrape job finds the exporter's pods in the rendered charts,
  and it keeps exactly the names of observability/metrics.yaml, whose Airflow names Airflow 3.3.2 itself declares;
- alarms: CloudWatch alarms at the config's thresholds and the AMP alerting rules (kept metric names only) go to one
  encrypted topic;
- toggles: each part on (dev, prod) and off (dev_alternatives: logs and metrics off; a session variant with alarms
  off; features.observability off builds no stack), and the cost-allocation tags are on every resource.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from config.settings import load_config
from constructs.observability.metrics_catalog import load_metrics_catalog
from constructs.observability.names import (
    FLUENT_BIT_RELEASE,
    FLUENT_BIT_SERVICE_ACCOUNT,
    LOGS_NAMESPACE,
    METRICS_NAMESPACE,
    PROMETHEUS_AGENT,
    container_log_group,
    node_log_group,
)
from constructs.shared.tags import COST_ALLOCATION_TAG_KEYS
from stacks.app_stacks import build_stacks
from tests.config_edits import ALTERNATIVE_EMAIL, config_with, set_key
from tests.releases import Release, render_release
from tests.support import (
    core_validation_error,
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
    render,
    resources_of_type,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_metrics_catalog()
# Where each exporter's pods come from: (stack, Helm release). Airflow's chart is not available offline.
EXPORTER_RELEASES = {
    "karpenter": ("cluster", "karpenter"),
    "aws-load-balancer-controller": ("cluster", "aws-load-balancer-controller"),
    "spark-operator": ("spark", "spark-operator"),
}


@pytest.fixture(scope="session")
def fluent_bit(synthesized: Synthesized, helm: Path, charts_dir: Path) -> Release:
    return render_release(synthesized, "observability", FLUENT_BIT_RELEASE, helm, charts_dir)


@pytest.fixture(scope="session")
def dev_without_alarms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Templates of dev with alarms off and CoreDNS's autoscaler removed: the other half of those two toggles.
    Synthesized without the compliance checks, which only removing resources cannot break (dev and prod run them)."""
    tmp_path = tmp_path_factory.mktemp("dev-without-alarms")
    config = config_with(
        "dev",
        set_key("observability.alarms.enabled", False),
        lambda data: next(a for a in data["cluster"]["addons"] if a["name"] == "coredns").pop("configuration"),
        tmp_path=tmp_path,
    )
    app = cdk.App(context=cli_context("dev"), outdir=str(tmp_path / "cdk.out"))
    stacks = build_stacks(app, config, compliance_checks=False)
    assembly = app.synth()
    return {s.stack_name.rsplit("-", 1)[-1]: assembly.get_stack_by_name(s.stack_name).template for s in stacks}


def _observability(synthesized: Synthesized) -> dict:
    return synthesized.template("observability")


def _prometheus_config(template: dict) -> dict:
    _, config_map = manifest_of_kind(template, "ConfigMap", f"{PROMETHEUS_AGENT}-config")
    return json.loads(config_map["data"]["prometheus.yml"])


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
    kubernetes_version = synthesized.config.cluster.kubernetes_version
    problems = [
        f"{o['kind']} {o['metadata']['name']}: {error}"
        for o in fluent_bit.objects
        if (error := core_validation_error(o, kubernetes_version)) is not None
    ]
    assert not problems, "\n".join(problems)
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
    # Node logs at warning and above only; the API server's health checks never leave the node.
    assert re.search(r"Match +node\.\*\n +Regex +PRIORITY \^\[0-4\]\$", conf)
    assert re.search(r"Match +kube\.\*\n +Exclude +log /api/v2/monitor/health", conf)
    (daemon_set,) = fluent_bit.of_kind("DaemonSet")
    pod = daemon_set["spec"]["template"]["spec"]
    assert {"operator": "Exists"} in pod["tolerations"], "a node's logs are collected whatever its taints"
    assert pod["serviceAccountName"] == FLUENT_BIT_SERVICE_ACCOUNT


def test_fluent_bit_runs_under_its_association_and_may_only_write_its_groups(
    synthesized: Synthesized, fluent_bit: Release
) -> None:
    template = _observability(synthesized)
    associations = {
        lid: (r["Properties"]["Namespace"], r["Properties"]["ServiceAccount"])
        for lid, r in resources_of_type(template, "AWS::EKS::PodIdentityAssociation").items()
        if r["Properties"]["Namespace"] == LOGS_NAMESPACE
    }
    pods = pod_templates(fluent_bit.objects, fluent_bit.namespace)
    assert pod_identity_problems(associations, fluent_bit.of_kind("ServiceAccount"), pods) == []
    (statement,) = _statements(template, "Logs/WriteLogs")
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    groups = {lid for lid in resources_of_type(template, "AWS::Logs::LogGroup")}
    assert {r["Fn::GetAtt"][0] for r in statement["Resource"]} == groups


# ---- metrics ----


def test_the_agent_objects_validate_and_run_under_the_association(synthesized: Synthesized) -> None:
    template = _observability(synthesized)
    objects = [m for _, m in kubernetes_manifests(template)]
    kubernetes_version = synthesized.config.cluster.kubernetes_version
    problems = [
        f"{o['kind']} {o['metadata']['name']}: {error}"
        for o in objects
        if (error := core_validation_error(o, kubernetes_version)) is not None
    ]
    assert not problems, "\n".join(problems)
    associations = {
        lid: (r["Properties"]["Namespace"], r["Properties"]["ServiceAccount"])
        for lid, r in resources_of_type(template, "AWS::EKS::PodIdentityAssociation").items()
        if r["Properties"]["Namespace"] == METRICS_NAMESPACE
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
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    workspace_id, _ = only_resource(template, "AWS::APS::Workspace")
    (statement,) = _statements(template, "Metrics/RemoteWrite")
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
    assert set(jobs) == set(CATALOG.exporters)
    for name, (component, release_name) in EXPORTER_RELEASES.items():
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
        (keep,) = job["metric_relabel_configs"]
        assert keep["action"] == "keep" and keep["source_labels"] == ["__name__"]
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


# ---- alarms ----


def test_cloudwatch_alarms_page_the_topic_at_the_configured_thresholds(synthesized: Synthesized) -> None:
    template = _observability(synthesized)
    limits = synthesized.config.observability.alarms.thresholds
    topic_id, topic = only_resource(template, "AWS::SNS::Topic")
    alarms = {
        r["Metadata"]["aws:cdk:path"].split("/")[-2]: r["Properties"]
        for r in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    }
    expected = {
        "DatabaseCpu": ("CPUUtilization", limits.database.cpu_percent),
        "DatabaseFreeStorage": ("FreeStorageSpace", limits.database.free_storage_gib * 1024**3),
        "DatabaseConnections": ("DatabaseConnections", limits.database.connections),
        "DagFileSystemThroughput": ("TotalIOBytes", limits.efs_throughput_mib_per_second * 1024**2 * 300),
        "InterruptionQueueAge": ("ApproximateAgeOfOldestMessage", limits.interruption_queue_age_seconds),
    }
    assert {name: (a["MetricName"], a["Threshold"]) for name, a in alarms.items()} == expected
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]
    assert topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0] == only_resource(template, "AWS::KMS::Key")[0]
    subscriptions = resources_of_type(template, "AWS::SNS::Subscription")
    assert not subscriptions, "no email in config: nobody is subscribed"


def test_the_topic_admits_only_this_accounts_alarms_and_workspaces_over_tls(synthesized: Synthesized) -> None:
    template = _observability(synthesized)
    (policy,) = resources_of_type(template, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    publishers = {s["Principal"]["Service"]: s for s in statements if s["Effect"] == "Allow"}
    assert set(publishers) == {"cloudwatch.amazonaws.com", "aps.amazonaws.com"}
    for statement in publishers.values():
        assert statement["Action"] == "sns:Publish"
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )


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
    promql_functions = {"sum", "increase", "absent_over_time", "clamp_min", "max", "min_over_time", "or"}
    kept = CATALOG.series()
    for alert, expr in by_name.items():
        names = set(re.findall(r"[a-z_][a-z0-9_]*(?=[\[{(]|\s|\)|$)", re.sub(r"\[[^\]]*\]", "[]", expr)))
        assert names - promql_functions - {"by"} <= kept, f"{alert}: {names - promql_functions - kept}"
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


# ---- toggles, one pair each ----


def test_with_logs_and_metrics_off_only_the_alarms_remain(dev_alternatives: Synthesized) -> None:
    template = _observability(dev_alternatives)
    for resource_type in (
        "Custom::AWSCDK-EKS-HelmChart",
        "Custom::AWSCDK-EKS-KubernetesResource",
        "AWS::APS::Workspace",
        "AWS::APS::RuleGroupsNamespace",
        "AWS::Logs::LogGroup",
        "AWS::EKS::PodIdentityAssociation",
    ):
        assert not resources_of_type(template, resource_type), resource_type
    assert len(resources_of_type(template, "AWS::CloudWatch::Alarm")) == 5
    (subscription,) = resources_of_type(template, "AWS::SNS::Subscription").values()
    assert (subscription["Properties"]["Protocol"], subscription["Properties"]["Endpoint"]) == (
        "email",
        ALTERNATIVE_EMAIL,
    )
    # The Spark Operator is off in this variant, and with it its scrape job (no metrics at all here).
    assert "spark" not in {name.rsplit("-", 1)[-1] for name in dev_alternatives.stack_names}


def test_with_alarms_off_there_is_no_topic_alarm_or_rule(dev_without_alarms: dict[str, dict]) -> None:
    template = dev_without_alarms["observability"]
    for resource_type in ("AWS::SNS::Topic", "AWS::CloudWatch::Alarm", "AWS::APS::RuleGroupsNamespace"):
        assert not resources_of_type(template, resource_type), resource_type
    _, workspace = only_resource(template, "AWS::APS::Workspace")
    assert "AlertManagerDefinition" not in workspace["Properties"]
    helm_release(template, FLUENT_BIT_RELEASE)


def test_coredns_scales_through_the_addon_configuration(
    synthesized: Synthesized, dev_without_alarms: dict[str, dict]
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
    assert "ConfigurationValues" not in coredns(dev_without_alarms["cluster"])


def test_with_the_feature_off_there_is_no_observability_stack(tmp_path: Path) -> None:
    """dev only: production requires the feature (tests/test_config_observability.py)."""
    env = "dev"
    config = load_config(env)
    config = config.model_copy(update={"features": config.features.model_copy(update={"observability": False})})
    stacks = build_stacks(cdk.App(context=cli_context(env), outdir=str(tmp_path)), config)
    assert [s.stack_name for s in stacks] == [
        config.stack_name(c) for c in ("network", "data", "cluster", "airflow", "spark")
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
