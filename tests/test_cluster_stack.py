"""The EKS cluster stack: what cdk-nag cannot check on aws_eks_v2 clusters, asserted on the templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from config.settings import load_config
from constructs.cluster.eks_addons import EBS_CSI_DRIVER, with_volume_tags
from constructs.shared.tags import ownership_tags
from tests.config_edits import set_key
from tests.support import node_shapes, tolerates, transitive_dependencies
from tests.synth import Synthesized, synthesize_with
from tests.template_queries import (
    by_path,
    depends_on,
    helm_release,
    kubernetes_manifests,
    only_resource,
    render,
    resources_of_type,
)

CONTROL_PLANE_LOGS = {"api", "audit", "authenticator", "controllerManager", "scheduler"}
ADMIN_ROLE = "arn:aws:iam::111122223333:role/PlatformAdmin"
OFFICE_CIDR = "198.51.100.0/24"


@pytest.fixture(scope="module")
def public_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """dev with a public+private endpoint for one CIDR and one admin role, as a user would configure it."""
    return synthesize_with(
        "dev",
        set_key("cluster.endpoint", {"access": "public_and_private", "public_access_cidrs": [OFFICE_CIDR]}),
        set_key("cluster.admin_role_arns", [ADMIN_ROLE]),
        tmp_path=tmp_path_factory.mktemp("public-endpoint"),
    )


def _cluster(template: dict) -> tuple[str, dict]:
    return only_resource(template, "AWS::EKS::Cluster")


def _core_nodegroup(template: dict) -> tuple[str, dict]:
    return only_resource(template, "AWS::EKS::Nodegroup")


# ---- 1. cluster, core node group, access ----


def test_cluster_version_and_no_auto_mode(synthesized: Synthesized) -> None:
    _, cluster = _cluster(synthesized.template("cluster"))
    props = cluster["Properties"]
    assert props["Version"] == synthesized.config.cluster.kubernetes_version
    assert props["Name"] == synthesized.config.cluster_name
    assert props["ComputeConfig"] == {"Enabled": False}
    assert props["StorageConfig"] == {"BlockStorage": {"Enabled": False}}
    # The managed add-ons own vpc-cni, kube-proxy and coredns; EKS installs no self-managed copies.
    assert props["BootstrapSelfManagedAddons"] is False


def test_kubectl_layer_matches_the_newest_supported_minor(synthesized: Synthesized) -> None:
    _, layer = by_path(synthesized.template("cluster"), "/Eks/KubectlLayer/Resource")
    newest = synthesized.config.versions.kubernetes.supported[-1]
    # kubectl supports one minor of skew, so the newest supported minor's kubectl drives the older one too.
    assert f"kubectl {newest}." in layer["Properties"]["Description"]
    assert "helm 4." in layer["Properties"]["Description"]


def test_endpoint_is_private_by_default(synthesized: Synthesized) -> None:
    _, cluster = _cluster(synthesized.template("cluster"))
    vpc_config = cluster["Properties"]["ResourcesVpcConfig"]
    assert synthesized.config.cluster.endpoint.access == "private"
    assert vpc_config["EndpointPrivateAccess"] is True
    assert vpc_config["EndpointPublicAccess"] is False
    assert "PublicAccessCidrs" not in vpc_config


def test_public_endpoint_admits_only_the_configured_cidrs(public_endpoint: Synthesized) -> None:
    _, cluster = _cluster(public_endpoint.template("cluster"))
    vpc_config = cluster["Properties"]["ResourcesVpcConfig"]
    assert vpc_config["EndpointPrivateAccess"] is True
    assert vpc_config["EndpointPublicAccess"] is True
    assert vpc_config["PublicAccessCidrs"] == [OFFICE_CIDR]


def test_control_plane_logs_enabled_into_an_encrypted_log_group(synthesized: Synthesized) -> None:
    template = synthesized.template("cluster")
    cluster_id, cluster = _cluster(template)
    enabled = {entry["Type"] for entry in cluster["Properties"]["Logging"]["ClusterLogging"]["EnabledTypes"]}
    assert enabled == set(synthesized.config.cluster.control_plane_logs)
    # Who authenticated, always; dev leaves out the audit log (the largest idle stream: every controller's lease
    # renewal) for container logs, metrics and alarms within its budget.
    assert "authenticator" in enabled
    if not synthesized.config.is_development:
        assert enabled == CONTROL_PLANE_LOGS
    log_group_id, log_group = by_path(template, "/Eks/ControlPlaneLogs/LogGroup/Resource")
    assert log_group["Properties"]["LogGroupName"] == f"/aws/eks/{synthesized.config.cluster_name}/cluster"
    assert log_group["Properties"]["RetentionInDays"] == synthesized.config.logging.retention_days
    assert "KmsKeyId" in log_group["Properties"]
    # Created first, so EKS writes into our group instead of creating a never-expiring one.
    assert log_group_id in depends_on(template, cluster_id)


def test_kubernetes_secrets_encrypted_with_a_rotating_key(synthesized: Synthesized) -> None:
    template = synthesized.template("cluster")
    _, cluster = _cluster(template)
    (encryption,) = cluster["Properties"]["EncryptionConfig"]
    assert encryption["Resources"] == ["secrets"]
    key_id = encryption["Provider"]["KeyArn"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True


def test_access_is_by_access_entries_only(synthesized: Synthesized) -> None:
    _, cluster = _cluster(synthesized.template("cluster"))
    assert cluster["Properties"]["AccessConfig"] == {
        "AuthenticationMode": "API",
        "BootstrapClusterCreatorAdminPermissions": False,
    }


def test_configured_admin_roles_get_cluster_admin(public_endpoint: Synthesized) -> None:
    entries = resources_of_type(public_endpoint.template("cluster"), "AWS::EKS::AccessEntry").values()
    admin = [entry["Properties"] for entry in entries if entry["Properties"]["PrincipalArn"] == ADMIN_ROLE]
    assert len(admin) == 1
    (policy,) = admin[0]["AccessPolicies"]
    assert policy["AccessScope"] == {"Type": "cluster"}
    assert render(policy["PolicyArn"]).endswith(":cluster-access-policy/AmazonEKSClusterAdminPolicy")


def test_native_oidc_provider(synthesized: Synthesized) -> None:
    _, provider = only_resource(synthesized.template("cluster"), "AWS::IAM::OIDCProvider")
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]


def test_core_node_group_on_al2023_with_config_sizes(synthesized: Synthesized) -> None:
    core = synthesized.config.cluster.core_nodes
    _, nodegroup = _core_nodegroup(synthesized.template("cluster"))
    props = nodegroup["Properties"]
    expected_ami = {"arm64": "AL2023_ARM_64_STANDARD", "x86_64": "AL2023_x86_64_STANDARD"}[core.architecture]
    assert props["AmiType"] == expected_ami
    assert props["InstanceTypes"] == core.instance_types
    assert props["CapacityType"] == core.capacity_type
    assert props["ScalingConfig"] == {
        "MinSize": core.min_size,
        "DesiredSize": core.desired_size,
        "MaxSize": core.max_size,
    }
    assert props["Labels"] == {"NodeGroupType": "core"}
    assert core.min_size >= 2
    # One subnet per AZ, so the nodes (and the HA controllers on them) spread across AZs.
    assert len(props["Subnets"]) == synthesized.config.network.az_count
    assert "DiskSize" not in props  # the launch template owns the root volume


def test_core_nodes_require_imdsv2_and_encrypted_gp3(synthesized: Synthesized) -> None:
    template = synthesized.template("cluster")
    _, nodegroup = _core_nodegroup(template)
    template_id = nodegroup["Properties"]["LaunchTemplate"]["Id"]["Ref"]
    data = template["Resources"][template_id]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 2
    (root,) = data["BlockDeviceMappings"]
    assert root["DeviceName"] == "/dev/xvda"
    assert root["Ebs"]["VolumeType"] == "gp3"
    assert root["Ebs"]["Encrypted"] is True
    assert root["Ebs"]["VolumeSize"] == synthesized.config.cluster.core_nodes.disk_size_gib
    assert "ImageId" not in data and "UserData" not in data  # EKS picks the AL2023 AMI and bootstraps it


def test_core_nodes_join_the_cluster_and_data_client_groups(synthesized: Synthesized) -> None:
    template = synthesized.template("cluster")
    _, nodegroup = _core_nodegroup(template)
    template_id = nodegroup["Properties"]["LaunchTemplate"]["Id"]["Ref"]
    groups = [
        render(g) for g in template["Resources"][template_id]["Properties"]["LaunchTemplateData"]["SecurityGroupIds"]
    ]
    cluster_id, _ = _cluster(template)
    assert f"${{{cluster_id}.ClusterSecurityGroupId}}" in groups
    assert any(g.startswith("${Output:") and "DataClients" in g for g in groups), groups


def test_kubectl_handler_runs_in_private_subnets(synthesized: Synthesized) -> None:
    """Backs the CT.LAMBDA.PR.3 acknowledgment: the handler is in the VPC, the check just cannot see it."""
    template = synthesized.template("cluster")
    for path in (
        "/Eks/Cluster/KubectlProvider/Handler/Resource",
        "/Eks/Cluster/KubectlProvider/Provider/framework-onEvent/Resource",
    ):
        _, function = by_path(template, path)
        vpc_config = function["Properties"]["VpcConfig"]
        assert len(vpc_config["SubnetIds"]) == synthesized.config.network.az_count
        assert all("private" in render(subnet) for subnet in vpc_config["SubnetIds"])


def test_handler_log_groups_are_encrypted_and_follow_the_env(synthesized: Synthesized) -> None:
    template = synthesized.template("cluster")
    for logical_id, log_group in resources_of_type(template, "AWS::Logs::LogGroup").items():
        props = log_group["Properties"]
        assert "KmsKeyId" in props, logical_id
        assert props["RetentionInDays"] == synthesized.config.logging.retention_days, logical_id
        expected = "Delete" if synthesized.config.removal_policy == "destroy" else "Retain"
        assert log_group["DeletionPolicy"] == expected, logical_id


# ---- 2. managed add-ons ----


def test_controller_charts_install_side_by_side_after_the_nodes_beside_cluster_dns(synthesized: Synthesized) -> None:
    """Each controller waits for the core nodes (which wait for the node daemons) and for no other controller (none
    admits another's objects), nor for CoreDNS: each resolves only AWS endpoints, through the VPC resolver, so a
    fresh cluster installs them while CoreDNS starts and they keep working when it is down."""
    template = synthesized.template("cluster")
    addons = _addons(template)
    nodegroup_id, _ = only_resource(template, "AWS::EKS::Nodegroup")
    node_daemons = {addons[name][0] for name in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")}
    assert node_daemons <= depends_on(template, nodegroup_id)
    releases = ("aws-load-balancer-controller", "external-secrets")
    chart_ids = {release: helm_release(template, release)[0] for release in releases}
    for release, chart_id in chart_ids.items():
        waits_for = depends_on(template, chart_id)
        assert nodegroup_id in waits_for, release
        assert addons["coredns"][0] not in transitive_dependencies(template, chart_id), release
        assert not waits_for & (set(chart_ids.values()) - {chart_id}), release
        assert helm_release(template, release)[2]["dnsPolicy"] == "Default", release
    # Karpenter's chart is the Karpenter stack's, which the CLI deploys once the cluster stack (core nodes, CoreDNS
    # and all) is complete.
    assert helm_release(synthesized.template("karpenter"), "karpenter")[2]["dnsPolicy"] == "Default"


def _addons(template: dict) -> dict[str, tuple[str, dict]]:
    return {
        resource["Properties"]["AddonName"]: (logical_id, resource["Properties"])
        for logical_id, resource in resources_of_type(template, "AWS::EKS::Addon").items()
    }


def test_every_configured_addon_at_its_pinned_version(synthesized: Synthesized) -> None:
    addons = _addons(synthesized.template("cluster"))
    configured = {addon.name for addon in synthesized.config.cluster.addons}
    assert (
        set(addons)
        == configured
        >= {
            "vpc-cni",
            "coredns",
            "kube-proxy",
            "eks-pod-identity-agent",
            "aws-ebs-csi-driver",
            "aws-efs-csi-driver",
            "metrics-server",
        }
    )
    for name, (_, props) in addons.items():
        version = synthesized.config.versions.eks_addons[name]
        assert props.get("AddonVersion", "default") == version, name
        assert props["ResolveConflicts"] == "OVERWRITE"


def test_addon_order_around_the_core_nodes(synthesized: Synthesized) -> None:
    template = synthesized.template("cluster")
    addons = _addons(template)
    nodegroup_id, _ = _core_nodegroup(template)
    for addon in synthesized.config.cluster.addons:
        addon_id, _ = addons[addon.name]
        if addon.after_nodes:
            assert nodegroup_id in depends_on(template, addon_id), addon.name
        else:
            assert addon_id in depends_on(template, nodegroup_id), addon.name
    assert not {"vpc-cni", "kube-proxy", "eks-pod-identity-agent"} & {
        a.name for a in synthesized.config.cluster.addons if a.after_nodes
    }


def test_csi_drivers_have_their_own_pod_identity_roles(synthesized: Synthesized) -> None:
    template = synthesized.template("cluster")
    addons = _addons(template)
    role_ids = set()
    for addon in synthesized.config.cluster.addons:
        if addon.pod_identity is None:
            assert "PodIdentityAssociations" not in addons[addon.name][1]
            continue
        (association,) = addons[addon.name][1]["PodIdentityAssociations"]
        assert association["ServiceAccount"] == addon.pod_identity.service_account
        role_id = association["RoleArn"]["Fn::GetAtt"][0]
        role_ids.add(role_id)
        role = template["Resources"][role_id]["Properties"]
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
        policies = [render(arn).rsplit(":policy/", 1)[1] for arn in role["ManagedPolicyArns"]]
        assert policies == addon.pod_identity.managed_policies
        assert "Policies" not in role
    assert len(role_ids) == 2  # EBS and EFS drivers, one role each


def test_addon_configuration_is_the_config_as_sorted_json(synthesized: Synthesized) -> None:
    """The EBS CSI driver's also carries the app's ownership tags (controller.extraVolumeTags) for its volumes."""
    addons = _addons(synthesized.template("cluster"))
    config = synthesized.config
    for addon in config.cluster.addons:
        _, props = addons[addon.name]
        expected = addon.configuration
        if addon.name == EBS_CSI_DRIVER:
            expected = with_volume_tags(expected or {}, ownership_tags(config.project, config.env_name))
            assert expected["controller"]["extraVolumeTags"] == {"project": config.project, "env": config.env_name}
        if expected is None:
            assert "ConfigurationValues" not in props, addon.name
        else:
            assert props["ConfigurationValues"] == json.dumps(expected, sort_keys=True), addon.name
            assert json.loads(props["ConfigurationValues"]) == expected


def _untolerated_taints(template: dict, tolerations: list[dict]) -> list[str]:
    """The taints of the cluster's nodes (node groups and NodePools, startup taints included) none of `tolerations`
    tolerates."""
    taints = [(shape.name, taint) for shape in node_shapes(template) for taint in shape.taints]
    # Karpenter's startup taints are on its nodes until a daemon removes them: the daemon must tolerate those too.
    taints += [
        (f"NodePool {m['metadata']['name']} (startup)", taint)
        for _, m in kubernetes_manifests(template)
        if m["kind"] == "NodePool"
        for taint in m["spec"]["template"]["spec"].get("startupTaints") or []
    ]
    assert any(name == "NodePool spark-compute-optimized" for name, _ in taints)  # there is a taint to tolerate
    return [f"{name}: {taint}" for name, taint in taints if not any(tolerates(t, taint) for t in tolerations)]


def test_efs_node_daemon_tolerates_the_taints_of_every_node(synthesized: Synthesized) -> None:
    """Airflow task pods and Spark pods mount the DAG file system on Karpenter nodes, tainted ones included: the
    driver's node daemon must run on every node the cluster can have, or their volumes never mount."""
    template = synthesized.platform()
    _, efs = _addons(template)["aws-efs-csi-driver"]
    tolerations = json.loads(efs["ConfigurationValues"])["node"]["tolerations"]
    assert _untolerated_taints(template, tolerations) == []
    # Taints a pool added later may carry are tolerated too: any key, value and effect.
    for effect in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        assert any(tolerates(t, {"key": "any-future-pool", "value": "x", "effect": effect}) for t in tolerations)
    # The check reports a daemon that tolerates only the add-ons' usual taint.
    assert _untolerated_taints(template, [{"key": "CriticalAddonsOnly", "operator": "Exists"}]) == [
        "NodePool spark-compute-optimized: {'key': 'spark-compute-optimized', 'value': 'true', 'effect': 'NoSchedule'}"
    ]


def test_node_roles_carry_only_the_node_policies(synthesized: Synthesized) -> None:
    template = synthesized.template("cluster")
    for path in ("/Eks/CoreNodeRole/Resource", "/Karpenter/NodeRole/Resource"):
        _, role = by_path(template, path)
        policies = sorted(render(arn).rsplit("/", 1)[1] for arn in role["Properties"]["ManagedPolicyArns"])
        assert policies == ["AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"]
        assert "Policies" not in role["Properties"]


def test_every_supported_kubernetes_version_is_supported_by_karpenter(schemas_dir: Path) -> None:
    config = load_config("dev")
    karpenter = config.versions.helm_charts.karpenter.version
    folder = schemas_dir / "karpenter" / karpenter
    assert folder.is_dir(), f"no upstream files for the pinned Karpenter {karpenter} in {schemas_dir}"
    matrix = yaml.safe_load((folder / "compatibility.yaml").read_text())["compatibility"]
    minor = karpenter.rsplit(".", 1)[0] + ".x"
    (row,) = [row for row in matrix if row["appVersion"] == minor]

    def as_tuple(version) -> tuple[int, int]:
        major, minor_part = str(version).split(".")
        return int(major), int(minor_part)

    for version in config.versions.kubernetes.supported:
        assert as_tuple(row["minK8sVersion"]) <= as_tuple(version) <= as_tuple(row["maxK8sVersion"]), version
