"""The ALB in front of the Airflow api-server: an Ingress the AWS Load Balancer Controller turns into an ALB.

The app owns this Ingress (instead of the chart's) so its name is fixed and its status can be read back: the ALB's
DNS name becomes a stack output. It needs only the namespace: the controller keeps reconciling until the
chart's Service exists, so the ALB is created while the chart installs instead of after it.

Internal by default: it answers inside the VPC (and networks routed into it). Internet-facing admits only the
app's allowed_ingress_cidrs and serves HTTPS (the config refuses it without a certificate).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from config.settings import IngressConfig
from constructs.airflow.names import API_SERVER_PORT, API_SERVER_SERVICE, HEALTH_CHECK_PATH, INGRESS, NAMESPACE
from constructs.shared.tags import ownership_tags

ALB_ANNOTATION = "alb.ingress.kubernetes.io"
# TLS 1.3 with 1.2 for older clients: the current recommended ELB policy.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# How long the deploy waits for the controller to publish the ALB's DNS name.
HOSTNAME_TIMEOUT = cdk.Duration.minutes(10)


@dataclass(frozen=True, kw_only=True)
class AirflowIngressProps:
    cluster: eks.ICluster
    namespace: eks.KubernetesManifest
    # The controller must outlive the Ingress: on `cdk destroy` it deletes the ALB it made for it.
    load_balancer_controller: eks.HelmChart
    settings: IngressConfig
    # Who may connect: the VPC's CIDR for an internal ALB, plus the app's allowed_ingress_cidrs.
    vpc_cidr: str
    allowed_cidrs: Sequence[str]
    # Put on the ALB, its target group and security groups, so an env's leftovers can be found by tag.
    tags: Mapping[str, str]


class AirflowIngress(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: AirflowIngressProps) -> None:
        super().__init__(scope, construct_id)
        self.ingress = eks.KubernetesManifest(
            self, "Ingress", cluster=props.cluster, manifest=[ingress_manifest(props)]
        )
        self.ingress.node.add_dependency(props.namespace, props.load_balancer_controller)
        hostname = eks.KubernetesObjectValue(
            self,
            "Hostname",
            cluster=props.cluster,
            object_type="ingress",
            object_name=INGRESS,
            object_namespace=NAMESPACE,
            json_path=".status.loadBalancer.ingress[0].hostname",
            timeout=HOSTNAME_TIMEOUT,
        )
        hostname.node.add_dependency(self.ingress)
        self.hostname = hostname.value


def ingress_annotations(props: AirflowIngressProps) -> dict[str, str]:
    settings = props.settings
    internal = settings.scheme == "internal"
    cidrs = ([props.vpc_cidr] if internal else []) + list(props.allowed_cidrs)
    listen_ports: list[dict[str, int]] = [{"HTTP": 80}]
    annotations = {
        f"{ALB_ANNOTATION}/scheme": settings.scheme,
        # Straight to the pods' IPs: no NodePort, and health checks see each api-server replica.
        f"{ALB_ANNOTATION}/target-type": "ip",
        # Always 200 while the api-server answers, so a scheduler restart does not take the UI out of service.
        f"{ALB_ANNOTATION}/healthcheck-path": HEALTH_CHECK_PATH,
        f"{ALB_ANNOTATION}/success-codes": "200",
        f"{ALB_ANNOTATION}/inbound-cidrs": ",".join(cidrs),
        f"{ALB_ANNOTATION}/load-balancer-attributes": ",".join(
            [
                "routing.http.drop_invalid_header_fields.enabled=true",
                # `cdk destroy` must be able to delete it.
                "deletion_protection.enabled=false",
            ]
        ),
        f"{ALB_ANNOTATION}/tags": ",".join(f"{key}={value}" for key, value in sorted(props.tags.items())),
    }
    if settings.certificate_arn is not None:
        listen_ports.append({"HTTPS": 443})
        annotations |= {
            f"{ALB_ANNOTATION}/certificate-arn": settings.certificate_arn,
            f"{ALB_ANNOTATION}/ssl-policy": SSL_POLICY,
            f"{ALB_ANNOTATION}/ssl-redirect": "443",
        }
    annotations[f"{ALB_ANNOTATION}/listen-ports"] = json.dumps(listen_ports, separators=(",", ":"))
    return annotations


def ingress_manifest(props: AirflowIngressProps) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "http": {
            "paths": [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": API_SERVER_SERVICE, "port": {"number": API_SERVER_PORT}}},
                }
            ]
        }
    }
    if props.settings.host is not None:
        rule = {"host": props.settings.host, **rule}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": INGRESS, "namespace": NAMESPACE, "annotations": ingress_annotations(props)},
        "spec": {"ingressClassName": "alb", "rules": [rule]},
    }


def load_balancer_tags(project: str, env_name: str) -> dict[str, str]:
    """The tags the load balancer controller puts on the Airflow UI's ALB and target group (the app's ownership tags
    and component `airflow`); the observability stack's ALB alarms find them by these."""
    return {**ownership_tags(project, env_name), "component": "airflow"}
