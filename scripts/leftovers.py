"""Lists what an env left in its AWS account and region after `cdk destroy`: one line per resource, saying why it is
flagged and whether the env keeps it by design (prod's data). Exit 0 when nothing is left, 1 when something is,
2 on bad input or no credentials (one line, no traceback).

Looked up by what each creator puts on it (tests/destroy_inventory.yaml): the env's own `project`/`env` tags (every
CloudFormation resource, and what the load balancer controller, Karpenter and the EBS CSI driver create), the
controllers' own tags for what they made before they were given the env's, the env's stack names, and the names
of log groups a service creates without tags.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import boto3  # noqa: E402
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError  # noqa: E402

from config.settings import AppConfig, ConfigError, load_config  # noqa: E402

# What `cdk destroy` keeps when removal_policy is retain or snapshot (README "Tearing down"), by ARN service and
# resource type; the DB itself leaves a final snapshot.
KEPT_BY_DESIGN = {
    ("kms", "key"),
    ("logs", "log-group"),
    ("s3", ""),
    ("elasticfilesystem", "file-system"),
    ("elasticfilesystem", "access-point"),
    ("secretsmanager", "secret"),
    ("aps", "workspace"),
    ("rds", "snapshot"),
}
# The one stack state that is no leftover (list_stacks also returns deleted stacks for 90 days).
GONE = {"DELETE_COMPLETE"}
# The env's stacks: <prefix>-<env>-<component> (stacks/); matched whole, so env dev does not claim env dev-x's.
COMPONENTS = ("network", "data", "cluster", "airflow", "karpenter", "spark", "observability")


@dataclass(frozen=True)
class Leftover:
    kind: str
    identifier: str
    why: str
    kept_by_design: bool = False

    def line(self) -> str:
        verdict = "kept by design" if self.kept_by_design else "left over"
        return f"{self.kind}\t{self.identifier}\t{self.why}\t{verdict}"


def _arn_type(arn: str) -> tuple[str, str]:
    """(service, resource type) of an ARN: arn:aws:ec2:r:a:volume/vol-1 -> (ec2, volume); an S3 bucket has none."""
    _, _, service, _, _, resource = arn.split(":", 5)
    if "/" not in resource and ":" not in resource:
        return service, ""
    return service, resource.split("/", 1)[0].split(":", 1)[0]


def _pages(client, operation: str, key: str, **kwargs) -> Iterator[dict]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


class Finder:
    def __init__(self, config: AppConfig, session: boto3.session.Session) -> None:
        self.config = config
        self.session = session
        self.cluster = config.cluster_name
        self.keeps_data = config.removal_policy != "destroy"

    def client(self, service: str):
        return self.session.client(service, region_name=self.config.region)

    def all(self) -> tuple[list[Leftover], list[str]]:
        """What is left, and one line per check that could not run (e.g. AccessDenied): the others still count."""
        found: dict[str, Leftover] = {}
        failed: list[str] = []
        checks: list[Callable[[], Iterator[Leftover]]] = [
            self.stacks,
            self.tagged,
            self.instances,
            self.volumes,
            self.launch_templates,
            self.network_interfaces,
            self.security_groups,
            self.load_balancers,
            self.instance_profiles,
            self.log_groups,
        ]
        for check in checks:
            try:
                for leftover in check():
                    # The first reason found stays: the env's own tags say more than a controller's. An EC2 resource
                    # is an ARN to the Tagging API and an id to EC2: one key for both.
                    found.setdefault(_resource_id(leftover.identifier), leftover)
            except ClientError as err:
                error = err.response["Error"]
                failed.append(f"{check.__name__}: {err.operation_name}: {error.get('Code')}: {error.get('Message')}")
        return sorted(found.values(), key=lambda item: (item.kind, item.identifier)), failed

    # ---- CloudFormation ----

    def stacks(self) -> Iterator[Leftover]:
        cloudformation = self.client("cloudformation")
        names = {self.config.stack_name(component) for component in COMPONENTS}
        for summary in _pages(cloudformation, "list_stacks", "StackSummaries"):
            if summary["StackName"] in names and summary["StackStatus"] not in GONE:
                yield Leftover("cloudformation:stack", summary["StackName"], f"stack {summary['StackStatus']}")

    # ---- the env's tags (everything CloudFormation made, and what the controllers made since they tag it) ----

    def tagged(self) -> Iterator[Leftover]:
        tagging = self.client("resourcegroupstaggingapi")
        filters = [
            {"Key": "project", "Values": [self.config.project]},
            {"Key": "env", "Values": [self.config.env_name]},
        ]
        for resource in _pages(tagging, "get_resources", "ResourceTagMappingList", TagFilters=filters):
            arn = resource["ResourceARN"]
            service, resource_type = _arn_type(arn)
            if (service, resource_type) == ("ec2", "instance"):
                continue  # the Tagging API still returns terminated ones; instances() asks EC2 for the live ones
            if self._pending_deletion(service, resource_type, arn):
                continue
            kept = self.keeps_data and (service, resource_type) in KEPT_BY_DESIGN
            kind = f"{service}:{resource_type}" if resource_type else service
            yield Leftover(kind, arn, f"tagged project={self.config.project} env={self.config.env_name}", kept)

    def _pending_deletion(self, service: str, resource_type: str, arn: str) -> bool:
        """Keys and secrets CloudFormation scheduled for deletion keep their tags until AWS deletes them."""
        try:
            if (service, resource_type) == ("kms", "key"):
                return self.client("kms").describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
            if (service, resource_type) == ("secretsmanager", "secret"):
                return "DeletedDate" in self.client("secretsmanager").describe_secret(SecretId=arn)
        except ClientError as err:
            # Gone between the two calls (the Tagging API lags behind deletions).
            return err.response["Error"]["Code"] in {"NotFoundException", "ResourceNotFoundException"}
        return False

    # ---- EC2: the controllers' own tags ----

    def instances(self) -> Iterator[Leftover]:
        filters = [
            {"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{self.cluster}"]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped", "shutting-down"]},
        ]
        for reservation in _pages(self.client("ec2"), "describe_instances", "Reservations", Filters=filters):
            for instance in reservation["Instances"]:
                tags = _tags(instance)
                owner = (
                    f"Karpenter NodePool {tags['karpenter.sh/nodepool']}" if "karpenter.sh/nodepool" in tags else "node"
                )
                yield Leftover("ec2:instance", instance["InstanceId"], f"{owner} of cluster {self.cluster}")

    def volumes(self) -> Iterator[Leftover]:
        """Node volumes by the cluster's tag; the EBS CSI driver's claim volumes carry the env's tags (the add-on's
        extraVolumeTags), which tagged() finds."""
        ec2 = self.client("ec2")
        filters = [{"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{self.cluster}"]}]
        for volume in _pages(ec2, "describe_volumes", "Volumes", Filters=filters):
            tags = _tags(volume)
            claim = tags.get("kubernetes.io/created-for/pvc/name")
            why = f"a node volume of {self.cluster}"
            if claim:
                why = f"an EBS CSI volume (claim {tags.get('kubernetes.io/created-for/pvc/namespace')}/{claim})"
            yield Leftover("ec2:volume", volume["VolumeId"], f"{why}, {volume['State']}")

    def launch_templates(self) -> Iterator[Leftover]:
        filters = [{"Name": "tag:eks:eks-cluster-name", "Values": [self.cluster]}]
        for template in _pages(self.client("ec2"), "describe_launch_templates", "LaunchTemplates", Filters=filters):
            yield Leftover(
                "ec2:launch-template",
                template["LaunchTemplateId"],
                f"Karpenter launch template {template['LaunchTemplateName']} of cluster {self.cluster}",
            )

    def network_interfaces(self) -> Iterator[Leftover]:
        ec2 = self.client("ec2")
        searches = [
            ([{"Name": "tag:cluster.k8s.amazonaws.com/name", "Values": [self.cluster]}], "VPC CNI interface"),
            (
                [{"Name": "description", "Values": [f"AWS Lambda VPC ENI-{self.config.stack_name('')}*"]}],
                "interface of a deleted VPC Lambda function (Lambda deletes it; blocks subnet deletion until then)",
            ),
            ([{"Name": "description", "Values": [f"Amazon EKS {self.cluster}"]}], "EKS control-plane interface"),
        ]
        for vpc in _pages(ec2, "describe_vpcs", "Vpcs", Filters=self._env_tag_filters()):
            searches.append(([{"Name": "vpc-id", "Values": [vpc["VpcId"]]}], f"in the env's VPC {vpc['VpcId']}"))
        for filters, why in searches:
            for interface in _pages(ec2, "describe_network_interfaces", "NetworkInterfaces", Filters=filters):
                detail = f"{why}: {interface.get('Description') or 'no description'}, {interface['Status']}"
                yield Leftover("ec2:network-interface", interface["NetworkInterfaceId"], detail)

    def _env_tag_filters(self) -> list[dict]:
        return [
            {"Name": "tag:project", "Values": [self.config.project]},
            {"Name": "tag:env", "Values": [self.config.env_name]},
        ]

    def security_groups(self) -> Iterator[Leftover]:
        ec2 = self.client("ec2")
        for filters, why in (
            ([{"Name": "tag:elbv2.k8s.aws/cluster", "Values": [self.cluster]}], "load balancer controller's group"),
            ([{"Name": "tag:aws:eks:cluster-name", "Values": [self.cluster]}], "EKS cluster security group"),
        ):
            for group in _pages(ec2, "describe_security_groups", "SecurityGroups", Filters=filters):
                yield Leftover("ec2:security-group", group["GroupId"], f"{why} {group['GroupName']}")

    # ---- ELB: the load balancer controller's tags ----

    def load_balancers(self) -> Iterator[Leftover]:
        elbv2 = self.client("elbv2")
        for operation, key, arn_key, kind in (
            ("describe_load_balancers", "LoadBalancers", "LoadBalancerArn", "elasticloadbalancing:loadbalancer"),
            ("describe_target_groups", "TargetGroups", "TargetGroupArn", "elasticloadbalancing:targetgroup"),
        ):
            arns = [item[arn_key] for item in _pages(elbv2, operation, key)]
            for start in range(0, len(arns), 20):  # DescribeTags takes at most 20 ARNs
                for description in elbv2.describe_tags(ResourceArns=arns[start : start + 20])["TagDescriptions"]:
                    tags = _tags(description)
                    if tags.get("elbv2.k8s.aws/cluster") == self.cluster:
                        owner = tags.get("ingress.k8s.aws/stack") or tags.get("service.k8s.aws/stack") or "?"
                        why = f"load balancer controller's, for {owner}"
                        yield Leftover(kind, description["ResourceArn"], why)

    # ---- IAM: Karpenter's instance profiles ----

    def instance_profiles(self) -> Iterator[Leftover]:
        prefix = f"/karpenter/{self.config.region}/{self.cluster}/"
        for profile in _pages(
            self.session.client("iam"), "list_instance_profiles", "InstanceProfiles", PathPrefix=prefix
        ):
            yield Leftover("iam:instance-profile", profile["Arn"], "Karpenter instance profile of an EC2NodeClass")

    # ---- CloudWatch Logs: groups found by name (a group a service created itself has no tags) ----

    def log_groups(self) -> Iterator[Leftover]:
        logs = self.client("logs")
        stack_prefix = self.config.stack_name("")
        # Lambda's own groups are never kept: each function logs to a group of its stack, so one here was made by
        # Lambda outside CloudFormation.
        for prefix, why, kept in (
            (f"/aws/eks/{self.cluster}/", "EKS control plane or Fluent Bit", self.keeps_data),
            (f"/aws/rds/instance/{self.cluster}-", "RDS log export", self.keeps_data),
            (f"/aws/lambda/{stack_prefix}", "made by Lambda for a function of the env's stacks", False),
            (stack_prefix, "a log group of the env's stacks", self.keeps_data),
        ):
            for group in _pages(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix):
                arn = group["arn"].removesuffix(":*")
                yield Leftover("logs:log-group", arn, f"named {group['logGroupName']} ({why})", kept)


def _resource_id(identifier: str) -> str:
    """An EC2 ARN's resource id (arn:aws:ec2:r:a:volume/vol-1 -> vol-1); any other identifier as it is."""
    if identifier.startswith("arn:") and identifier.split(":", 3)[2] == "ec2":
        return identifier.rsplit("/", 1)[-1]
    return identifier


