"""Metrics: an Amazon Managed Service for Prometheus workspace (KMS-encrypted) and a Prometheus agent in the
cluster that scrapes the exporters of observability/metrics.yaml and remote-writes, signed with SigV4, to it.

Why an agent and not AMP's managed collector (`AWS::APS::Scraper`): the collector is billed per hour it runs
(about $29 a month) on top of the samples, which dev's and prod's budgets have no room for; the agent is one small
pod on the core nodes. It keeps only the listed names, since AMP bills every sample it ingests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_aps as aps
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from config.settings import ImageVersion
from constructs.cluster.eks_iam import PodIdentity
from constructs.observability.metrics_catalog import Exporter, KubeletScrape, MetricsCatalog, PodScrape
from constructs.observability.names import METRICS_NAMESPACE, PROMETHEUS_AGENT, PROMETHEUS_PORT
from constructs.shared.lifecycle import Lifecycle
from constructs.shared.namespaces import namespace_manifest

# The image's `nobody`: the agent needs no identity on the node.
PROMETHEUS_UID = 65534
CONFIG_FILE = "/etc/prometheus/prometheus.yml"
WAL_DIR = "/prometheus"
# The agent's pods, as its Deployment selects them (and OpenCost's network policy admits them).
AGENT_SELECTOR_LABELS = {"app.kubernetes.io/name": PROMETHEUS_AGENT}
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass(frozen=True, kw_only=True)
class MetricsProps:
    cluster: eks.ICluster
    cluster_name: str
    region: str
    key: kms.IKey
    lifecycle: Lifecycle
    image: ImageVersion
    scrape_interval: str
    # Exporter name -> what to scrape and keep (observability/metrics.yaml, only the components deployed).
    exporters: Mapping[str, Exporter]
    core_node_labels: Mapping[str, str]
    # Alertmanager configuration (YAML) of the workspace, when alarms are on.
    alert_manager_definition: str | None
    # The agent runs on the core nodes after the controllers it scrapes are installed.
    after: Sequence[Construct]


class Metrics(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: MetricsProps) -> None:
        super().__init__(scope, construct_id)
        self.workspace = aps.CfnWorkspace(
            self,
            "Workspace",
            alias=props.cluster_name,
            kms_key_arn=props.key.key_arn,
            alert_manager_definition=props.alert_manager_definition,
        )
        # Metrics history: kept on `cdk destroy` unless the env destroys its data.
        self.workspace.apply_removal_policy(props.lifecycle.removal_policy)
        self.identity = PodIdentity(
            self,
            "AgentIdentity",
            cluster=props.cluster,
            namespace=METRICS_NAMESPACE,
            service_account=PROMETHEUS_AGENT,
            description=f"Prometheus agent of EKS cluster {props.cluster_name}: writes metrics to its workspace",
            statements=[iam.PolicyStatement(actions=["aps:RemoteWrite"], resources=[self.workspace.attr_arn])],
        )
        remote_write_url = cdk.Fn.join("", [self.workspace.attr_prometheus_endpoint, "api/v1/remote_write"])
        config = agent_config(props, remote_write_url)
        # A changed scrape config rolls the pod (Prometheus does not watch its file); the URL is left out of the
        # hash because it is a deploy-time value that never changes for the workspace.
        config_hash = hashlib.sha256(
            json.dumps(agent_config(props, "<workspace>"), sort_keys=True).encode()
        ).hexdigest()
        self.namespace = eks.KubernetesManifest(
            self, "Namespace", cluster=props.cluster, manifest=[namespace_manifest(METRICS_NAMESPACE)]
        )
        self.agent = eks.KubernetesManifest(
            self,
            "Agent",
            cluster=props.cluster,
            manifest=agent_manifests(props, cdk.Stack.of(self).to_json_string(config), config_hash),
        )
        # The association first, so the first remote write already has credentials.
        self.agent.node.add_dependency(self.namespace, self.identity, *props.after)


def scrape_job(name: str, exporter: Exporter, interval: str) -> dict[str, Any]:
    """The exporter's targets, keeping only its listed names less its drop rules."""
    scrape = exporter.scrape
    if isinstance(scrape, KubeletScrape):
        job = kubelet_job(scrape)
    else:
        job = pod_job(scrape)
    return {
        "job_name": name,
        "scrape_interval": exporter.interval(interval),
        **job,
        "metric_relabel_configs": [
            {"source_labels": ["__name__"], "regex": MetricsCatalog.keep_regex(exporter), "action": "keep"},
            *(
                # Each label's regex grouped, so an alternation stays inside its own label.
                {
                    "source_labels": list(rule.labels),
                    "regex": ";".join(f"(?:{regex})" for regex in rule.labels.values()),
                    "action": "drop",
                }
                for rule in exporter.drop
            ),
        ],
    }


