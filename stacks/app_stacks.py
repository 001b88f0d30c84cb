"""Composes the app's stacks from one validated config, passing each stack the typed handles of those below it."""

from __future__ import annotations

import aws_cdk as cdk

from config.settings import AppConfig
from constructs.shared.tags import tag_every_resource
from stacks.airflow_stack import AirflowStack
from stacks.cluster_stack import ClusterStack
from stacks.compliance import add_compliance_checks
from stacks.data_stack import AirflowDataStack
from stacks.karpenter_stack import KarpenterStack
from stacks.network_stack import NetworkStack
from stacks.observability_stack import ObservabilityStack
from stacks.spark_stack import SparkStack


def build_stacks(app: cdk.App, config: AppConfig, *, compliance_checks: bool = True) -> list[cdk.Stack]:
    """network -> (data, cluster in parallel) -> (airflow, karpenter, spark, observability in parallel; all but
    karpenter also wait for data). Every cross-stack edge is a handle passed here and nowhere else. Only tests that
    compare templates turn `compliance_checks` off: the checks validate a template and never change it."""
    network = NetworkStack(app, config=config)
    data = AirflowDataStack(app, config=config, network=network.handle)
    cluster = ClusterStack(app, config=config, network=network.handle)
    airflow = AirflowStack(app, config=config, cluster=cluster.handle, data=data.handle)
    karpenter = KarpenterStack(app, config=config, cluster=cluster.handle)
    stacks: list[cdk.Stack] = [network, data, cluster, airflow, karpenter]
    if config.features.spark_operator:
        stacks.append(SparkStack(app, config=config, cluster=cluster.handle, data=data.handle))
    if config.features.observability:
        stacks.append(ObservabilityStack(app, config=config, cluster=cluster.handle, data=data.handle))
    tag_every_resource(app, project=config.project, env_name=config.env_name)
    if compliance_checks:
        add_compliance_checks(app)
    return stacks
