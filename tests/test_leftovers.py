"""scripts/leftovers.py against botocore's Stubber: the AWS answers are canned, nothing leaves the machine, and the
credentials are dummies set for these tests only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from scripts import leftovers
from tests.synth import Synthesized

REPO_ROOT = Path(__file__).resolve().parent.parent

ACCOUNT = "123456789012"
REGION = "us-west-2"


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


class StubbedSession:
    """Hands out one stubbed client per service; every answer must have been asked for, in order."""

    def __init__(self) -> None:
        self._session = boto3.session.Session(region_name=REGION)
        self.clients: dict[str, object] = {}
        self.stubbers: dict[str, Stubber] = {}

    def stub(self, service: str) -> Stubber:
        if service not in self.stubbers:
            client = self._session.client(service, region_name=REGION)
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()
        return self.stubbers[service]

    def client(self, service: str, region_name: str | None = None):
        self.stub(service)
        return self.clients[service]

    def verify(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def _answer(
    session: StubbedSession,
    *,
    env: str = "dev",
    stacks=(),
    tagged=(),
    kms_states=(),
    instances=(),
    volumes=(),
    launch_templates=(),
    lambda_interfaces=(),
    load_balancers=(),
    lambda_log_groups=(),
    instance_profiles_error: str | None = None,
) -> None:
    """The calls leftovers.py makes, in its order, each answered (empty unless given)."""
    cluster = f"airflow-{env}"
    session.stub("sts").add_response(
        "get_caller_identity",
        {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:role/admin", "UserId": "AROAEXAMPLEID"},
    )
    session.stub("cloudformation").add_response("list_stacks", {"StackSummaries": list(stacks)})
    session.stub("resourcegroupstaggingapi").add_response(
        "get_resources",
        {"ResourceTagMappingList": [{"ResourceARN": arn} for arn in tagged]},
        {"TagFilters": [{"Key": "project", "Values": ["airflow-on-eks"]}, {"Key": "env", "Values": [env]}]},
    )
    for state in kms_states:
        session.stub("kms").add_response("describe_key", {"KeyMetadata": {"KeyId": "k", "KeyState": state}})
    ec2 = session.stub("ec2")
    ec2.add_response("describe_instances", {"Reservations": [{"Instances": list(instances)}] if instances else []})
    ec2.add_response("describe_volumes", {"Volumes": list(volumes)})
    ec2.add_response(
        "describe_launch_templates",
        {"LaunchTemplates": list(launch_templates)},
        {"Filters": [{"Name": "tag:eks:eks-cluster-name", "Values": [cluster]}]},
    )
    ec2.add_response("describe_vpcs", {"Vpcs": []})
    ec2.add_response("describe_network_interfaces", {"NetworkInterfaces": []})
    ec2.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": list(lambda_interfaces)},
        {"Filters": [{"Name": "description", "Values": [f"AWS Lambda VPC ENI-airflow-{env}-*"]}]},
    )
    ec2.add_response("describe_network_interfaces", {"NetworkInterfaces": []})
    ec2.add_response("describe_security_groups", {"SecurityGroups": []})
    ec2.add_response("describe_security_groups", {"SecurityGroups": []})
    elbv2 = session.stub("elbv2")
    elbv2.add_response(
        "describe_load_balancers", {"LoadBalancers": [{"LoadBalancerArn": a} for a, _ in load_balancers]}
    )
    if load_balancers:
        descriptions = [
            {"ResourceArn": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            for arn, tags in load_balancers
        ]
        elbv2.add_response("describe_tags", {"TagDescriptions": descriptions}, {"ResourceArns": ANY})
    elbv2.add_response("describe_target_groups", {"TargetGroups": []})
    if instance_profiles_error:
        session.stub("iam").add_client_error("list_instance_profiles", instance_profiles_error, "not allowed")
    else:
        session.stub("iam").add_response(
            "list_instance_profiles", {"InstanceProfiles": []}, {"PathPrefix": f"/karpenter/{REGION}/{cluster}/"}
        )
    logs = session.stub("logs")
    logs.add_response("describe_log_groups", {"logGroups": []})
    logs.add_response("describe_log_groups", {"logGroups": []})
    logs.add_response(
        "describe_log_groups",
        {
            "logGroups": [
                {"logGroupName": n, "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{n}:*"}
                for n in lambda_log_groups
            ]
        },
        {"logGroupNamePrefix": f"/aws/lambda/airflow-{env}-"},
    )
    logs.add_response("describe_log_groups", {"logGroups": []})


def test_nothing_left_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    session = StubbedSession()
    _answer(session, stacks=[{"StackName": "airflow-dev-cluster", "StackStatus": "DELETE_COMPLETE", "CreationTime": 0}])
    assert leftovers.main(["dev"], session=session) == 0
    session.verify()
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == f"0 resources of env dev in account {ACCOUNT}, {REGION} (0 kept by design)"


def test_what_a_dev_destroy_left_is_listed_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    alb = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/k8s-airflow-airflowa-0123456789/abc"
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    session = StubbedSession()
    _answer(
        session,
        stacks=[{"StackName": "airflow-dev-network", "StackStatus": "DELETE_FAILED", "CreationTime": 0}],
        tagged=[key, alb],
        kms_states=["PendingDeletion"],  # CloudFormation scheduled it: not a leftover
        instances=[
            {"InstanceId": "i-0karpenter", "Tags": [{"Key": "karpenter.sh/nodepool", "Value": "airflow-tasks"}]}
        ],
        launch_templates=[{"LaunchTemplateId": "lt-0abc", "LaunchTemplateName": "karpenter.k8s.aws/123"}],
        lambda_interfaces=[
            {
                "NetworkInterfaceId": "eni-0lambda",
                "Description": "AWS Lambda VPC ENI-airflow-dev-cluster-x",
                "Status": "in-use",
            }
        ],
        # Found by the Tagging API already: listed once.
        load_balancers=[
            (alb, {"elbv2.k8s.aws/cluster": "airflow-dev", "ingress.k8s.aws/stack": "airflow/airflow-api-server"})
        ],
        lambda_log_groups=["/aws/lambda/airflow-dev-data-CustomS3AutoDeleteObjects-abc"],
    )
    assert leftovers.main(["dev"], session=session) == 1
    session.verify()
    out, err = capsys.readouterr()
    lines = sorted(out.splitlines())
    assert len(lines) == 6, out
    assert all(line.endswith("\tleft over") for line in lines)
    by_kind = {line.split("\t")[0]: line.split("\t") for line in lines}
    assert by_kind["cloudformation:stack"][1:3] == ["airflow-dev-network", "stack DELETE_FAILED"]
    assert by_kind["elasticloadbalancing:loadbalancer"][1:3] == [alb, "tagged project=airflow-on-eks env=dev"]
    assert "Karpenter NodePool airflow-tasks" in by_kind["ec2:instance"][2]
    assert by_kind["ec2:launch-template"][1] == "lt-0abc"
    assert "deleted VPC Lambda function" in by_kind["ec2:network-interface"][2]
    assert "made by Lambda" in by_kind["logs:log-group"][2]
    assert key not in out
    assert "6 resources of env dev" in err


def test_prod_data_is_kept_by_design(capsys: pytest.CaptureFixture[str]) -> None:
    bucket = "arn:aws:s3:::airflow-prod-data-taskslogsbucket-abc"
    file_system = f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-0123"
    volume = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0123"
    # The Tagging API still lists an instance Karpenter terminated; EC2 does not: no leftover.
    terminated = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0gone"
    session = StubbedSession()
    _answer(
        session,
        env="prod",
        tagged=[bucket, file_system, volume, terminated],
        # The same volume by the cluster's tag: one line, by the env's tags (an ARN there, an id here).
        volumes=[
            {
                "VolumeId": "vol-0123",
                "State": "available",
                "Tags": [{"Key": "kubernetes.io/cluster/airflow-prod", "Value": "owned"}],
            }
        ],
    )
    assert leftovers.main(["prod"], session=session) == 1
    session.verify()
    verdicts = {line.split("\t")[1]: line.split("\t")[3] for line in capsys.readouterr().out.splitlines()}
    assert verdicts == {bucket: "kept by design", file_system: "kept by design", volume: "left over"}


def test_a_check_that_may_not_run_is_named_and_the_answer_is_not_nothing_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = StubbedSession()
    _answer(session, instance_profiles_error="AccessDenied")
    assert leftovers.main(["dev"], session=session) == 2
    session.verify()
    out, err = capsys.readouterr()
    assert out == ""
    assert "error: could not check instance_profiles: ListInstanceProfiles: AccessDenied: not allowed" in err
    assert "0 resources of env dev" in err


def test_a_missing_profile_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    assert leftovers.main(["dev"]) == 2
    _, err = capsys.readouterr()
    assert err.strip().splitlines() == ["error: The config profile (no-such-profile) could not be found"]


def test_an_unknown_env_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert leftovers.main(["staging"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "error: env: unknown env 'staging': there is no config/staging.yaml (available: dev, prod)\n"


def test_no_credentials_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    # The credential chain finds nothing (no variables, files or instance metadata), before any request is sent.
    assert leftovers.main(["dev"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS credentials or region: ") and err.count("\n") == 1


def test_the_wrapper_takes_exactly_one_env() -> None:
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "leftovers.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and result.stderr.startswith("usage: ")


def test_it_looks_for_every_stack_the_app_composes(synthesized: Synthesized) -> None:
    """A stack added to the app but not to COMPONENTS would outlive a destroy unreported."""
    assert {synthesized.config.stack_name(component) for component in leftovers.COMPONENTS} == set(
        synthesized.stack_names
    )
