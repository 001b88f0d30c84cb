"""DagDelivery as the app deploys it: inside each env's data stack (the session's synthesis of the whole app, with
the compliance checks on), the network's VPC and data-clients group arriving as Fn::GetStackOutput, the DAG
file system, its access point and the data key as same-stack references.

Three more syntheses of dev cover what the shipped envs cannot show: one without DagDelivery's acknowledgments
(and with byproducts beside a copy of the delivered DAGs), one with changed DAGs, and one with git-sync."""

from __future__ import annotations

import json
import shutil
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import constructs.data.dag_delivery as dag_delivery
from constructs.data.dag_delivery import DAG_DELIVERY_HANDLER_DIR, DAGS_DIR
from constructs.shared.acknowledgments import DEV_ENV_REASON
from tests.handlers import load_handler
from tests.synth import Synthesized, synthesize
from tests.template_queries import by_path, only_resource, resources_of_type

RELEASE_TYPE = "Custom::AirflowDagDelivery"
BYPRODUCT_DIRS = {"__pycache__", ".pytest_cache"}


def data_stack(synthesized: Synthesized) -> str:
    return synthesized.config.stack_name("data")


def resource(synthesized: Synthesized, path_suffix: str) -> dict:
    """The DagDelivery resource at `<data stack>/DagDelivery/<path_suffix>`."""
    return by_path(synthesized.template("data"), f"{data_stack(synthesized)}/DagDelivery/{path_suffix}")[1]


def target(synthesized: Synthesized, value: dict) -> str:
    """`path[.Attribute]` of the resource a Ref, Fn::GetAtt (in the data stack) or Fn::GetStackOutput (in the
    stack it names) points at."""
    stack_name = data_stack(synthesized)
    if "Fn::GetStackOutput" in value:
        output = value["Fn::GetStackOutput"]
        stack_name = output["StackName"]
        value = synthesized.templates[stack_name]["Outputs"][output["OutputName"]]["Value"]
    logical_id, attribute = (value["Ref"], None) if "Ref" in value else value["Fn::GetAtt"]
    path = synthesized.templates[stack_name]["Resources"][logical_id]["Metadata"]["aws:cdk:path"]
    return f"{path}.{attribute}" if attribute else path


def render(synthesized: Synthesized, value: Any) -> Any:
    """A value with every intrinsic written as `${what it points at}`, so tests compare plain text."""
    if isinstance(value, list):
        return [render(synthesized, item) for item in value]
    if not isinstance(value, dict):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(render(synthesized, part) for part in parts)
    if "Fn::Sub" in value:
        return value["Fn::Sub"]
    if value.get("Ref", "").startswith("AWS::"):
        return f"${{{value['Ref']}}}"
    if {"Ref", "Fn::GetAtt", "Fn::GetStackOutput"} & set(value):
        return f"${{{target(synthesized, value)}}}"
    return {key: render(synthesized, inner) for key, inner in value.items()}


def _function(synthesized: Synthesized) -> dict:
    return resource(synthesized, "DeliveryFunction/Resource")


def _release(template: dict) -> dict:
    return only_resource(template, RELEASE_TYPE)[1]["Properties"]


