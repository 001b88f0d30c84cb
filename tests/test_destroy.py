"""A leak-free `cdk destroy`: everything a controller creates outside CloudFormation is deleted while that controller
still runs, is tagged so a leftover can be found, and every log group a service writes is CloudFormation's.

The inventory (tests/destroy_inventory.yaml) says who creates what, what deletes it and where that was checked;
these tests hold the synthesized templates to it. CloudFormation deletes a resource only after everything that
depends on it (DependsOn, Ref, Fn::GetAtt) is gone, and a stack only after the stacks that depend on it, so
"deleted while the controller runs" is a dependency path from the object's creator to the controller's installer.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from constructs.shared.tags import ownership_tags
from tests.releases import render_release
from tests.support import transitive_dependencies
from tests.template_queries import helm_release, kubernetes_manifests, resources_of_type

if TYPE_CHECKING:
    from tests.synth import Synthesized

INVENTORY = yaml.safe_load((Path(__file__).parent / "destroy_inventory.yaml").read_text())
# A claim's controller is its storage class's provisioner.
PROVISIONERS = {"ebs.csi.aws.com": "aws-ebs-csi-driver", "efs.csi.aws.com": "aws-efs-csi-driver"}
# What a chart could render that a controller would turn into AWS resources.
ACTED_KINDS_IN_CHARTS = {"Ingress", "TargetGroupBinding", "PersistentVolumeClaim"}


def _group_kind(obj: dict) -> str:
    return f"{obj['apiVersion'].rpartition('/')[0]}/{obj['kind']}"


def _acted_on(obj: dict) -> bool:
    if obj["kind"] == "Service":
        return (obj.get("spec") or {}).get("type") == "LoadBalancer"
    return _group_kind(obj) in INVENTORY["kinds"]


def _component(synthesized: Synthesized, stack_name: str) -> str:
    return stack_name.removeprefix(synthesized.config.stack_name(""))


def acted_objects(synthesized: Synthesized) -> list[tuple[str, str, dict]]:
    """(stack component, creating logical id, object) of every applied object a controller acts on."""
    return [
        (_component(synthesized, name), logical_id, obj)
        for name, template in synthesized.templates.items()
        for logical_id, obj in kubernetes_manifests(template)
        if _acted_on(obj)
    ]


def _inventory_entry(component: str, obj: dict) -> dict | None:
    for entry in INVENTORY["objects"]:
        named = entry["name"] in ("*", obj["metadata"]["name"])
        if named and (entry["stack"], entry["kind"]) == (component, obj["kind"]):
            return entry
    return None


def stack_dependencies(synthesized: Synthesized) -> dict[str, set[str]]:
    """Stack component -> every component it depends on, transitively (the CLI destroys dependents first)."""
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    direct = {
        _component(synthesized, name): {
            _component(synthesized, d) for d in artifact.get("dependencies", []) if d in synthesized.templates
        }
        for name, artifact in manifest["artifacts"].items()
        if name in synthesized.templates
    }
    closed: dict[str, set[str]] = {}
    for component in direct:
        seen, pending = set(), list(direct[component])
        while pending:
            if (found := pending.pop()) not in seen:
                seen.add(found)
                pending.extend(direct[found])
        closed[component] = seen
    return closed


def controller_resource(cluster_template: dict, controller: str) -> str:
    """The logical id of what installs `controller` in the cluster stack: its Helm release or EKS add-on."""
    owner = INVENTORY["controllers"][controller]["owner"]
    if "helm_release" in owner:
        return helm_release(cluster_template, owner["helm_release"])[0]
    (addon,) = [
        lid
        for lid, r in resources_of_type(cluster_template, "AWS::EKS::Addon").items()
        if r["Properties"]["AddonName"] == owner["addon"]
    ]
    return addon


def _storage_classes(synthesized: Synthesized) -> dict[str, dict]:
    return {
        obj["metadata"]["name"]: obj
        for template in synthesized.templates.values()
        for _, obj in kubernetes_manifests(template)
        if obj["kind"] == "StorageClass"
    }


def _controller_of(synthesized: Synthesized, obj: dict) -> str:
    if obj["kind"] == "PersistentVolumeClaim":
        return PROVISIONERS[_storage_classes(synthesized)[obj["spec"]["storageClassName"]]["provisioner"]]
    return INVENTORY["kinds"][_group_kind(obj)]


def _installer(synthesized: Synthesized, templates: dict[str, dict], controller: str) -> tuple[str, str]:
    """The stack component and logical id of what installs `controller` (the cluster or the Karpenter stack)."""
    found = []
    for stack_name, template in templates.items():
        try:
            found.append((_component(synthesized, stack_name), controller_resource(template, controller)))
        except (AssertionError, ValueError):
            continue
    assert len(found) == 1, f"{controller} is installed by {found}"
    return found[0]


def ordering_problems(synthesized: Synthesized, templates: dict[str, dict]) -> list[str]:
    """Objects whose creator CloudFormation could delete after (or while) it deletes their controller."""
    depends = stack_dependencies(synthesized)
    problems = []
    for component, logical_id, obj in acted_objects(synthesized):
        controller = _controller_of(synthesized, obj)
        installer_stack, installer = _installer(synthesized, templates, controller)
        what = f"{component}/{logical_id} ({obj['kind']} {obj['metadata']['name']})"
        if component == installer_stack:
            stack_name = synthesized.config.stack_name(component)
            if installer not in transitive_dependencies(templates[stack_name], logical_id):
                problems.append(f"{what} does not depend on {controller} ({installer})")
        elif installer_stack not in depends[component]:
            problems.append(
                f"{what}: its stack does not depend on the {installer_stack} stack, where {controller} runs"
            )
    return problems


# ---- the inventory covers every object a controller acts on ----


def test_every_object_a_controller_acts_on_is_in_the_inventory(synthesized: Synthesized) -> None:
    found = acted_objects(synthesized)
    unlisted = [
        f"{component}: {obj['kind']} {obj['metadata']['name']}"
        for component, _, obj in found
        if _inventory_entry(component, obj) is None
    ]
    assert unlisted == [], "add these to tests/destroy_inventory.yaml (objects), saying what they create"
    used = {id(_inventory_entry(component, obj)) for component, _, obj in found}
    assert [e for e in INVENTORY["objects"] if id(e) not in used] == []
    pools = synthesized.config.cluster.karpenter
    kinds = [obj["kind"] for _, _, obj in found]
    assert kinds.count("NodePool") == len(pools.node_pools) and kinds.count("EC2NodeClass") == len(pools.node_classes)
    assert kinds.count("Ingress") == 1


def test_each_listed_controller_is_the_one_that_acts(synthesized: Synthesized) -> None:
    for component, _, obj in acted_objects(synthesized):
        entry = _inventory_entry(component, obj)
        assert entry is not None and entry["controller"] == _controller_of(synthesized, obj), obj["metadata"]["name"]


def test_every_helm_release_is_in_the_inventory(synthesized: Synthesized, dev_alternatives: Synthesized) -> None:
    for synth in (synthesized, dev_alternatives):
        for template in synth.templates.values():
            for resource in resources_of_type(template, "Custom::AWSCDK-EKS-HelmChart").values():
                assert resource["Properties"]["Release"] in INVENTORY["releases"], resource["Properties"]["Release"]


# ---- deleted while the controller runs ----


def test_each_object_is_deleted_while_its_controller_still_runs(synthesized: Synthesized) -> None:
    assert ordering_problems(synthesized, synthesized.templates) == []


def test_a_missing_edge_is_reported(dev: Synthesized) -> None:
    """Drop the node classes' DependsOn (on the Karpenter chart): CloudFormation could then uninstall Karpenter
    while it still has nodes and launch templates to delete, and the check must say so."""
    templates = copy.deepcopy(dev.templates)
    karpenter_stack = templates[dev.config.stack_name("karpenter")]
    for logical_id, obj in kubernetes_manifests(karpenter_stack):
        if obj["kind"] in ("EC2NodeClass", "NodePool"):
            karpenter_stack["Resources"][logical_id].pop("DependsOn")
    problems = ordering_problems(dev, templates)
    karpenter = dev.config.cluster.karpenter
    assert len(problems) == len(karpenter.node_classes) + len(karpenter.node_pools)
    assert all("does not depend on karpenter" in p for p in problems)


def test_the_kubectl_handler_reaches_the_api_server_until_its_last_delete(synthesized: Synthesized) -> None:
    """The handler logs a failed delete and reports success, so a lost path to the API server would leak silently:
    every manifest and chart of the cluster stack is deleted before the security-group rules that let the handler
    reach the private endpoint, and before the access entry that lets it act."""
    template = synthesized.template("cluster")
    resources = template["Resources"]
    handler_rules = {
        lid
        for lid, r in resources_of_type(template, "AWS::EC2::SecurityGroupIngress").items()
        if "KubectlHandlerSecurityGroup" in r["Metadata"]["aws:cdk:path"]
    }
    access = {
        lid
        for lid, r in resources.items()
        if r["Metadata"]["aws:cdk:path"].endswith("/Cluster/ClusterAdminRoleAccess/Resource")
    }
    assert len(handler_rules) == 2 and len(access) == 1
    kubernetes = [lid for lid, r in resources.items() if r["Type"].startswith("Custom::AWSCDK-EKS-")]
    assert kubernetes
    for logical_id in kubernetes:
        assert handler_rules | access <= transitive_dependencies(template, logical_id), logical_id
    # Every other stack with manifests or charts (Karpenter's too) depends on the cluster stack: destroyed first.
    depends_on = stack_dependencies(synthesized)
    for stack_name, other in synthesized.templates.items():
        component = _component(synthesized, stack_name)
        if component != "cluster" and any(
            r["Type"].startswith("Custom::AWSCDK-EKS-") for r in other["Resources"].values()
        ):
            assert "cluster" in depends_on[component], component


def test_the_dag_claim_creates_nothing_in_efs(synthesized: Synthesized) -> None:
    """The EFS class has no parameters (no provisioningMode: no access points), and the claim binds its own static
    volume, which keeps the files when it goes (Retain)."""
    efs_classes = [c for c in _storage_classes(synthesized).values() if c["provisioner"] == "efs.csi.aws.com"]
    assert [c.get("parameters") for c in efs_classes] == [None]
    manifests = [obj for t in synthesized.templates.values() for _, obj in kubernetes_manifests(t)]
    for claim in (o for o in manifests if o["kind"] == "PersistentVolumeClaim"):
        volume_name = claim["spec"]["volumeName"]
        (volume,) = [o for o in manifests if o["kind"] == "PersistentVolume" and o["metadata"]["name"] == volume_name]
        assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
        assert volume["spec"]["claimRef"]["name"] == claim["metadata"]["name"]


# ---- what controllers create carries the env's tags ----


def test_controllers_and_drivers_tag_what_they_create(synthesized: Synthesized) -> None:
    config = synthesized.config
    tags = ownership_tags(config.project, config.env_name)
    cluster = synthesized.platform()
    assert helm_release(cluster, "aws-load-balancer-controller")[2]["defaultTags"] == tags
    node_classes = [obj for _, obj in kubernetes_manifests(cluster) if obj["kind"] == "EC2NodeClass"]
    assert node_classes and all(obj["spec"]["tags"] == tags for obj in node_classes)
    ebs = controller_resource(cluster, "aws-ebs-csi-driver")
    configuration = json.loads(cluster["Resources"][ebs]["Properties"]["ConfigurationValues"])
    assert configuration["controller"]["extraVolumeTags"] == tags
    for _, _, obj in acted_objects(synthesized):
        if obj["kind"] == "Ingress":
            annotation = obj["metadata"]["annotations"]["alb.ingress.kubernetes.io/tags"]
            annotated = dict(pair.split("=", 1) for pair in annotation.split(","))
            assert tags.items() <= annotated.items()


# ---- charts make nothing a controller acts on ----


def _made_by_chart(objects: list[dict]) -> list[str]:
    found = []
    for obj in objects:
        claims = (obj.get("spec") or {}).get("volumeClaimTemplates") if obj["kind"] == "StatefulSet" else None
        if obj["kind"] in ACTED_KINDS_IN_CHARTS or claims or _acted_on(obj):
            found.append(f"{obj['kind']} {obj['metadata']['name']}")
    return found


def test_rendered_releases_make_nothing_a_controller_acts_on(
    synthesized: Synthesized, helm: Path, charts_dir: Path
) -> None:
    rendered = []
    for stack_name, template in synthesized.templates.items():
        for resource in resources_of_type(template, "Custom::AWSCDK-EKS-HelmChart").values():
            name = resource["Properties"]["Release"]
            if INVENTORY["releases"][name]["checked_by"] == "render":
                release = render_release(synthesized, _component(synthesized, stack_name), name, helm, charts_dir)
                assert _made_by_chart(release.objects) == [], name
                rendered.append(name)
    assert len(rendered) >= 6


def _effective(values: dict, defaults: dict, path: str) -> Any:
    for source in (values, defaults):
        node: Any = source
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None or source is defaults:
            return node
    return None


def test_the_airflow_chart_makes_nothing_a_controller_acts_on(synthesized: Synthesized, schemas_dir: Path) -> None:
    _, properties, values = helm_release(synthesized.template("airflow"), "airflow")
    defaults = yaml.safe_load((schemas_dir / "airflow-chart" / properties["Version"] / "values.yaml").read_text())
    expected = INVENTORY["releases"]["airflow"]["values"]
    assert {path: _effective(values, defaults, path) for path in expected} == expected


# ---- log groups: CloudFormation's, and outliving their writers ----


def test_every_lambda_function_logs_to_a_group_it_outlives(synthesized: Synthesized) -> None:
    """Lambda would otherwise create /aws/lambda/<function> itself (never expiring, outside CloudFormation), and
    again if the group were deleted before the function's last run (the kubectl handler runs through the destroy)."""
    checked = 0
    for stack_name, template in synthesized.templates.items():
        groups = resources_of_type(template, "AWS::Logs::LogGroup")
        for logical_id, function in resources_of_type(template, "AWS::Lambda::Function").items():
            target = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
            # A Ref: the function depends on the group, so CloudFormation deletes the group after the function.
            assert isinstance(target, dict) and target.get("Ref") in groups, f"{stack_name} {logical_id}"
            checked += 1
    assert checked >= 5


