"""Small queries over synthesized CloudFormation templates."""

from __future__ import annotations

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
