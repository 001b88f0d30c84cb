"""Every Kubernetes object and Helm value the cluster stack emits, validated as the API server and Helm would."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from constructs.cluster.eks_cluster import CORE_NODE_LABELS
from constructs.cluster.load_balancer_controller import SERVICE_ACCOUNT
from tests.support import (
    StandIns,
    core_validation_error,
    crd_errors,
    crd_schemas,
    crds_in,
    resolve_markers,
    unknown_keys,
)
from tests.synth import Synthesized
from tests.template_queries import by_path, depends_on, helm_release, kubernetes_manifests, only_resource

KARPENTER_KINDS = {("karpenter.k8s.aws/v1", "EC2NodeClass"), ("karpenter.sh/v1", "NodePool")}


def _deployable_manifests(synthesized: Synthesized) -> list[tuple[str, dict]]:
    """The cluster stack's manifests with deploy-time values replaced by realistic stand-ins."""
    template = synthesized.platform()
    stand_ins = StandIns(synthesized.templates, template, synthesized.config.cluster_name)
    return [(lid, resolve_markers(manifest, stand_ins)) for lid, manifest in kubernetes_manifests(template)]


def test_karpenter_objects_validate_against_upstream_crds(synthesized: Synthesized, schemas_dir: Path) -> None:
    version = synthesized.config.versions.helm_charts.karpenter.version
    folder = schemas_dir / "karpenter" / version
    assert folder.is_dir(), f"the pinned Karpenter {version} has no CRDs in {schemas_dir}"
    schemas = crd_schemas(crds_in(folder))
    assert KARPENTER_KINDS <= set(schemas)
    checked = 0
    for logical_id, manifest in _deployable_manifests(synthesized):
        if (manifest["apiVersion"], manifest["kind"]) not in KARPENTER_KINDS:
            continue
        errors = crd_errors(manifest, schemas[(manifest["apiVersion"], manifest["kind"])])
        assert not errors, f"{logical_id}: " + "; ".join(errors)
        checked += 1
    karpenter = synthesized.config.cluster.karpenter
    assert checked == len(karpenter.node_classes) + len(karpenter.node_pools)


def test_core_objects_validate_for_the_cluster_version(synthesized: Synthesized) -> None:
    kubernetes_version = f"{synthesized.config.cluster.kubernetes_version}.0"
    checked = 0
    for logical_id, manifest in _deployable_manifests(synthesized):
        if (manifest["apiVersion"], manifest["kind"]) in KARPENTER_KINDS:
            continue
        error = core_validation_error(manifest, kubernetes_version)
        if error is not None:
            pytest.fail(f"{logical_id} {manifest['kind']}: {error}")
        checked += 1
    assert checked >= 1  # the gp3 StorageClass


def test_gp3_is_the_encrypted_default_storage_class(synthesized: Synthesized) -> None:
    (storage_class,) = [m for _, m in kubernetes_manifests(synthesized.platform()) if m["kind"] == "StorageClass"]
    assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert storage_class["provisioner"] == "ebs.csi.aws.com"
    assert storage_class["parameters"]["type"] == "gp3"
    assert storage_class["parameters"]["encrypted"] == "true"
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"


# ---- AWS Load Balancer Controller ----


def test_load_balancer_controller_chart(synthesized: Synthesized, schemas_dir: Path) -> None:
    template = synthesized.platform()
    chart = synthesized.config.versions.helm_charts.aws_load_balancer_controller
    chart_id, props, values = helm_release(template, SERVICE_ACCOUNT)
    assert (props["Repository"], props["Chart"], props["Version"]) == (chart.repository, chart.chart, chart.version)
    assert props["Namespace"] == "kube-system"
    assert props["Wait"] is True
    cluster_id, _ = only_resource(template, "AWS::EKS::Cluster")
    assert values["clusterName"] == f"${{Ref:{cluster_id}}}"
    assert values["region"] == synthesized.config.region
    assert values["vpcId"].startswith("${Output:")
    assert values["serviceAccount"] == {"create": True, "name": SERVICE_ACCOUNT}
    # helm_values/ holds the selector as data; it must stay the core node group's labels (never a Karpenter pool).
    assert values["nodeSelector"] == CORE_NODE_LABELS

    folder = schemas_dir / "aws-load-balancer-controller" / chart.version
    assert folder.is_dir(), f"the pinned chart {chart.version} has no defaults in {schemas_dir}"
    assert yaml.safe_load((folder / "Chart.yaml").read_text())["version"] == chart.version
    defaults = yaml.safe_load((folder / "values.yaml").read_text())
    assert unknown_keys(values, defaults) == []


def test_load_balancer_controller_uses_pod_identity_and_waits_for_nodes(synthesized: Synthesized) -> None:
    template = synthesized.platform()
    chart_id, _, _ = helm_release(template, SERVICE_ACCOUNT)
    association_id, association = by_path(template, "/LoadBalancerController/Identity/Association")
    assert association["Properties"]["Namespace"] == "kube-system"
    assert association["Properties"]["ServiceAccount"] == SERVICE_ACCOUNT
    nodegroup_id, _ = only_resource(template, "AWS::EKS::Nodegroup")
    assert {association_id, nodegroup_id} <= depends_on(template, chart_id)
    _, policy = by_path(template, "/LoadBalancerController/Policy/Resource")
    actions = {a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert {"elasticloadbalancing:CreateLoadBalancer", "ec2:AuthorizeSecurityGroupIngress"} <= actions