def _group_named(template: dict, name: str) -> str:
    groups = resources_of_type(template, "AWS::Logs::LogGroup")
    (found,) = [lid for lid, r in groups.items() if r["Properties"].get("LogGroupName") == name]
    return found


def test_service_log_groups_are_created_before_and_deleted_after_their_writers(synthesized: Synthesized) -> None:
    cluster_name = synthesized.config.cluster_name
    cluster = synthesized.template("cluster")
    (eks_id,) = resources_of_type(cluster, "AWS::EKS::Cluster")
    assert _group_named(cluster, f"/aws/eks/{cluster_name}/cluster") in transitive_dependencies(cluster, eks_id)
    data = synthesized.template("data")
    ((db_id, db),) = resources_of_type(data, "AWS::RDS::DBInstance").items()
    for export in db["Properties"]["EnableCloudwatchLogsExports"]:
        name = f"/aws/rds/instance/{db['Properties']['DBInstanceIdentifier']}/{export}"
        assert _group_named(data, name) in transitive_dependencies(data, db_id), export
    observability = synthesized.template("observability")
    fluent_bit = helm_release(observability, "aws-for-fluent-bit")[0]
    for group in ("containers", "nodes"):
        assert _group_named(observability, f"/aws/eks/{cluster_name}/{group}") in transitive_dependencies(
            observability, fluent_bit
        )
    network = synthesized.template("network")
    for flow_log in resources_of_type(network, "AWS::EC2::FlowLog").values():
        assert flow_log["Properties"]["LogGroupName"]["Ref"] in resources_of_type(network, "AWS::Logs::LogGroup")