def _files(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


def _staged_dags(synthesized: Synthesized) -> Path:
    """The folder CDK staged as the dags asset: exactly what the archive holds."""
    assets = json.loads((synthesized.outdir / f"{data_stack(synthesized)}.assets.json").read_text())["files"]
    return synthesized.outdir / assets[_release(synthesized.template("data"))["ReleaseId"]]["source"]["path"]


def _synthesize_dev_with_dags(dev: Synthesized, dags: Path, outdir: Path) -> tuple[dict, RuntimeError | None]:
    """dev's data template with DagDelivery delivering `dags` instead of the repo's dags/, and the error synth
    raised, if any (templates are written before the compliance checks run)."""
    error = None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("stacks.data_stack.DAGS_DIR", dags)
        try:
            synthesize("dev", outdir)
        except RuntimeError as raised:
            error = raised
    template = outdir / f"{data_stack(dev)}.template.json"
    if error is not None and not template.exists():
        raise error
    return json.loads(template.read_text()), error


def test_function_runs_in_the_private_subnets_as_a_data_client(synthesized: Synthesized) -> None:
    vpc_config = _function(synthesized)["Properties"]["VpcConfig"]
    network = synthesized.config.stack_name("network")
    private_subnets = {
        f"{network}/Network/Vpc/privateSubnet{index}/Subnet"
        for index in range(1, synthesized.config.network.az_count + 1)
    }
    assert {target(synthesized, subnet) for subnet in vpc_config["SubnetIds"]} == private_subnets
    assert [target(synthesized, group) for group in vpc_config["SecurityGroupIds"]] == [
        f"{network}/DataClients/SecurityGroup/Resource.GroupId"
    ]


def test_function_mounts_the_dags_access_point(synthesized: Synthesized) -> None:
    data = data_stack(synthesized)
    file_system_configs = _function(synthesized)["Properties"]["FileSystemConfigs"]
    assert "Fn::GetStackOutput" not in json.dumps(file_system_configs)  # the access point is in the same stack
    assert render(synthesized, file_system_configs) == [
        {
            "Arn": f"arn:aws:elasticfilesystem:{synthesized.config.region}:${{AWS::AccountId}}:access-point/"
            f"${{{data}/DagStorage/FileSystem/DagsAccessPoint/Resource}}",
            "LocalMountPath": "/mnt/dags",
        }
    ]


def test_function_is_a_single_arm64_writer_that_is_never_retried(synthesized: Synthesized) -> None:
    data = data_stack(synthesized)
    function = _function(synthesized)
    properties = function["Properties"]
    assert properties["Runtime"] == "python3.14" and properties["Architectures"] == ["arm64"]
    # No reserved concurrency: new accounts' quota of 10 leaves none to reserve.
    assert "ReservedConcurrentExecutions" not in properties
    assert properties["Timeout"] == 300 and properties["MemorySize"] >= 1024
    assert properties["EphemeralStorage"] == {"Size": 1024}
    invoke_config = resource(synthesized, "DeliveryFunction/EventInvokeConfig/Resource")["Properties"]
    assert invoke_config["MaximumRetryAttempts"] == 0
    # Its role, and (now in the same stack) the DAG file system's mount targets: it can only mount once they exist.
    assert {target(synthesized, {"Ref": lid}) for lid in function["DependsOn"]} == {
        f"{data}/DagDelivery/DeliveryRole/Resource",
        f"{data}/DagDelivery/DeliveryRole/DefaultPolicy/Resource",
        *(
            f"{data}/DagStorage/FileSystem/EfsMountTarget-privateSubnet{index}"
            for index in range(1, synthesized.config.network.az_count + 1)
        ),
    }


def test_custom_resource_carries_the_dags_asset(synthesized: Synthesized) -> None:
    data = data_stack(synthesized)
    release = _release(synthesized.template("data"))
    assets = json.loads((synthesized.outdir / f"{data}.assets.json").read_text())["files"]
    (destination,) = assets[release["ReleaseId"]]["destinations"].values()
    assert release["AssetBucket"] == {"Fn::Sub": destination["bucketName"]}
    assert release["AssetKey"] == destination["objectKey"] == f"{release['ReleaseId']}.zip"
    assert release["MountPath"] == "/mnt/dags"
    assert target(synthesized, release["ServiceToken"]) == f"{data}/DagDelivery/DeliveryFunction/Resource.Arn"
    # The asset is dags/ itself, without the byproducts of running DAGs locally.
    assert _files(_staged_dags(synthesized)) == {
        f for f in _files(DAGS_DIR) if not (BYPRODUCT_DIRS & set(f.split("/")) or f.endswith(".pyc"))
    }


def test_handler_code_is_the_handler_file_alone(dev: Synthesized) -> None:
    code = _function(dev)["Properties"]["Code"]
    staged = dev.outdir / f"asset.{code['S3Key'].removesuffix('.zip')}"
    assert _files(staged) == {"index.py"}
    assert (staged / "index.py").read_bytes() == (DAG_DELIVERY_HANDLER_DIR / "index.py").read_bytes()


def test_construct_and_handler_agree_on_the_current_link(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow reads the link the construct names; the handler is the one that swaps it."""
    handler = load_handler(monkeypatch, DAG_DELIVERY_HANDLER_DIR, modules={"boto3": types.SimpleNamespace(client=None)})
    assert dag_delivery.CURRENT_LINK == handler.CURRENT_LINK


def _role_statements(synthesized: Synthesized) -> list[dict]:
    """Every statement the function's role holds (its inline policies and the policies attached to it),
    rendered, each as {actions, resources, condition}."""
    template = synthesized.template("data")
    role_id, role = by_path(template, f"{data_stack(synthesized)}/DagDelivery/DeliveryRole/Resource")
    assert "ManagedPolicyArns" not in role["Properties"]
    documents = [policy["PolicyDocument"] for policy in role["Properties"].get("Policies", [])]
    for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in resources_of_type(template, policy_type).values():
            if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                documents.append(policy["Properties"]["PolicyDocument"])
    statements = []
    for document in documents:
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            actions, resources = statement["Action"], render(synthesized, statement["Resource"])
            statements.append(
                {
                    "actions": sorted([actions] if isinstance(actions, str) else actions),
                    "resources": sorted([resources] if isinstance(resources, str) else resources),
                    "condition": render(synthesized, statement.get("Condition")),
                }
            )
    return sorted(statements, key=lambda s: s["actions"])


def test_role_holds_only_scoped_statements(synthesized: Synthesized) -> None:
    config = synthesized.config
    network, data = config.stack_name("network"), data_stack(synthesized)
    arn = f"arn:aws:ec2:{config.region}:${{AWS::AccountId}}"
    network_interfaces = f"{arn}:network-interface/*"
    access_point = (
        f"arn:aws:elasticfilesystem:{config.region}:${{AWS::AccountId}}:"
        f"access-point/${{{data}/DagStorage/FileSystem/DagsAccessPoint/Resource}}"
    )
    subnets = [
        f"{arn}:subnet/${{{network}/Network/Vpc/privateSubnet{i}/Subnet}}"
        for i in range(1, config.network.az_count + 1)
    ]
    archive = _release(synthesized.template("data"))["AssetKey"]
    expected = [
        {
            "actions": ["ec2:AssignPrivateIpAddresses", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"],
            "resources": [network_interfaces],
            "condition": None,
        },
        {
            "actions": ["ec2:CreateNetworkInterface"],
            "resources": sorted(
                [
                    network_interfaces,
                    f"{arn}:security-group/${{{network}/DataClients/SecurityGroup/Resource.GroupId}}",
                    *subnets,
                ]
            ),
            "condition": None,
        },
        # EC2's Describe actions take no resource: the only `*` in the role.
        {"actions": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], "resources": ["*"], "condition": None},
        {
            "actions": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            "resources": [f"${{{data}/DagStorage/FileSystem/Resource.Arn}}"],
            "condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": access_point}},
        },
        {
            "actions": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "resources": [f"${{{data}/DagDelivery/DeliveryLogs/LogGroup/Resource.Arn}}"],
            "condition": None,
        },
        # The one archive, not the whole asset bucket.
        {
            "actions": ["s3:GetObject"],
            "resources": [f"arn:aws:s3:::cdk-hnb659fds-assets-${{AWS::AccountId}}-{config.region}/{archive}"],
            "condition": None,
        },
    ]
    assert _role_statements(synthesized) == expected


def test_log_group_is_encrypted_and_kept_as_the_lifecycle_says(synthesized: Synthesized) -> None:
    data = data_stack(synthesized)
    log_group = resource(synthesized, "DeliveryLogs/LogGroup/Resource")
    assert target(synthesized, log_group["Properties"]["KmsKeyId"]) == f"{data}/DataKey/Key/Resource.Arn"
    assert log_group["Properties"]["RetentionInDays"] == synthesized.config.logging.retention_days
    # A deploy-time handler's logs are worthless without its stack.
    assert log_group["DeletionPolicy"] == "Delete"
    logging_config = _function(synthesized)["Properties"]["LoggingConfig"]
    assert target(synthesized, logging_config["LogGroup"]) == f"{data}/DagDelivery/DeliveryLogs/LogGroup/Resource"


def _acknowledgments(synthesized: Synthesized) -> list[tuple[str, str, str]]:
    """(path under DagDelivery, rule, reason) of every acknowledgment made on DagDelivery's constructs."""
    construct = f"/{data_stack(synthesized)}/DagDelivery"
    return [
        (path.removeprefix(construct), rule.removeprefix("Annotation::"), reason)
        for path, entries in synthesized.metadata(data_stack(synthesized)).items()
        if path.startswith(f"{construct}/")
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule, reason in entry["data"].items()
    ]


def expected_findings(region: str) -> set[tuple[str, str]]:
    """(rule, resource path under DagDelivery) of what the checks report on DagDelivery without its
    acknowledgments. Its log group's KmsKeyId is now a same-stack Fn::GetAtt of the data key, which the Control
    Tower check reads: that leaves no encryption finding to acknowledge."""
    return {
        ("AwsSolutions-IAM5[Resource::*]", "DeliveryRole/Resource"),
        (
            f"AwsSolutions-IAM5[Resource::arn:aws:ec2:{region}:<AWS::AccountId>:network-interface/*]",
            "DeliveryRole/Resource",
        ),
        ("lambda_inside_vpc_check", "DeliveryFunction/Resource"),
    }


def _answers(acknowledgment: tuple[str, str], finding: tuple[str, str]) -> bool:
    """An acknowledgment on a construct (`/DeliveryRole`, `cdk-validator-cfnguard::rule`) answers a finding on a
    resource under it (`DeliveryRole/Resource`, `rule`)."""
    (ack_path, ack_rule), (rule, path) = acknowledgment, finding
    return ack_rule.removeprefix("cdk-validator-cfnguard::") == rule and f"/{path}".startswith(f"{ack_path}/")


def test_acknowledgments_sit_on_their_resources_with_specific_reasons(synthesized: Synthesized) -> None:
    acks = _acknowledgments(synthesized)
    assert {(path, rule) for path, rule, reason in acks if reason != DEV_ENV_REASON} == {
        ("/DeliveryRole", "AwsSolutions-IAM5[Resource::*]"),
        (
            "/DeliveryRole",
            f"AwsSolutions-IAM5[Resource::arn:aws:ec2:{synthesized.config.region}:<AWS::AccountId>:"
            "network-interface/*]",
        ),
        ("/DeliveryFunction", "cdk-validator-cfnguard::lambda_inside_vpc_check"),
    }
    for path, rule, reason in acks:
        if reason == DEV_ENV_REASON:
            assert synthesized.config.is_development
            assert rule == "cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check", (path, rule)
        else:
            assert len(reason) >= 60, (path, rule, reason)


@dataclass
class Unacknowledged:
    """dev synthesized without DagDelivery's acknowledgments, delivering a copy of the session's staged DAGs with
    local byproducts added."""

    outdir: Path
    error: RuntimeError | None
    data_template: dict


@pytest.fixture(scope="module")
def unacknowledged(dev: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Unacknowledged:
    root = tmp_path_factory.mktemp("dag-delivery-unacknowledged")
    dags = shutil.copytree(_staged_dags(dev), root / "dags")
    # In every folder of the DAGs, as running or importing them locally leaves them.
    for folder in [dags, *(path for path in dags.rglob("*") if path.is_dir())]:
        (folder / "__pycache__").mkdir()
        (folder / "__pycache__" / "etl.cpython-314.pyc").write_bytes(b"\0")
        (folder / "etl.cpython-314.pyc").write_bytes(b"\0")
    (dags / ".pytest_cache").mkdir()
    (dags / ".pytest_cache" / "README.md").write_text("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dag_delivery, "acknowledge", lambda *args, **kwargs: None)
        template, error = _synthesize_dev_with_dags(dev, dags, root / "cdk.out")
    return Unacknowledged(outdir=root / "cdk.out", error=error, data_template=template)


def test_every_acknowledgment_answers_a_finding_the_checks_report(
    dev: Synthesized, unacknowledged: Unacknowledged
) -> None:
    """Without its acknowledgments, synth fails with exactly these findings on DagDelivery's resources, and each
    acknowledgment the shipped app makes there answers one of them."""
    assert unacknowledged.error is not None and "ValidationFailed" in str(unacknowledged.error)
    report = json.loads((unacknowledged.outdir / "validation-report.json").read_text())
    construct = f"{data_stack(dev)}/DagDelivery/"
    findings = {
        (violation["ruleName"], path.removeprefix(construct))
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for path in (c["constructPath"] for c in violation["violatingConstructs"])
        if path.startswith(construct)
    }
    assert findings == expected_findings(dev.config.region)
    acks = {(path, rule) for path, rule, reason in _acknowledgments(dev) if reason != DEV_ENV_REASON}
    unanswered = {ack for ack in acks if not any(_answers(ack, finding) for finding in findings)}
    unacknowledged_findings = {finding for finding in findings if not any(_answers(ack, finding) for ack in acks)}
    assert (unanswered, unacknowledged_findings) == (set(), set())


def test_any_change_to_the_dags_is_a_new_release_and_local_byproducts_are_not(
    dev: Synthesized, unacknowledged: Unacknowledged, tmp_path: Path
) -> None:
    delivered = _release(dev.template("data"))["ReleaseId"]
    # The same DAGs with byproducts beside them: the same release.
    assert _release(unacknowledged.data_template)["ReleaseId"] == delivered

    dags = shutil.copytree(_staged_dags(dev), tmp_path / "dags")
    files = sorted(_files(dags))
    assert len(files) >= 2, files
    changed, deleted = files[0], files[-1]
    (dags / changed).write_bytes((dags / changed).read_bytes() + b"\n# changed\n")
    (dags / deleted).unlink()
    template, error = _synthesize_dev_with_dags(dev, dags, tmp_path / "cdk.out")
    assert error is None
    release = _release(template)
    assert release["ReleaseId"] != delivered
    assert release["AssetKey"] == f"{release['ReleaseId']}.zip"


def test_git_sync_delivers_nothing_at_deploy_time(dev_alternatives: Synthesized) -> None:
    synthesized = dev_alternatives
    data = data_stack(synthesized)
    for name, template in synthesized.templates.items():
        assert not resources_of_type(template, RELEASE_TYPE), name
    paths = [r.get("Metadata", {}).get("aws:cdk:path", "") for r in synthesized.template("data")["Resources"].values()]
    assert not [path for path in paths if path.startswith(f"{data}/DagDelivery/")]
    functions = resources_of_type(synthesized.template("data"), "AWS::Lambda::Function").values()
    assert not [f for f in functions if "DagDelivery" in f["Metadata"]["aws:cdk:path"]]
    # The DAG volume git-sync fills is still there.
    by_path(synthesized.template("data"), f"{data}/DagStorage/FileSystem/DagsAccessPoint/Resource")
