"""Small queries over synthesized CloudFormation templates."""

from __future__ import annotations

import json
from typing import Any


def resources_of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def only_resource(template: dict, resource_type: str) -> tuple[str, dict]:
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def by_path(template: dict, path_suffix: str) -> tuple[str, dict]:
    """The resource whose construct path (aws:cdk:path) ends with `path_suffix`."""
    matches = [
        (lid, r)
        for lid, r in template["Resources"].items()
        if r.get("Metadata", {}).get("aws:cdk:path", "").endswith(path_suffix)
    ]
    assert len(matches) == 1, f"expected one resource at *{path_suffix}, found {[m[0] for m in matches]}"
    return matches[0]


def tags(resource: dict) -> dict[str, Any]:
    return {tag["Key"]: tag["Value"] for tag in resource["Properties"].get("Tags", [])}


def refs_in(value: Any) -> set[str]:
    """Every logical id a value points at through Ref or Fn::GetAtt."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for inner in value.values():
            found |= refs_in(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= refs_in(inner)
    return found


def render(value: Any) -> str:
    """A CloudFormation string value as text, each intrinsic written as a `${...}` marker saying what it refers to:
    ${Ref:LogicalId}, ${LogicalId.Attribute} or ${Output:OutputName} (a cross-stack Fn::GetStackOutput)."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return f"${{Ref:{value['Ref']}}}"
    if "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if "Fn::GetStackOutput" in value:
        return f"${{Output:{value['Fn::GetStackOutput']['OutputName']}}}"
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(render(part) for part in parts)
    raise AssertionError(f"unexpected intrinsic {value!r}")


def kubernetes_manifests(template: dict) -> list[tuple[str, dict]]:
    """(logical id, object) of every Kubernetes object the stack applies through CDK's kubectl handler."""
    found = []
    for logical_id, resource in resources_of_type(template, "Custom::AWSCDK-EKS-KubernetesResource").items():
        for manifest in json.loads(render(resource["Properties"]["Manifest"])):
            found.append((logical_id, manifest))
    return found


def manifest_of_kind(template: dict, kind: str, name: str) -> tuple[str, dict]:
    matches = [
        (lid, m) for lid, m in kubernetes_manifests(template) if m["kind"] == kind and m["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"{len(matches)} {kind} named {name}"
    return matches[0]


def helm_release(template: dict, release: str) -> tuple[str, dict, dict]:
    """(logical id, properties, values) of the Helm release named `release`."""
    for logical_id, resource in resources_of_type(template, "Custom::AWSCDK-EKS-HelmChart").items():
        properties = resource["Properties"]
        if properties["Release"] == release:
            values = json.loads(render(properties["Values"])) if "Values" in properties else {}
            return logical_id, properties, values
    raise AssertionError(f"no Helm release {release}")


def depends_on(template: dict, logical_id: str) -> set[str]:
    value = template["Resources"][logical_id].get("DependsOn", [])
    return set([value] if isinstance(value, str) else value)


def pod_identity_associations(template: dict) -> dict[str, tuple[str, str]]:
    """Logical id -> (namespace, service account) of every AWS::EKS::PodIdentityAssociation in the template.

    EKS add-ons (AWS::EKS::Addon PodIdentityAssociations, e.g. the EBS and EFS CSI drivers) are not here on purpose:
    the add-on itself creates both the service account and its association, so there is nothing to cross-check.
    """
    return {
        lid: (r["Properties"]["Namespace"], r["Properties"]["ServiceAccount"])
        for lid, r in resources_of_type(template, "AWS::EKS::PodIdentityAssociation").items()
    }
