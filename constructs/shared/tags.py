"""Tags that mean something beyond one layer, and the tags every resource of the app carries."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

# Karpenter finds the subnets and security groups of its nodes by this tag, valued with the cluster name. The
# network layer sets it; the cluster layer's EC2NodeClasses select by it.
KARPENTER_DISCOVERY_TAG = "karpenter.sh/discovery"
# EKS tags the cluster security group it creates with the cluster's name.
EKS_CLUSTER_NAME_TAG = "aws:eks:cluster-name"


def ownership_tags(env_name: str) -> dict[str, str]:
    """Which project and env a resource belongs to; also put on what controllers create outside CloudFormation."""
    return {"project": "airflow-on-eks", "env": env_name}


def tag_every_resource(scope: IConstruct, *, env_name: str) -> None:
    """Who owns a resource, in which env, and that CDK manages it (so nobody edits it by hand)."""
    for key, value in {**ownership_tags(env_name), "managed-by": "aws-cdk"}.items():
        cdk.Tags.of(scope).add(key, value)