def pod_job(scrape: PodScrape) -> dict[str, Any]:
    """Pods of the scrape's namespace with its labels, on its metrics port."""
    return {
        **({"honor_labels": True} if scrape.honor_labels else {}),
        "kubernetes_sd_configs": [
            {
                "role": "pod",
                "namespaces": {"names": [scrape.namespace]},
                "selectors": [
                    {"role": "pod", "label": ",".join(f"{k}={v}" for k, v in sorted(scrape.pod_labels.items()))}
                ],
            }
        ],
        "relabel_configs": [
            # One target per pod: the container port that serves the metrics.
            {
                "source_labels": ["__meta_kubernetes_pod_container_port_number"],
                "regex": str(scrape.port),
                "action": "keep",
            },
            {"source_labels": ["__meta_kubernetes_pod_phase"], "regex": "Running", "action": "keep"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ],
    }


def kubelet_job(scrape: KubeletScrape) -> dict[str, Any]:
    """Every node's kubelet on its HTTPS port (the node's InternalIP, which its serving certificate names), with the
    agent's service-account token; the kubelet authorizes /metrics/* as `nodes/metrics`."""
    return {
        "scheme": "https",
        "metrics_path": scrape.kubelet_path,
        "authorization": {"credentials_file": f"{SERVICE_ACCOUNT_DIR}/token"},
        "tls_config": {"ca_file": f"{SERVICE_ACCOUNT_DIR}/ca.crt"},
        "kubernetes_sd_configs": [{"role": "node"}],
        # The series' own namespace, pod and container labels stay; the node is the one OpenCost groups by.
        "relabel_configs": [{"source_labels": ["__meta_kubernetes_node_name"], "target_label": "node"}],
    }


def agent_rules(exporters: Mapping[str, Exporter]) -> list[dict[str, Any]]:
    """Discovery only: which pods exist (and their ports); with a kubelet job, also which nodes exist and their
    kubelets' metrics. It reads no Secret or ConfigMap."""
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    if any(isinstance(e.scrape, KubeletScrape) for e in exporters.values()):
        rules += [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
        ]
    return rules


def agent_config(props: MetricsProps, remote_write_url: str) -> dict[str, Any]:
    """prometheus.yml (JSON is YAML): scrape jobs, and remote write to the workspace signed with the pod's
    credentials (SigV4, region only: the SDK's default chain finds the Pod Identity credentials)."""
    return {
        "global": {
            "scrape_interval": props.scrape_interval,
            "external_labels": {"cluster": props.cluster_name},
        },
        "scrape_configs": [
            scrape_job(name, exporter, props.scrape_interval) for name, exporter in sorted(props.exporters.items())
        ],
        "remote_write": [{"url": remote_write_url, "sigv4": {"region": props.region}}],
    }


def agent_manifests(props: MetricsProps, config_json: str, config_hash: str) -> list[dict[str, Any]]:
    labels = {**AGENT_SELECTOR_LABELS, "app.kubernetes.io/part-of": "observability"}
    metadata = {"name": PROMETHEUS_AGENT, "namespace": METRICS_NAMESPACE, "labels": labels}
    container = {
        "name": "prometheus",
        "image": props.image.image,
        "args": [
            f"--config.file={CONFIG_FILE}",
            # Agent mode: scrape and forward only, no local query engine or long-term storage.
            "--agent",
            f"--storage.agent.path={WAL_DIR}",
            f"--web.listen-address=:{PROMETHEUS_PORT}",
        ],
        "ports": [{"name": "http", "containerPort": PROMETHEUS_PORT}],
        "readinessProbe": {"httpGet": {"path": "/-/ready", "port": "http"}, "periodSeconds": 10},
        "livenessProbe": {"httpGet": {"path": "/-/healthy", "port": "http"}, "periodSeconds": 30},
        "resources": {"requests": {"cpu": "50m", "memory": "192Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": PROMETHEUS_UID,
            "runAsGroup": PROMETHEUS_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/prometheus", "readOnly": True},
            {"name": "wal", "mountPath": WAL_DIR},
        ],
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": PROMETHEUS_AGENT, "labels": labels},
            "rules": agent_rules(props.exporters),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": PROMETHEUS_AGENT, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": PROMETHEUS_AGENT},
            "subjects": [{"kind": "ServiceAccount", "name": PROMETHEUS_AGENT, "namespace": METRICS_NAMESPACE}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {**metadata, "name": f"{PROMETHEUS_AGENT}-config"},
            "data": {"prometheus.yml": config_json},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata,
            "spec": {
                # One agent: a restart resumes from its write-ahead log, so a short gap is the worst case.
                "replicas": 1,
                "selector": {"matchLabels": AGENT_SELECTOR_LABELS},
                "template": {
                    "metadata": {"labels": labels, "annotations": {"checksum/config": config_hash}},
                    "spec": {
                        "serviceAccountName": PROMETHEUS_AGENT,
                        "nodeSelector": dict(props.core_node_labels),
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": PROMETHEUS_UID,
                            "fsGroup": PROMETHEUS_UID,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [container],
                        "volumes": [
                            {"name": "config", "configMap": {"name": f"{PROMETHEUS_AGENT}-config"}},
                            {"name": "wal", "emptyDir": {"sizeLimit": "2Gi"}},
                        ],
                    },
                },
            },
        },
    ]