def _tags(resource: dict) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags") or []}


def main(argv: list[str] | None = None, session: boto3.session.Session | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env", help="the env whose leftovers to list (config/<env>.yaml)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.env)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        session = session or boto3.session.Session(region_name=config.region)
        account = session.client("sts", region_name=config.region).get_caller_identity()["Account"]
        if config.account is not None and account != config.account:
            print(
                f"error: the credentials are for account {account}; env {args.env} is in {config.account}",
                file=sys.stderr,
            )
            return 2
        leftovers, failed = Finder(config, session).all()
    except (NoCredentialsError, NoRegionError) as err:
        print(f"error: no AWS credentials or region: {err}", file=sys.stderr)
        return 2
    except ClientError as err:
        error = err.response["Error"]
        print(f"error: {err.operation_name}: {error.get('Code')}: {error.get('Message')}", file=sys.stderr)
        return 2
    except BotoCoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for leftover in leftovers:
        print(leftover.line())
    for failure in failed:
        print(f"error: could not check {failure}", file=sys.stderr)
    kept = sum(item.kept_by_design for item in leftovers)
    where = f"account {account}, {config.region}"
    print(f"{len(leftovers)} resources of env {args.env} in {where} ({kept} kept by design)", file=sys.stderr)
    if failed:
        return 2  # an incomplete answer is not "nothing left"
    return 1 if leftovers else 0


if __name__ == "__main__":
    sys.exit(main())
