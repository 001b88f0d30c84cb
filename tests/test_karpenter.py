"""Karpenter: controller IAM equal to upstream's, interruption handling, chart, NodePools and destroy order."""

from __future__ import annotations

import json

from constructs.cluster.karpenter import INTERRUPTION_EVENTS, POLICY_FILE
from constructs.shared.policy_documents import load_policy_file
from tests.support import as_list, statement_signature
from tests.synth import Synthesized
from tests.template_queries import (
    by_path,
    depends_on,
    helm_release,
    manifest_of_kind,
    only_resource,
    resources_of_type,
)


def _controller_policies(template: dict) -> dict[str, dict]:
    policies = {}
    for name in load_policy_file(POLICY_FILE):
        _, policy = by_path(template, f"/Karpenter/{name}/Resource")
        policies[name] = policy["Properties"]["PolicyDocument"]
    return policies


def test_controller_policies_equal_upstream_cloudformation(synthesized: Synthesized) -> None:
    config = synthesized.config
    template = synthesized.platform()
    node_role_id, _ = by_path(template, "/Karpenter/NodeRole/Resource")
    queue_id, _ = by_path(template, "/Karpenter/InterruptionQueue/Resource")
    substitutions = {
        "${ClusterName}": config.cluster_name,
        "${AWS::Partition}": "aws",
        "${AWS::Region}": config.region,
        "${AWS::AccountId}": "${Ref:AWS::AccountId}",
        "${KarpenterNodeRole.Arn}": f"${{{node_role_id}.Arn}}",
        "${KarpenterInterruptionQueue.Arn}": f"${{{queue_id}.Arn}}",
    }

    def expected(document: dict) -> list[tuple]:
        text = json.dumps(document)
        for placeholder, value in substitutions.items():
            text = text.replace(placeholder, value)
        return sorted(statement_signature(s) for s in json.loads(text)["Statement"])

    synthesized_policies = _controller_policies(template)
    upstream = load_policy_file(POLICY_FILE)
    assert (
        set(synthesized_policies)
        == set(upstream)
        == {
            "NodeLifecyclePolicy",
            "IAMIntegrationPolicy",
            "EKSIntegrationPolicy",
            "InterruptionPolicy",
            "ZonalShiftPolicy",
            "ResourceDiscoveryPolicy",
        }
    )
    for name, document in upstream.items():
        actual = sorted(statement_signature(s) for s in synthesized_policies[name]["Statement"])
        assert actual == expected(document), name


def test_controller_can_manage_and_list_instance_profiles(synthesized: Synthesized) -> None:
    """Without these, deleting an EC2NodeClass hangs on its instance profile."""
    actions = {
        action
        for document in _controller_policies(synthesized.platform()).values()
        for statement in document["Statement"]
        for action in as_list(statement["Action"])
    }
    assert {
        "iam:CreateInstanceProfile",
        "iam:TagInstanceProfile",
        "iam:AddRoleToInstanceProfile",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteInstanceProfile",
        "iam:GetInstanceProfile",
        "iam:ListInstanceProfiles",
        "iam:PassRole",
    } <= actions


