"""Cost visibility: OpenCost on the core nodes, reading what the metrics workspace holds.

The Prometheus agent scrapes OpenCost's own exporter (node, volume and load balancer prices and the Kubernetes
objects cost is split by) and every kubelet's cAdvisor endpoint (what containers use) into the workspace;
OpenCost queries them back through a SigV4-signing proxy in its pod (on the loopback address), as its Pod Identity
role, which may only query that workspace. Its UI and API show cost per namespace, controller, pod and label, so
per Spark application by the label the Spark Operator puts on every driver and executor. Reach it with
`kubectl port-forward` (the stack's `OpenCostCommand` output); no load balancer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_aps as aps
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from config.settings import HelmChartVersion, ImageVersion
from constructs.cluster.eks_iam import PodIdentity
from constructs.observability.grafana import QUERY_ACTIONS
from constructs.observability.names import (
    OPENCOST_API_PORT,
    OPENCOST_NAMESPACE,
    OPENCOST_RELEASE,
    OPENCOST_SERVICE_ACCOUNT,
)
from constructs.shared.helm_release import helm_release
from constructs.shared.helm_values import chart_values
from constructs.shared.namespaces import namespace_manifest

SIGV4_PROXY_ADDRESS = "127.0.0.1:8005"


@dataclass(frozen=True, kw_only=True)
class OpenCostProps:
    cluster: eks.ICluster
    cluster_name: str
    region: str
    chart: HelmChartVersion
    sigv4_proxy: ImageVersion
    workspace: aps.CfnWorkspace
    # How often the agent scrapes OpenCost's inputs: OpenCost cannot read it from AMP (no status/config API).
    scrape_interval: str
    # The agent's pod labels and namespace: the only client of OpenCost's API inside the cluster.
    agent_namespace: str
    agent_pod_labels: Mapping[str, str]
    core_node_labels: Mapping[str, str]


class OpenCost(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: OpenCostProps) -> None:
        super().__init__(scope, construct_id)
        # The proxy signs with the pod's credentials; OpenCost itself needs none (AWS's price list is public).
        self.identity = PodIdentity(
            self,
            "Identity",
            cluster=props.cluster,
            namespace=OPENCOST_NAMESPACE,
            service_account=OPENCOST_SERVICE_ACCOUNT,
            description=f"OpenCost of EKS cluster {props.cluster_name}: queries its metrics workspace",
            statements=[iam.PolicyStatement(actions=list(QUERY_ACTIONS), resources=[props.workspace.attr_arn])],
        )
        self.namespace = eks.KubernetesManifest(
            self, "Namespace", cluster=props.cluster, manifest=[namespace_manifest(OPENCOST_NAMESPACE)]
        )
        self.values = chart_values(props.chart.chart, computed_values(props))
        self.chart = helm_release(
            self,
            "Chart",
            cluster=props.cluster,
            chart=props.chart,
            release=OPENCOST_RELEASE,
            namespace=OPENCOST_NAMESPACE,
            values=self.values,
        )
        # The association before its first query.
        self.chart.node.add_dependency(self.namespace, self.identity)
        self.network_policy = eks.KubernetesManifest(
            self, "ApiPolicy", cluster=props.cluster, manifest=[api_network_policy(props)]
        )
        self.network_policy.node.add_dependency(self.namespace)


def api_network_policy(props: OpenCostProps) -> dict[str, Any]:
    """OpenCost's API answers anyone who reaches it (its PromQL pass-through included), so only the agent may, and
    only its API port; `kubectl port-forward` enters the pod itself and is not filtered. Enforced where the VPC CNI
    enforces network policies (README: Cost visibility)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{OPENCOST_RELEASE}-api", "namespace": OPENCOST_NAMESPACE},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": OPENCOST_RELEASE}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": props.agent_namespace}
                            },
                            "podSelector": {"matchLabels": dict(props.agent_pod_labels)},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": OPENCOST_API_PORT}],
                }
            ],
        },
    }


def computed_values(props: OpenCostProps) -> dict[str, Any]:
    return {
        "serviceAccount": {"name": OPENCOST_SERVICE_ACCOUNT},
        "opencost": {
            # One workspace per cluster, so no query needs a cluster filter; this names the cluster in the UI.
            "exporter": {
                "defaultClusterId": props.cluster_name,
                "extraEnv": {"KUBECOST_SCRAPE_INTERVAL": props.scrape_interval},
            },
            "prometheus": {
                "external": {
                    "url": f"http://{SIGV4_PROXY_ADDRESS}/workspaces/{props.workspace.attr_workspace_id}",
                }
            },
            "extraContainers": [sigv4_proxy_container(props)],
            "nodeSelector": dict(props.core_node_labels),
        },
    }


def sigv4_proxy_container(props: OpenCostProps) -> dict[str, Any]:
    """Signs OpenCost's queries for AMP with the pod's Pod Identity credentials; on the loopback address only, so
    no other pod can query the workspace through it."""
    return {
        "name": "sigv4-proxy",
        "image": props.sigv4_proxy.image,
        "args": [
            "--name",
            "aps",
            "--region",
            props.region,
            "--host",
            f"aps-workspaces.{props.region}.amazonaws.com",
            "--port",
            SIGV4_PROXY_ADDRESS,
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        # A static binary in a scratch image: it needs no user, capability or writable file.
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
