"""versions.yaml, requirements.txt, package.json and cdk.json agree with each other."""

from __future__ import annotations

import json
import re

import yaml

from tests.synth import REPO_ROOT

VERSIONS = yaml.safe_load((REPO_ROOT / "versions.yaml").read_text())


def _requirement_pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            package, _, version = line.partition("==")
            assert version, f"{name}: {line!r} is not pinned exactly"
            pins[package.lower()] = version
    return pins


def test_python_dependencies_are_exact_pins() -> None:
    runtime = _requirement_pins("requirements.txt")
    _requirement_pins("requirements-dev.txt")
    assert runtime["aws-cdk-lib"] == VERSIONS["aws_cdk_lib"]
    assert runtime["constructs"].startswith("10.")


def test_kubectl_layer_matches_the_newest_supported_kubernetes_minor() -> None:
    runtime = _requirement_pins("requirements.txt")
    newest = max(VERSIONS["kubernetes"]["supported"], key=lambda v: tuple(map(int, v.split("."))))
    assert f"aws-cdk.lambda-layer-kubectl-v{newest.split('.')[1]}" in runtime


def test_cdk_cli_and_node_are_pinned() -> None:
    package = json.loads((REPO_ROOT / "package.json").read_text())
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())
    assert package["devDependencies"]["aws-cdk"] == VERSIONS["cdk_cli"]
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == VERSIONS["cdk_cli"]
    assert re.fullmatch(r"2\.1148\.\d+", VERSIONS["cdk_cli"])
    assert re.fullmatch(r"2[24]\.\d+\.\d+", package["devDependencies"]["node"])


def test_cdk_json_carries_the_recommended_feature_flags() -> None:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    assert context["@aws-cdk/aws-eks:useNativeOidcProvider"] is True
    assert context["@aws-cdk/aws-eks:defaultToAL2023"] is True
    assert context["@aws-cdk/core:validateAgainstDefaultRules"] is True
    assert context["cli-telemetry"] is False


def test_airflow_requirements_pin_the_deployed_airflow_and_every_package_exactly() -> None:
    """requirements-airflow.txt (the DAG tests' .venv-airflow) resolves nothing at install time: every line is
    `name==version`, optionally with an environment marker, and Airflow is the version the deployment runs."""
    exact_pin = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+( ; .+)?")
    pins: dict[str, list[str]] = {}
    for line in (REPO_ROOT / "requirements-airflow.txt").read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            assert exact_pin.fullmatch(requirement), f"requirements-airflow.txt: {line!r} is not an exact pin"
            name, _, version = requirement.split(" ; ", 1)[0].partition("==")
            pins.setdefault(name.lower(), []).append(version)
    assert pins["apache-airflow"] == [VERSIONS["airflow"]["version"]]
    assert pins["apache-airflow-core"] == [VERSIONS["airflow"]["version"]]
    assert len(pins) > 100, "the file pins only the top-level packages, not every transitive one"
