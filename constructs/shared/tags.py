"""Tags that mean something beyond one layer, and the tags every resource of the app carries."""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from constructs import IConstruct

# Karpenter finds the subnets and security groups of its nodes by this tag, valued with the cluster name. The
# network layer sets it; the cluster layer's EC2NodeClasses select by it.
KARPENTER_DISCOVERY_TAG = "karpenter.sh/discovery"
# EKS tags the cluster security group it creates with the cluster's name.
EKS_CLUSTER_NAME_TAG = "aws:eks:cluster-name"


# The cost-allocation tags (activate them in the Billing console to split the bill by them): the project and env of
# every resource, and the component, which is the stack it belongs to (network, data, cluster, ...).
COST_ALLOCATION_TAG_KEYS = ("project", "env", "component")


def ownership_tags(project: str, env_name: str) -> dict[str, str]:
    """Which project and env a resource belongs to; also put on what controllers create outside CloudFormation."""
    return {"project": project, "env": env_name}


def tag_every_resource(scope: IConstruct, *, project: str, env_name: str) -> None:
    """Who owns a resource, in which env, and that CDK manages it (so nobody edits it by hand)."""
    for key, value in {**ownership_tags(project, env_name), "managed-by": "aws-cdk"}.items():
        cdk.Tags.of(scope).add(key, value)


def tag_component(stack: IConstruct, *, project: str, env_name: str, component: str) -> None:
    """The `component` cost-allocation tag on every resource of `stack`, and all the app's tags on the plain
    resources `cdk.Tags` cannot reach."""
    cdk.Tags.of(stack).add("component", component)
    tags = {**ownership_tags(project, env_name), "managed-by": "aws-cdk", "component": component}
    cdk.Aspects.of(stack).add(_PlainResourceTags(tags))


# CDK's own singleton handlers (custom-resource providers, the kubectl handler's ready barrier) are plain
# CfnResources, which `cdk.Tags` skips; these types do take tags, so they get them as a property.
_TAG_LIST_TYPES = {"AWS::IAM::Role", "AWS::Lambda::Function"}
_TAG_MAP_TYPES = {"AWS::SSM::Parameter"}


@jsii.implements(cdk.IAspect)
class _PlainResourceTags:
    def __init__(self, tags: dict[str, str]) -> None:
        self._tags = dict(sorted(tags.items()))  # sorted by key, as CDK writes tags

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, cdk.CfnResource) or cdk.TagManager.is_taggable(node):
            return
        if node.cfn_resource_type in _TAG_LIST_TYPES:
            node.add_property_override("Tags", [{"Key": k, "Value": v} for k, v in self._tags.items()])
        elif node.cfn_resource_type in _TAG_MAP_TYPES:
            node.add_property_override("Tags", self._tags)
