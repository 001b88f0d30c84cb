"""Composes the app's stacks from one validated config."""

from __future__ import annotations

import aws_cdk as cdk

from config.settings import AppConfig
from stacks.cluster_stack import ClusterStack
from stacks.compliance import add_compliance_checks
from stacks.data_stack import AirflowDataStack
from stacks.network_stack import NetworkStack


def build_stacks(app: cdk.App, config: AppConfig) -> list[cdk.Stack]:
    network = NetworkStack(app, config=config)
    data = AirflowDataStack(app, config=config, vpc=network.vpc, data_clients=network.data_clients)
    cluster = ClusterStack(app, config=config, vpc=network.vpc, data_clients=network.data_clients)
    for key, value in {"project": "airflow-on-eks", "env": config.env_name, "managed-by": "aws-cdk"}.items():
        cdk.Tags.of(app).add(key, value)
    add_compliance_checks(app)
    return [network, data, cluster]
