"""The deploy plan and idle cost `./scripts/synth.sh` prints: the estimators on small hand-made templates (so each
rule is proven on its own), their data files, and the plan of the shipped envs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from scripts.deploy_plan import MINUTES_FILE, MinutesTable, load_assembly, plan_deploy, references
from scripts.idle_cost import PRICES_FILE, UnpricedResource, estimate, totals
from tests.support import transitive_dependencies
from tests.synth import Synthesized
from tests.template_queries import by_path, render, resources_of_type

TABLE = MinutesTable(
    {
        "stack_overhead": {"minutes": 0.5},
        "default": {"minutes": 0.1},
        "types": {
            "AWS::EKS::Cluster": {"minutes": 11},
            "AWS::EKS::Nodegroup": {"minutes": 3},
            "AWS::RDS::DBInstance": {"minutes": 7, "variants": [{"when": {"MultiAZ": True}, "minutes": 17}]},
            "AWS::Lambda::Function": {"minutes": 0.3, "variants": [{"when": {"VpcConfig": "present"}, "minutes": 1.5}]},
            "Custom::AWSCDK-EKS-HelmChart": {
                "minutes": 3,
                "variants": [{"when": {"Wait": "absent"}, "minutes": 1}, {"when": {"Chart": "airflow"}, "minutes": 4}],
            },
            "Custom::*": {"minutes": 0.3},
        },
    }
)


def resource(kind: str, depends_on: str | list[str] | None = None, **properties: object) -> dict:
    body: dict = {"Type": kind, "Properties": properties}
    if depends_on is not None:
        body["DependsOn"] = depends_on
    return body


def template(**resources: dict) -> dict:
    return {"Resources": resources}


def test_a_resource_starts_once_what_it_references_or_depends_on_is_complete() -> None:
    stack = template(
        Role=resource("AWS::IAM::Role"),
        Cluster=resource("AWS::EKS::Cluster", RoleArn={"Fn::GetAtt": ["Role", "Arn"]}),
        Nodes=resource("AWS::EKS::Nodegroup", ClusterName={"Ref": "Cluster"}),
        Chart=resource("Custom::AWSCDK-EKS-HelmChart", depends_on="Nodes", Wait=True),
        Unrelated=resource("AWS::SQS::Queue", QueueName={"Ref": "AWS::StackName"}),
    )
    plan = plan_deploy({"s": stack}, {}, table=TABLE)
    # overhead 0.5, role 0.1 (default), cluster 11, nodes 3, chart 3
    assert plan.total == pytest.approx(0.5 + 0.1 + 11 + 3 + 3)
    assert [step.logical_id for step in plan.chain()] == ["Role", "Cluster", "Nodes", "Chart"]
    assert plan.stacks["s"].steps["Unrelated"].start == pytest.approx(0.5)


def test_references_are_found_in_every_intrinsic_that_names_a_resource() -> None:
    value = {
        "A": {"Ref": "First"},
        "B": {"Fn::GetAtt": "Second.Arn"},
        "C": {"Fn::Sub": "arn:${AWS::Partition}:x:::${Third}/${Fourth.Name}"},
        "D": {"Fn::Sub": ["${Var}", {"Var": {"Ref": "Fifth"}}]},
        "E": [{"Fn::Join": ["", [{"Fn::GetAtt": ["Sixth", "Id"]}]]}],
    }
    assert references(value) >= {"First", "Second", "Third", "Fourth", "Fifth", "Sixth"}


@pytest.mark.parametrize(
    ("kind", "properties", "minutes"),
    [
        ("AWS::RDS::DBInstance", {"MultiAZ": False}, 7),
        ("AWS::RDS::DBInstance", {"MultiAZ": True}, 17),
        ("AWS::Lambda::Function", {}, 0.3),
        ("AWS::Lambda::Function", {"VpcConfig": {"SubnetIds": []}}, 1.5),
        ("Custom::AWSCDK-EKS-HelmChart", {"Chart": "karpenter", "Wait": True}, 3),
        ("Custom::AWSCDK-EKS-HelmChart", {"Chart": "karpenter"}, 1),
        ("Custom::AWSCDK-EKS-HelmChart", {"Chart": "airflow", "Wait": True}, 4),
        ("Custom::AirflowFernetKey", {}, 0.3),
        ("AWS::EC2::Subnet", {}, 0.1),
    ],
)
def test_minutes_follow_the_type_and_the_first_variant_that_holds(kind: str, properties: dict, minutes: float) -> None:
    assert TABLE.minutes(kind, properties) == minutes


def test_a_stack_starts_after_the_stacks_it_depends_on_and_within_the_concurrency() -> None:
    templates = {
        "network": template(Nat=resource("AWS::EKS::Nodegroup")),  # 3 minutes
        "data": template(Db=resource("AWS::RDS::DBInstance", MultiAZ=True)),  # 17
        "cluster": template(Cluster=resource("AWS::EKS::Cluster")),  # 11
        "airflow": template(Chart=resource("Custom::AWSCDK-EKS-HelmChart", Chart="airflow", Wait=True)),  # 4
    }
    dependencies = {"data": ["network"], "cluster": ["network"], "airflow": ["data", "cluster"]}
    parallel = plan_deploy(templates, dependencies, concurrency=4, table=TABLE)
    assert parallel.stacks["data"].start == parallel.stacks["cluster"].start == pytest.approx(3.5)
    # The airflow stack waits for the later of its two: data (3.5 + 0.5 + 17).
    assert parallel.stacks["airflow"].start == pytest.approx(21.0)
    assert parallel.total == pytest.approx(21.0 + 0.5 + 4)
    assert [s.logical_id for s in parallel.chain("airflow")] == ["Nat", "Db", "Chart"]
    serial = plan_deploy(templates, dependencies, concurrency=1, table=TABLE)
    assert serial.total == pytest.approx(3.5 + 17.5 + 11.5 + 4.5)


def test_a_cycle_or_a_dependency_on_a_missing_stack_is_an_error() -> None:
    cyclic = template(A=resource("AWS::SQS::Queue", depends_on="B"), B=resource("AWS::SQS::Queue", depends_on="A"))
    with pytest.raises(ValueError, match="cycle"):
        plan_deploy({"s": cyclic}, {}, table=TABLE)
    with pytest.raises(ValueError, match="no template: gone"):
        plan_deploy({"s": template()}, {"s": ["gone"]}, table=TABLE)


def test_idle_cost_of_a_hand_made_deployment() -> None:
    ingress = json.dumps([{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "x"}}])
    templates = {
        "network": template(
            Nat=resource("AWS::EC2::NatGateway"),
            Ip=resource("AWS::EC2::EIP"),
            Endpoint=resource("AWS::EC2::VPCEndpoint", VpcEndpointType="Interface", SubnetIds=["a", "b", "c"]),
            Gateway=resource("AWS::EC2::VPCEndpoint", VpcEndpointType="Gateway"),
        ),
        "cluster": template(
            Cluster=resource(
                "AWS::EKS::Cluster", Logging={"ClusterLogging": {"EnabledTypes": [{"Type": "authenticator"}]}}
            ),
            Template=resource(
                "AWS::EC2::LaunchTemplate",
                LaunchTemplateData={
                    "BlockDeviceMappings": [{"Ebs": {"VolumeSize": 50}}],
                    "Monitoring": {"Enabled": True},
                },
            ),
            Nodes=resource(
                "AWS::EKS::Nodegroup",
                InstanceTypes=["m7g.large"],
                CapacityType="ON_DEMAND",
                ScalingConfig={"DesiredSize": 3},
                LaunchTemplate={"Id": {"Ref": "Template"}},
            ),
            Spot=resource(
                "AWS::EKS::Nodegroup",
                InstanceTypes=["t4g.large"],
                CapacityType="SPOT",
                ScalingConfig={"DesiredSize": 2},
            ),
        ),
        "data": template(
            Db=resource("AWS::RDS::DBInstance", DBInstanceClass="db.t4g.medium", MultiAZ=True, AllocatedStorage="50"),
            Key=resource("AWS::KMS::Key"),
            Secret=resource("AWS::SecretsManager::Secret"),
        ),
        "airflow": template(Ingress=resource("Custom::AWSCDK-EKS-KubernetesResource", Manifest=ingress)),
    }
    by_category = totals(estimate(templates))
    assert by_category["NAT gateways"] == pytest.approx(0.045 * 730 + 0.005 * 730)
    assert by_category["interface endpoints"] == pytest.approx(3 * 0.01 * 730)
    assert by_category["EKS control plane"] == pytest.approx(73.0)
    # on-demand nodes with their 50 GB disks and detailed monitoring; Spot nodes with the 20 GB default disk
    on_demand = 3 * 0.0816 * 730 + 3 * 50 * 0.08 + 3 * 2.10
    assert by_category["core nodes"] == pytest.approx(on_demand + 2 * 0.025 * 730 + 2 * 20 * 0.08)
    assert by_category["database"] == pytest.approx(2 * 0.065 * 730 + 2 * 50 * 0.115)
    assert by_category["KMS keys and secrets"] == pytest.approx(1.40)
    assert by_category["load balancers"] == pytest.approx(0.0225 * 730 + 0.60)
    assert by_category["logs"] == pytest.approx(2 * 0.50)  # the authenticator log's 2 GB


def test_an_instance_type_without_a_price_is_named() -> None:
    nodes = resource(
        "AWS::EKS::Nodegroup", InstanceTypes=["x9.huge"], CapacityType="SPOT", ScalingConfig={"DesiredSize": 1}
    )
    with pytest.raises(UnpricedResource, match="ec2_spot has no price for x9.huge"):
        estimate({"s": template(Nodes=nodes)})


def test_every_estimate_says_where_it_comes_from() -> None:
    minutes = yaml.safe_load(MINUTES_FILE.read_text())
    entries = [minutes["stack_overhead"], minutes["default"], *minutes["types"].values()]
    entries += [v for entry in minutes["types"].values() for v in entry.get("variants", [])]
    # Each says whether it is a measurement (with its runs) or an estimate.
    assert all(str(entry.get("source")).startswith(("measured: ", "estimate")) for entry in entries)
    prices = yaml.safe_load(PRICES_FILE.read_text())
    assert prices["region"] == "us-west-2" and prices["as_of"]
    priced = [*prices["hourly"].values(), *prices["monthly"].values(), *prices["idle_usage"].values()]
    priced += [prices[table] for table in ("ec2_on_demand", "ec2_spot", "rds_instance")]
    assert all(entry.get("source") for entry in priced)


def test_every_resource_type_the_app_creates_has_a_considered_estimate(synthesized: Synthesized) -> None:
    """A type that takes minutes must not fall to the seconds-long default unnoticed: every type the app creates is
    either in the table or one of the kinds known to take seconds."""
    seconds = {
        "AWS::EC2::Subnet",
        "AWS::EC2::RouteTable",
        "AWS::EC2::SubnetRouteTableAssociation",
        "AWS::EC2::Route",
        "AWS::EC2::EIP",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::FlowLog",
        "AWS::EC2::LaunchTemplate",
        "AWS::KMS::Alias",
        "AWS::Logs::LogGroup",
        "AWS::SSM::Parameter",
        "AWS::IAM::OIDCProvider",
        "AWS::SQS::QueuePolicy",
        "AWS::Events::Rule",
        "AWS::RDS::DBParameterGroup",
        "AWS::RDS::DBSubnetGroup",
        "AWS::SecretsManager::Secret",
        "AWS::SecretsManager::SecretTargetAttachment",
        "AWS::EFS::AccessPoint",
        "AWS::S3::BucketPolicy",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::SNS::Topic",
        "AWS::SNS::TopicPolicy",
        "AWS::SNS::Subscription",
        "AWS::CloudWatch::Alarm",
        "AWS::APS::RuleGroupsNamespace",
        "AWS::CDK::Metadata",
    }
    listed = set(yaml.safe_load(MINUTES_FILE.read_text())["types"])
    created = {r["Type"] for t in synthesized.templates.values() for r in t["Resources"].values()}
    unconsidered = {t for t in created - listed - seconds if not t.startswith("Custom::")}
    assert not unconsidered, f"add these to estimates/deploy_minutes.yaml or to the seconds list: {unconsidered}"


def test_the_shipped_envs_plan(synthesized: Synthesized) -> None:
    """The plan of each env: Airflow is healthy only after its chart; its stack waits for the cluster and data
    stacks only (not for Karpenter's), so the chain runs through the slower of the two: the control plane and the
    core nodes, or the metadata DB. The whole app stays within the 25 minutes targeted (README "Deploy plan")."""
    templates, dependencies = load_assembly(Path(synthesized.outdir))
    plan = plan_deploy(templates, dependencies, concurrency=4)
    stack = synthesized.config.stack_name
    airflow = stack("airflow")
    chain = [(step.stack, step.type) for step in plan.chain(airflow)]
    assert chain[-1] == (airflow, "Custom::AWSCDK-EKS-HelmChart")
    below = {stack("cluster"): ("AWS::EKS::Cluster", "AWS::EKS::Nodegroup"), stack("data"): ("AWS::RDS::DBInstance",)}
    slower = max(below, key=lambda name: plan.stacks[name].finish)
    assert plan.stacks[airflow].start == plan.stacks[slower].finish
    assert all((slower, step) in chain for step in below[slower])
    assert plan.stacks[stack("karpenter")].start == plan.stacks[stack("cluster")].finish
    assert plan.total <= 25.0


def test_the_slow_steps_wait_only_for_what_they_need(synthesized: Synthesized) -> None:
    """Two waits that cost minutes and bought nothing: the kubectl handler (a function in the VPC, minutes to create)
    waited for the control plane through its role's policy, and the metadata DB's monitoring role waited for the
    DB's log groups. The handler's policy is still in place before the function exists, so before any manifest or
    chart runs it."""
    cluster = synthesized.template("cluster")
    (eks_id,) = resources_of_type(cluster, "AWS::EKS::Cluster")
    handler_id, handler = by_path(cluster, "/KubectlProvider/Handler/Resource")
    assert "VpcConfig" in handler["Properties"]
    assert eks_id not in transitive_dependencies(cluster, handler_id)
    policy_id, policy = by_path(cluster, "/KubectlProvider/Handler/ServiceRole/DefaultPolicy/Resource")
    # The policy names the cluster by the ARN its fixed name makes, not by the cluster's attribute, and the function
    # still waits for it: nothing can run the handler before IAM has the grant.
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "eks:DescribeCluster"
    assert render(statement["Resource"]).endswith(f":cluster/{synthesized.config.cluster_name}")
    assert policy_id in handler["DependsOn"]
    for logical_id, resource in cluster["Resources"].items():
        if resource["Type"].startswith("Custom::AWSCDK-EKS-"):
            assert policy_id in transitive_dependencies(cluster, logical_id), logical_id
    data = synthesized.template("data")
    (db_id,) = resources_of_type(data, "AWS::RDS::DBInstance")
    log_groups = {lid for lid in resources_of_type(data, "AWS::Logs::LogGroup") if lid.startswith("MetadataDb")}
    assert log_groups and log_groups <= transitive_dependencies(data, db_id)
    role_id, _ = by_path(data, "/MetadataDb/Instance/MonitoringRole/Resource")
    assert not log_groups & transitive_dependencies(data, role_id)