def test_controller_role_is_pod_identity_for_the_karpenter_service_account(synthesized: Synthesized) -> None:
    template = synthesized.platform()
    role_id, role = by_path(template, "/Karpenter/ControllerIdentity/Role/Resource")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    attached = {arn["Ref"] for arn in role["Properties"]["ManagedPolicyArns"]}
    assert attached == {by_path(template, f"/Karpenter/{name}/Resource")[0] for name in _controller_policies(template)}
    _, association = by_path(template, "/Karpenter/ControllerIdentity/Association")
    assert association["Properties"]["Namespace"] == "kube-system"
    assert association["Properties"]["ServiceAccount"] == "karpenter"
    assert association["Properties"]["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_node_role_has_an_ec2_linux_access_entry(synthesized: Synthesized) -> None:
    template = synthesized.platform()
    node_role_id, _ = by_path(template, "/Karpenter/NodeRole/Resource")
    _, entry = by_path(template, "/Karpenter/NodeAccessEntry/Resource")
    assert entry["Properties"]["Type"] == "EC2_LINUX"
    assert entry["Properties"]["PrincipalArn"] == {"Fn::GetAtt": [node_role_id, "Arn"]}
    assert not entry["Properties"].get("AccessPolicies")


def test_interruption_queue_is_encrypted_tls_only_and_short_lived(synthesized: Synthesized) -> None:
    template = synthesized.platform()
    queue_id, queue = only_resource(template, "AWS::SQS::Queue")
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 300
    _, queue_policy = only_resource(template, "AWS::SQS::QueuePolicy")
    statements = queue_policy["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    senders = [s for s in statements if s["Effect"] == "Allow"]
    assert {s["Principal"]["Service"] for s in senders} == {"events.amazonaws.com"}
    # Tighter than upstream's queue policy: each rule may send, and only as itself (aws:SourceArn).
    rule_ids = set(resources_of_type(template, "AWS::Events::Rule"))
    assert {s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0] for s in senders} == rule_ids
    assert all("sqs:SendMessage" in s["Action"] and not {"sqs:*", "*"} & set(s["Action"]) for s in senders)


def test_the_five_documented_interruption_rules_feed_the_queue(synthesized: Synthesized) -> None:
    template = synthesized.platform()
    queue_id, _ = only_resource(template, "AWS::SQS::Queue")
    patterns = set()
    for rule in resources_of_type(template, "AWS::Events::Rule").values():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        pattern = rule["Properties"]["EventPattern"]
        (source,) = pattern["source"]
        (detail_type,) = pattern["detail-type"]
        patterns.add((source, detail_type))
    assert patterns == set(INTERRUPTION_EVENTS.values())
    assert len(patterns) == 5


def test_charts_pinned_from_the_oci_registry_with_wait(synthesized: Synthesized) -> None:
    template = synthesized.platform()
    charts = synthesized.config.versions.helm_charts
    for release, chart in (("karpenter-crd", charts.karpenter_crd), ("karpenter", charts.karpenter)):
        _, props, _ = helm_release(template, release)
        assert props["Repository"] == f"oci://public.ecr.aws/karpenter/{chart.chart}" == chart.repository
        assert props["Version"] == chart.version == "1.14.1"
        assert props["Namespace"] == "kube-system"
        assert props["Wait"] is True


def test_chart_values(synthesized: Synthesized) -> None:
    template = synthesized.platform()
    queue_id, _ = only_resource(template, "AWS::SQS::Queue")
    _, _, values = helm_release(template, "karpenter")
    controller = synthesized.config.cluster.karpenter.controller
    assert values["settings"] == {
        "clusterName": synthesized.config.cluster_name,
        "interruptionQueue": f"${{{queue_id}.QueueName}}",
    }
    resources = {"cpu": controller.cpu, "memory": controller.memory}
    assert values["controller"]["resources"] == {"requests": resources, "limits": resources}
    assert values["replicas"] == controller.replicas
    assert values["nodeSelector"] == {"NodeGroupType": "core"}


# ---- NodePools and EC2NodeClasses from config ----


def test_every_configured_node_pool_is_applied(synthesized: Synthesized) -> None:
    template = synthesized.platform()
    for pool in synthesized.config.cluster.karpenter.node_pools:
        _, manifest = manifest_of_kind(template, "NodePool", pool.name)
        spec = manifest["spec"]
        assert spec["template"]["spec"]["nodeClassRef"] == {
            "group": "karpenter.k8s.aws",
            "kind": "EC2NodeClass",
            "name": pool.node_class,
        }
        requirements = {r["key"]: r["values"] for r in spec["template"]["spec"]["requirements"]}
        assert requirements == pool.requirements
        assert spec["limits"] == {"cpu": pool.cpu_limit}
        assert spec["disruption"] == {
            "consolidationPolicy": pool.consolidation_policy,
            "consolidateAfter": pool.consolidate_after,
        }
        assert spec["template"]["spec"]["expireAfter"] == pool.expire_after


def test_spark_pool_matches_the_blueprint_seed(synthesized: Synthesized) -> None:
    template = synthesized.platform()
    _, pool = manifest_of_kind(template, "NodePool", "spark-compute-optimized")
    spec = pool["spec"]["template"]["spec"]
    assert spec["taints"] == [{"key": "spark-compute-optimized", "value": "true", "effect": "NoSchedule"}]
    assert pool["spec"]["template"]["metadata"]["labels"] == {"NodeGroupType": "SparkComputeOptimized"}
    requirements = {r["key"]: r["values"] for r in spec["requirements"]}
    assert set(requirements["karpenter.sh/capacity-type"]) == {"spot", "on-demand"}
    # Families with local NVMe ("d"), striped by the node class instead of a user-data script.
    assert all(family.endswith("d") for family in requirements["karpenter.k8s.aws/instance-family"])
    assert pool["spec"]["disruption"] == {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "30s"}
    assert spec["expireAfter"] == "720h"
    _, node_class = manifest_of_kind(template, "EC2NodeClass", spec["nodeClassRef"]["name"])
    assert node_class["spec"]["instanceStorePolicy"] == "RAID0"


def test_airflow_task_pool_is_on_demand_and_consolidates(synthesized: Synthesized) -> None:
    _, pool = manifest_of_kind(synthesized.platform(), "NodePool", "airflow-tasks")
    requirements = {r["key"]: r["values"] for r in pool["spec"]["template"]["spec"]["requirements"]}
    assert requirements["karpenter.sh/capacity-type"] == ["on-demand"]
    assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"


def test_node_classes_use_al2023_imdsv2_encrypted_gp3_and_our_node_role(synthesized: Synthesized) -> None:
    template = synthesized.platform()
    node_role_id, _ = by_path(template, "/Karpenter/NodeRole/Resource")
    for node_class_config in synthesized.config.cluster.karpenter.node_classes:
        _, node_class = manifest_of_kind(template, "EC2NodeClass", node_class_config.name)
        spec = node_class["spec"]
        assert spec["role"] == f"${{Ref:{node_role_id}}}"
        assert spec["amiSelectorTerms"] == [{"alias": synthesized.config.versions.karpenter_ami_alias}]
        assert spec["amiSelectorTerms"][0]["alias"].startswith("al2023@")
        assert spec["metadataOptions"]["httpTokens"] == "required"
        assert spec["metadataOptions"]["httpPutResponseHopLimit"] == node_class_config.metadata_hop_limit <= 2
        (root,) = spec["blockDeviceMappings"]
        assert root["ebs"]["encrypted"] is True and root["ebs"]["volumeType"] == "gp3"
        name = synthesized.config.cluster_name
        assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": name}}]
        assert spec["securityGroupSelectorTerms"] == [
            {"tags": {"aws:eks:cluster-name": name}},  # the cluster security group EKS creates and tags
            {"tags": {"karpenter.sh/discovery": name}},  # the network stack's data-clients group
        ]


def test_exactly_the_data_clients_group_carries_the_discovery_tag(synthesized: Synthesized) -> None:
    tagged = [
        logical_id
        for logical_id, group in resources_of_type(synthesized.template("network"), "AWS::EC2::SecurityGroup").items()
        if {"Key": "karpenter.sh/discovery", "Value": synthesized.config.cluster_name} in group["Properties"]["Tags"]
    ]
    assert len(tagged) == 1 and tagged[0].startswith("DataClients")


# ---- 6. create and destroy order ----


def test_destroy_order_node_pools_before_karpenter(synthesized: Synthesized) -> None:
    """NodePool -> EC2NodeClass -> Karpenter chart -> (CRDs, controller IAM, Pod Identity) in the Karpenter stack,
    which depends on the cluster stack's node role, access entry, queue and core nodes: CloudFormation deletes in
    reverse, and the CLI destroys the Karpenter stack first, so Karpenter still runs while its NodePools and nodes go
    away."""
    template = synthesized.template("karpenter")
    chart_id, _, _ = helm_release(template, "karpenter")
    crd_chart_id, _, _ = helm_release(template, "karpenter-crd")
    for pool in synthesized.config.cluster.karpenter.node_pools:
        pool_id, _ = manifest_of_kind(template, "NodePool", pool.name)
        class_id, _ = manifest_of_kind(template, "EC2NodeClass", pool.node_class)
        assert class_id in depends_on(template, pool_id), pool.name
        assert chart_id in depends_on(template, class_id), pool.node_class
    chart_needs = depends_on(template, chart_id)
    required = {
        crd_chart_id,
        by_path(template, "/Karpenter/ControllerIdentity/Role/Resource")[0],
        by_path(template, "/Karpenter/ControllerIdentity/Association")[0],
        *(by_path(template, f"/Karpenter/{name}/Resource")[0] for name in _controller_policies(template)),
    }
    missing = required - chart_needs
    assert not missing, f"Karpenter chart does not depend on {sorted(missing)}"
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    stack = synthesized.config.stack_name
    assert manifest["artifacts"][stack("karpenter")]["dependencies"].count(stack("cluster")) == 1
    cluster = synthesized.template("cluster")
    for path in ("/Karpenter/InterruptionQueue/Resource", "/Karpenter/NodeAccessEntry/Resource"):
        by_path(cluster, path)
    only_resource(cluster, "AWS::EKS::Nodegroup")
