"""Changing a version changes only what it should: nothing added, removed or replaced that the table does not say.

One variant moves every deployed version at once (each key of versions.yaml, and the env's Kubernetes minor, to a
neighbouring value: the direction does not matter to a template) beside a baseline of the same config; both are
synthesized without the compliance checks, which validate templates and never change them (about 1.5 s each
instead of 12). The config is prod with the two parts it leaves off that read a version (the Cluster Autoscaler,
the Spark History Server), so every version reaches a template.

BUMPS is the expected-change table: for each version, the resources its change reaches and the one property it
changes there, by putting the new version where the old one was (an add-on pin sets AddonVersion). Every other
resource and property must be identical. A property CloudFormation cannot update in place (`createOnlyProperties`
of its resource schemas, as cfn-lint ships them: "Update requires: Replacement" in the docs) may change only where
the table says the resource is replaced; a stateful resource of tests/stateful_resources.yaml is never replaced and
changes only in STATEFUL_IN_PLACE's properties. README "Upgrading" tells what `cdk diff` shows for each.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from config.settings import CONFIG_DIR, VERSIONS_FILE
from tests.config_edits import set_key
from tests.synth import Synthesized, synthesize_with
from tests.template_queries import only_resource

ENV = "prod"
# Off in prod, on here: each deploys an image or chart versions.yaml pins.
FEATURES_THAT_READ_VERSIONS = (
    set_key("cluster.cluster_autoscaler.enabled", True),
    set_key("spark.history_server.enabled", True),
)
KUBERNETES_VERSION = "cluster.kubernetes_version"  # the env's config, not versions.yaml
VERSIONS = yaml.safe_load(VERSIONS_FILE.read_text(encoding="utf-8"))
ENV_CONFIG = yaml.safe_load((CONFIG_DIR / f"{ENV}.yaml").read_text(encoding="utf-8"))
PINNED = yaml.safe_load((Path(__file__).parent / "stateful_resources.yaml").read_text(encoding="utf-8"))

HELM_CHART = "Custom::AWSCDK-EKS-HelmChart"
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
ADDON_DEFAULT = "default"
ADDON_BUILD = "v1.0.0-eksbuild.1"
AMI_LATEST = "al2023@latest"
AMI_RELEASE = "al2023@v20260101"

# What a version change may modify in place on a stateful resource, with its "Update requires" from the
# CloudFormation template reference. No version reaches the other stateful types (KMS keys, log groups, the EFS file
# system, buckets, secrets, the AMP workspace): any change to them fails.
STATEFUL_IN_PLACE = {
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-rds-dbinstance.html
    # EngineVersion: "Update requires: Some interruptions" (RDS restarts the instance on the new minor). A major
    # version would also need AllowMajorVersionUpgrade and a parameter group of the new family, whose Family is
    # create-only: the group would be replaced, so postgres.major is not a versions.yaml edit (README "Upgrading").
    "AWS::RDS::DBInstance": {"EngineVersion"},
}


@dataclass(frozen=True, kw_only=True)
class Change:
    """Where moving a version shows: in `count` resources of `resource_type` in the `component` stack whose
    `prop` names the old version (for an add-on pin: the add-on named `addon`), and only in `prop`."""

    component: str
    resource_type: str
    prop: str
    count: int = 1
    addon: str | None = None
    # CloudFormation replaces these resources: `prop` is create-only.
    replaced: bool = False


@dataclass(frozen=True, kw_only=True)
class Bump:
    """Keys moved together (dotted keys of versions.yaml, or KUBERNETES_VERSION) and every place the move shows."""

    keys: tuple[str, ...]
    changes: tuple[Change, ...]


def _chart(name: str, component: str, *extra: Change) -> Bump:
    return Bump(
        keys=(f"helm_charts.{name}.version",),
        changes=(Change(component=component, resource_type=HELM_CHART, prop="Version"), *extra),
    )


BUMPS: tuple[Bump, ...] = (
    # Control plane and core nodes together: the node group names the cluster's version, so it rolls after it.
    Bump(
        keys=(KUBERNETES_VERSION,),
        changes=(
            Change(component="cluster", resource_type="AWS::EKS::Cluster", prop="Version"),
            Change(component="cluster", resource_type="AWS::EKS::Nodegroup", prop="Version"),
        ),
    ),
    Bump(
        keys=("postgres.full",),
        changes=(Change(component="data", resource_type="AWS::RDS::DBInstance", prop="EngineVersion"),),
    ),
    *(
        Bump(
            keys=(f"eks_addons.{name}",),
            changes=(Change(component="cluster", resource_type="AWS::EKS::Addon", prop="AddonVersion", addon=name),),
        )
        for name in VERSIONS["eks_addons"]
    ),
    # The CRD chart must match the controller (config/settings/versions.py): one move. The controllers' policies
    # do not name the chart version (IAM cannot edit a description: they would be replaced on every upgrade).
    Bump(
        keys=("helm_charts.karpenter_crd.version", "helm_charts.karpenter.version"),
        changes=(Change(component="karpenter", resource_type=HELM_CHART, prop="Version", count=2),),
    ),
    _chart("aws_load_balancer_controller", "cluster"),
    _chart("external_secrets", "cluster"),
    _chart("cluster_autoscaler", "cluster"),
    _chart("airflow", "airflow"),
    _chart("spark_operator", "spark"),
    _chart("aws_for_fluent_bit", "observability"),
    _chart("grafana", "observability"),
    _chart("opencost", "observability"),
    # The chart's airflowVersion, defaultAirflowTag and images: the release's values.
    Bump(
        keys=("airflow.version", "airflow.image_tag"),
        changes=(Change(component="airflow", resource_type=HELM_CHART, prop="Values"),),
    ),
    # The History Server's image and its S3 connector init container (the example DAG's YAML repeats them).
    Bump(
        keys=("spark.version", "spark.image_tag", "spark.hadoop_version", "spark.aws_sdk_bundle_version"),
        changes=(Change(component="spark", resource_type=MANIFEST, prop="Manifest"),),
    ),
    Bump(
        keys=("grafana_plugins.amazon_prometheus",),
        changes=(Change(component="observability", resource_type=HELM_CHART, prop="Values"),),
    ),
    Bump(
        keys=("prometheus.image_tag",),
        changes=(Change(component="observability", resource_type=MANIFEST, prop="Manifest"),),
    ),
    Bump(
        keys=("aws_sigv4_proxy.image_tag",),
        changes=(Change(component="observability", resource_type=HELM_CHART, prop="Values"),),
    ),
    # Both EC2NodeClasses: Karpenter then drifts their nodes to the new AMIs.
    Bump(
        keys=("karpenter_ami_alias",),
        changes=(Change(component="karpenter", resource_type=MANIFEST, prop="Manifest", count=2),),
    ),
)

# Keys of versions.yaml no bump moves, and why: a new key must land in BUMPS or here.
NOT_MOVED = {
    "aws_cdk_lib": "the library that synthesizes, not deployed (tests/test_versions.py keeps it with requirements.txt)",
    "cdk_cli": "the CLI that deploys, not deployed (tests/test_versions.py keeps it with package.json)",
    "kubernetes.supported": f"what env configs may choose; the deployed minor is each env's {KUBERNETES_VERSION}",
    "postgres.major": "a major upgrade is not a versions.yaml edit: STATEFUL_IN_PLACE and README 'Upgrading'",
    "helm_charts.*.repository": "where the chart comes from, not its version",
    "helm_charts.*.chart": "the chart's name, not its version",
    "*.image_repository": "where the image comes from, not its version",
    "spark.architectures": "what the image is built for, checked against the Spark NodePool (tests/test_spark.py)",
}


def _leaves(data: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, f"{prefix}{key}.")
    else:
        yield prefix.removesuffix(".")


def _get(data: dict, key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


def _next_patch(version: str) -> str:
    """1.14.1 -> 1.14.2, v3.13.4 -> v3.13.5: the last number, one up."""
    match = re.fullmatch(r"(.*?)(\d+)", version)
    assert match, f"{version!r} does not end in a number"
    return f"{match[1]}{int(match[2]) + 1}"


def _moved(key: str, old: str, moved: dict[str, str]) -> str:
    """The neighbouring value of `key`; `moved` holds the keys of the same bump moved before it."""
    if key == KUBERNETES_VERSION:
        others = [version for version in VERSIONS["kubernetes"]["supported"] if version != old]
        assert others, "versions.yaml kubernetes.supported needs a second minor for this test to move to"
        return others[-1]
    if key == "postgres.full":
        # One minor down: CloudFormation's schema lists the RDS versions that exist, and the next may not exist yet.
        major, minor = old.split(".")
        return f"{major}.{int(minor) - 1 if int(minor) > 1 else int(minor) + 1}"
    if key.startswith("eks_addons."):
        return ADDON_BUILD if old == ADDON_DEFAULT else ADDON_DEFAULT
    if key == "karpenter_ami_alias":
        return AMI_RELEASE if old == AMI_LATEST else AMI_LATEST
    version_key = key.rsplit(".", 1)[0] + ".version"
    if key.endswith(".image_tag") and version_key in moved:
        # The image of the moved version: the validators require the tag to start with it.
        return old.replace(_get(VERSIONS, version_key), moved[version_key], 1)
    return _next_patch(old)


def _old(key: str) -> str:
    return str(_get(ENV_CONFIG if key == KUBERNETES_VERSION else VERSIONS, key))


def _moves() -> dict[str, tuple[str, str]]:
    """Every moved key -> (old value, new value)."""
    moves: dict[str, tuple[str, str]] = {}
    for bump in BUMPS:
        moved: dict[str, str] = {}
        for key in bump.keys:
            moved[key] = _moved(key, _old(key), moved)
            moves[key] = (_old(key), moved[key])
    return moves


MOVES = _moves()


def _as_version(old: str) -> re.Pattern[str]:
    """`old` where it stands as a whole version, not inside a longer one (17.9 is not in 17.9.1 or 10.17.9.0)."""
    return re.compile(rf"(?<![\w.]){re.escape(old)}(?!\.?\d)")


def _names(value: Any, old: str) -> bool:
    return _as_version(old).search(json.dumps(value)) is not None


def _substitute(value: Any, moves: list[tuple[str, str]]) -> Any:
    """`value` with each old version replaced by its new one (longest first: an image tag before its version)."""
    text = json.dumps(value)
    for old, new in sorted(moves, key=lambda move: -len(move[0])):
        text = _as_version(old).sub(new, text)
    return json.loads(text)


@dataclass(frozen=True)
class Upgrade:
    baseline: Synthesized
    variant: Synthesized

    def stacks(self) -> Iterator[tuple[str, str, dict, dict]]:
        """(component, stack name, baseline template, variant template) of every stack."""
        for stack_name in self.baseline.stack_names:
            component = stack_name.removeprefix(f"{self.baseline.config.name_prefix}-{ENV}-")
            yield component, stack_name, self.baseline.templates[stack_name], self.variant.templates[stack_name]


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory: pytest.TempPathFactory) -> Upgrade:
    version_edits = [set_key(key, new) for key, (_, new) in MOVES.items() if key != KUBERNETES_VERSION]
    kubernetes = set_key(KUBERNETES_VERSION, MOVES[KUBERNETES_VERSION][1])
    return Upgrade(
        baseline=synthesize_with(
            ENV, *FEATURES_THAT_READ_VERSIONS, tmp_path=tmp_path_factory.mktemp("baseline"), compliance_checks=False
        ),
        variant=synthesize_with(
            ENV,
            *FEATURES_THAT_READ_VERSIONS,
            kubernetes,
            version_edits=version_edits,
            tmp_path=tmp_path_factory.mktemp("every-version-moved"),
            compliance_checks=False,
        ),
    )


def _claims(upgrade: Upgrade) -> dict[tuple[str, str], list[tuple[Bump, Change]]]:
    """(stack name, logical id) -> the bumps and changes that reach it, read from the baseline."""
    claims: dict[tuple[str, str], list[tuple[Bump, Change]]] = {}
    stacks = {component: (name, baseline) for component, name, baseline, _ in upgrade.stacks()}
    for bump in BUMPS:
        for change in bump.changes:
            stack_name, template = stacks[change.component]
            olds = [MOVES[key][0] for key in bump.keys]
            reached = [
                logical_id
                for logical_id, resource in template["Resources"].items()
                if resource["Type"] == change.resource_type
                and (
                    resource.get("Properties", {}).get("AddonName") == change.addon
                    if change.addon is not None
                    else any(_names(resource.get("Properties", {}).get(change.prop), old) for old in olds)
                )
            ]
            assert len(reached) == change.count, (
                f"{', '.join(bump.keys)}: expected {change.count} {change.resource_type} in {stack_name} naming "
                f"{' / '.join(olds)} in {change.prop}, found {len(reached)}: {reached}"
            )
            for logical_id in reached:
                claims.setdefault((stack_name, logical_id), []).append((bump, change))
    return claims


def _expected(resource: dict, claims: list[tuple[Bump, Change]]) -> dict:
    expected = copy.deepcopy(resource)
    properties = expected["Properties"]
    for bump, change in claims:
        if change.addon is not None:
            (key,) = bump.keys
            new = MOVES[key][1]
            if new == ADDON_DEFAULT:
                properties.pop(change.prop, None)
            else:
                properties[change.prop] = new
        else:
            properties[change.prop] = _substitute(properties[change.prop], [MOVES[key] for key in bump.keys])
    return expected


def _create_only_changes(region: str, resource_type: str, before: dict, after: dict) -> list[str]:
    """The create-only properties that differ between two property sets: CloudFormation replaces the resource to
    change one."""
    if resource_type.startswith("Custom::"):
        return []  # its handler updates it in place
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region=region, resource_type=resource_type).schema
    changed = []
    for pointer in schema.get("createOnlyProperties", []):
        path = pointer.removeprefix("/properties/").split("/")
        old, new = before, after
        for part in path:
            old = old.get(part) if isinstance(old, dict) else None
            new = new.get(part) if isinstance(new, dict) else None
        if old != new:
            changed.append("/".join(path))
    return changed


def _differing(before: dict, after: dict) -> set[str]:
    """The properties whose values differ between two resources."""
    old, new = before.get("Properties", {}), after.get("Properties", {})
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


def test_every_deployed_version_is_moved() -> None:
    moved = {key for bump in BUMPS for key in bump.keys} - {KUBERNETES_VERSION}
    for key in _leaves(VERSIONS):
        reasons = [reason for pattern, reason in NOT_MOVED.items() if fnmatch.fnmatchcase(key, pattern)]
        assert (key in moved) != bool(reasons), f"versions.yaml {key}: in BUMPS or NOT_MOVED, exactly once"


def test_the_table_changes_stateful_types_only_in_place() -> None:
    stateful_types = {resource_type for stack in PINNED.values() for resource_type in stack}
    for bump in BUMPS:
        for change in bump.changes:
            if change.resource_type in stateful_types:
                assert change.prop in STATEFUL_IN_PLACE.get(change.resource_type, set()), (bump.keys, change)
                assert not change.replaced, (bump.keys, change)


def test_each_version_changes_exactly_the_resources_it_names(upgrade: Upgrade) -> None:
    claims = _claims(upgrade)
    for _, stack_name, baseline, variant in upgrade.stacks():
        assert {key: value for key, value in baseline.items() if key != "Resources"} == {
            key: value for key, value in variant.items() if key != "Resources"
        }, f"{stack_name}: parameters, outputs or conditions changed"
        assert sorted(variant["Resources"]) == sorted(baseline["Resources"]), (
            f"{stack_name}: resources added or removed"
        )
        for logical_id, resource in baseline["Resources"].items():
            reached_by = claims.get((stack_name, logical_id), [])
            expected = _expected(resource, reached_by)
            actual = variant["Resources"][logical_id]
            assert actual == expected, (
                f"{stack_name} {logical_id} ({resource['Type']}) changed beyond "
                f"{[bump.keys for bump, _ in reached_by] or 'no version'}: {_differing(expected, actual)}"
            )
            for bump, change in reached_by:
                assert actual["Properties"].get(change.prop) != resource["Properties"].get(change.prop), (
                    f"{', '.join(bump.keys)} did not change {stack_name} {logical_id} {change.prop}"
                )


def test_only_the_resources_the_table_names_are_replaced(upgrade: Upgrade) -> None:
    claims = _claims(upgrade)
    region = upgrade.baseline.config.region
    replaced, expected = set(), set()
    for _, stack_name, baseline, variant in upgrade.stacks():
        for logical_id, resource in baseline["Resources"].items():
            if any(change.replaced for _, change in claims.get((stack_name, logical_id), [])):
                expected.add((stack_name, logical_id))
            after = variant["Resources"][logical_id]
            if _create_only_changes(
                region, resource["Type"], resource.get("Properties", {}), after.get("Properties", {})
            ):
                replaced.add((stack_name, logical_id))
    assert replaced == expected, (
        f"replaced, not in the table: {sorted(replaced - expected)}; "
        f"in the table, not replaced: {sorted(expected - replaced)}"
    )


def test_stateful_resources_keep_their_ids_and_change_only_in_place(upgrade: Upgrade) -> None:
    for _, stack_name, baseline, variant in upgrade.stacks():
        for resource_type, logical_ids in PINNED[stack_name].items():
            for logical_id in logical_ids:
                before, after = baseline["Resources"][logical_id], variant["Resources"].get(logical_id)
                assert after is not None, f"{stack_name} {logical_id} would be replaced (its logical id is gone)"
                assert {key: value for key, value in after.items() if key != "Properties"} == {
                    key: value for key, value in before.items() if key != "Properties"
                }, f"{stack_name} {logical_id}: type, policies or dependencies changed"
                changed = _differing(before, after)
                assert changed <= STATEFUL_IN_PLACE.get(resource_type, set()), f"{stack_name} {logical_id}: {changed}"
    data_stack = upgrade.variant.config.stack_name("data")
    (database,) = PINNED[data_stack]["AWS::RDS::DBInstance"]
    moved = upgrade.variant.templates[data_stack]["Resources"][database]["Properties"]["EngineVersion"]
    assert moved == MOVES["postgres.full"][1], "the PostgreSQL change reached the metadata DB, in place"


def test_core_nodes_follow_the_cluster_version(synthesized: Synthesized) -> None:
    """EKS gives a node group without Version the cluster's version once, at create; naming it makes a cluster
    upgrade roll the core nodes to the new minor in the same deploy (and after the control plane, which it refs)."""
    template = synthesized.template("cluster")
    _, cluster = only_resource(template, "AWS::EKS::Cluster")
    _, nodes = only_resource(template, "AWS::EKS::Nodegroup")
    assert (
        nodes["Properties"]["Version"]
        == cluster["Properties"]["Version"]
        == synthesized.config.cluster.kubernetes_version
    )
    assert "ReleaseVersion" not in nodes["Properties"], "the newest AMI release of the minor at each version update"