# ---- what `cdk destroy` keeps ----

# prod (removal_policy snapshot): what `cdk destroy` leaves, per stack. README "Tearing down" lists the same.
PROD_KEEPS = {
    "network": {"AWS::KMS::Key", "AWS::Logs::LogGroup"},
    "data": {
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::RDS::DBInstance",
        "AWS::EFS::FileSystem",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
    },
    "cluster": {"AWS::KMS::Key", "AWS::Logs::LogGroup"},
    "observability": {"AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::APS::Workspace", "AWS::SecretsManager::Secret"},
}


def _kept(template: dict) -> set[str]:
    return {r["Type"] for r in template["Resources"].values() if r.get("DeletionPolicy", "Delete") != "Delete"}


def test_dev_keeps_nothing(dev: Synthesized) -> None:
    assert {name: _kept(t) for name, t in dev.templates.items() if _kept(t)} == {}
    data = dev.template("data")
    ((_, db),) = resources_of_type(data, "AWS::RDS::DBInstance").items()
    assert db["Properties"]["DeletionProtection"] is False


def test_prod_keeps_its_data(prod: Synthesized) -> None:
    kept = {_component(prod, name): _kept(t) for name, t in prod.templates.items() if _kept(t)}
    assert kept == PROD_KEEPS
    ((_, db),) = resources_of_type(prod.template("data"), "AWS::RDS::DBInstance").items()
    # A final snapshot, and a destroy that stops at the instance until its protection is turned off on purpose.
    assert db["DeletionPolicy"] == "Snapshot" and db["Properties"]["DeletionProtection"] is True


@pytest.mark.parametrize("controller", sorted(INVENTORY["controllers"]))
def test_each_controller_claim_names_its_source(controller: str) -> None:
    entry = INVENTORY["controllers"][controller]
    assert {"owner", "creates", "deleted_by", "tags", "source"} <= set(entry)
