"""The network stack: subnets per AZ and role, NAT per env, flow logs, endpoints, discovery tags."""

from __future__ import annotations

import ipaddress

from tests.synth import Synthesized
from tests.template_queries import only_resource, resources_of_type, tags


def _subnets(template: dict, subnet_type: str) -> list[dict]:
    return [
        subnet
        for subnet in resources_of_type(template, "AWS::EC2::Subnet").values()
        if tags(subnet)["aws-cdk:subnet-type"] == subnet_type
    ]


def test_three_subnet_tiers_one_per_az(synthesized: Synthesized) -> None:
    template = synthesized.template("network")
    azs = synthesized.config.availability_zones
    for subnet_type in ("Public", "Private", "Isolated"):
        subnets = _subnets(template, subnet_type)
        assert sorted(s["Properties"]["AvailabilityZone"] for s in subnets) == azs
    vpc_cidr = ipaddress.IPv4Network(synthesized.config.network.vpc_cidr)
    for subnet in resources_of_type(template, "AWS::EC2::Subnet").values():
        assert ipaddress.IPv4Network(subnet["Properties"]["CidrBlock"]).subnet_of(vpc_cidr)
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    # Pods draw their IPs from the private subnets: each is an eighth of the VPC.
    for subnet in _subnets(template, "Private"):
        assert ipaddress.IPv4Network(subnet["Properties"]["CidrBlock"]).prefixlen == vpc_cidr.prefixlen + 3


def test_isolated_subnets_have_no_route_out(synthesized: Synthesized) -> None:
    template = synthesized.template("network")
    routes = resources_of_type(template, "AWS::EC2::Route")
    isolated_tables = {
        lid for lid, table in resources_of_type(template, "AWS::EC2::RouteTable").items() if "databaseSubnet" in lid
    }
    assert isolated_tables
    for route in routes.values():
        assert route["Properties"]["RouteTableId"]["Ref"] not in isolated_tables


def test_nat_gateways_per_env(dev: Synthesized, prod: Synthesized) -> None:
    assert len(resources_of_type(dev.template("network"), "AWS::EC2::NatGateway")) == 1
    assert len(resources_of_type(prod.template("network"), "AWS::EC2::NatGateway")) == 3


def test_load_balancer_and_karpenter_subnet_tags(synthesized: Synthesized) -> None:
    template = synthesized.template("network")
    for subnet in _subnets(template, "Public"):
        assert tags(subnet)["kubernetes.io/role/elb"] == "1"
        assert "karpenter.sh/discovery" not in tags(subnet)
    for subnet in _subnets(template, "Private"):
        assert tags(subnet)["kubernetes.io/role/internal-elb"] == "1"
        assert tags(subnet)["karpenter.sh/discovery"] == synthesized.config.cluster_name
    cluster_tags = {"kubernetes.io/role/elb", "kubernetes.io/role/internal-elb", "karpenter.sh/discovery"}
    for subnet in _subnets(template, "Isolated"):
        assert not cluster_tags & set(tags(subnet))


def test_flow_logs_capture_all_traffic_into_an_encrypted_log_group(synthesized: Synthesized) -> None:
    template = synthesized.template("network")
    _, flow_log = only_resource(template, "AWS::EC2::FlowLog")
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    assert flow_log["Properties"]["ResourceType"] == "VPC"
    log_group_id = flow_log["Properties"]["LogGroupName"]["Ref"]
    log_group = template["Resources"][log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    # The flow logs' group is kept with the env's data; the other one is CDK's default-security-group handler's.
    assert log_group["DeletionPolicy"] == ("Delete" if synthesized.config.removal_policy == "destroy" else "Retain")
    assert log_group["Properties"]["RetentionInDays"] == synthesized.config.logging.retention_days
    assert "Fn::GetAtt" in log_group["Properties"]["KmsKeyId"]


def test_s3_gateway_endpoint_always_interface_endpoints_when_enabled(dev: Synthesized, prod: Synthesized) -> None:
    for synthesized, expected in ((dev, set()), (prod, {"ecr.api", "ecr.dkr", "sts", "logs", "ec2", "sqs"})):
        endpoints = resources_of_type(synthesized.template("network"), "AWS::EC2::VPCEndpoint").values()
        gateway = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Gateway"]
        assert len(gateway) == 1 and "s3" in str(gateway[0]["Properties"]["ServiceName"])
        interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
        prefix = f"com.amazonaws.{synthesized.config.region}."
        names = {e["Properties"]["ServiceName"].removeprefix(prefix) for e in interface}
        assert names == expected
        assert synthesized.config.network.interface_endpoints == bool(expected)
        for endpoint in interface:
            assert endpoint["Properties"]["PrivateDnsEnabled"] is True


def test_endpoint_security_group_admits_only_https_from_the_vpc(prod: Synthesized) -> None:
    template = prod.template("network")
    groups = [
        g
        for g in resources_of_type(template, "AWS::EC2::SecurityGroup").values()
        if "interface endpoints" in g["Properties"]["GroupDescription"]
    ]
    assert len(groups) == 1
    assert groups[0]["Properties"]["SecurityGroupIngress"] == [
        {
            "CidrIp": prod.config.network.vpc_cidr,
            "Description": "HTTPS from the VPC",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]


def test_data_clients_group_exists_without_ingress(synthesized: Synthesized) -> None:
    template = synthesized.template("network")
    groups = [
        g
        for g in resources_of_type(template, "AWS::EC2::SecurityGroup").values()
        if g["Properties"]["GroupDescription"].startswith("Workloads allowed to reach")
    ]
    assert len(groups) == 1
    assert "SecurityGroupIngress" not in groups[0]["Properties"]


def test_default_security_group_is_stripped(synthesized: Synthesized) -> None:
    assert resources_of_type(synthesized.template("network"), "Custom::VpcRestrictDefaultSG")
