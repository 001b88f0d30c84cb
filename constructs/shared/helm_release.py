"""A Helm release of a chart pinned in versions.yaml, installed by CDK's kubectl handler."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from config.settings import HelmChartVersion


def helm_release(
    scope: Construct,
    construct_id: str,
    *,
    cluster: eks.ICluster,
    chart: HelmChartVersion,
    release: str,
    namespace: str,
    values: dict[str, Any] | None = None,
    timeout: cdk.Duration | None = None,
) -> eks.HelmChart:
    """`wait` so CloudFormation moves on only once the release's workloads are ready, and everything that depends
    on the release (NodePools, Ingress-owning charts) finds its CRDs and webhooks serving. `timeout` bounds that
    wait (CDK's default is 5 minutes; its handler refuses more than 15)."""
    return eks.HelmChart(
        scope,
        construct_id,
        cluster=cluster,
        chart=chart.chart,
        repository=chart.repository,
        version=chart.version,
        release=release,
        namespace=namespace,
        wait=True,
        values=values,
        timeout=timeout,
    )
