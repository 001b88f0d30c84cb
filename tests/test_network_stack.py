"""The network stack: subnets per AZ and role, flow logs, the S3 endpoint, discovery tags; and the private
subnets' egress (NAT, interface endpoints) that the cluster stack creates for them."""

from __future__ import annotations

import ipaddress

from tests.support import transitive_dependencies
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


def _subnet_az(network: dict, subnet: dict) -> str:
    """The AZ of the network-stack subnet a cluster-stack property names (through Fn::GetStackOutput)."""
    output = subnet["Fn::GetStackOutput"]["OutputName"]
    return network["Resources"][network["Outputs"][output]["Value"]["Ref"]]["Properties"]["AvailabilityZone"]


def test_nat_gateways_per_env_beside_the_control_plane(dev: Synthesized, prod: Synthesized) -> None:
    """The private subnets' NAT gateways and default routes are the cluster stack's (constructs/network/egress.py),
    so the stacks above the network wait only for the subnets; one gateway per configured AZ, in its public
    subnet, and every private subnet routes to the gateway of its own AZ, or to the only one."""
    for synthesized, count in ((dev, 1), (prod, 3)):
        network, cluster = synthesized.template("network"), synthesized.template("cluster")
        assert resources_of_type(network, "AWS::EC2::NatGateway") == {}
        assert [
            r for r in resources_of_type(network, "AWS::EC2::Route").values() if "NatGatewayId" in r["Properties"]
        ] == []
        gateways = resources_of_type(cluster, "AWS::EC2::NatGateway")
        assert len(gateways) == count == synthesized.config.network.nat_gateways
        gateway_az = {lid: _subnet_az(network, g["Properties"]["SubnetId"]) for lid, g in gateways.items()}
        public_azs = {s["Properties"]["AvailabilityZone"] for s in _subnets(network, "Public")}
        assert set(gateway_az.values()) <= public_azs and len(set(gateway_az.values())) == count
        private_tables = {
            lid: r for lid, r in resources_of_type(network, "AWS::EC2::RouteTable").items() if "privateSubnet" in lid
        }
        routes = [r["Properties"] for r in resources_of_type(cluster, "AWS::EC2::Route").values()]
        assert len(routes) == len(private_tables) == len(synthesized.config.availability_zones)
        for route in routes:
            assert route["DestinationCidrBlock"] == "0.0.0.0/0"
            table_output = route["RouteTableId"]["Fn::GetStackOutput"]["OutputName"]
            assert network["Outputs"][table_output]["Value"]["Ref"] in private_tables
            gateway = route["NatGatewayId"]["Ref"]
            (association,) = [
                a["Properties"]
                for a in resources_of_type(network, "AWS::EC2::SubnetRouteTableAssociation").values()
                if a["Properties"]["RouteTableId"] == network["Outputs"][table_output]["Value"]
            ]
            subnet_az = network["Resources"][association["SubnetId"]["Ref"]]["Properties"]["AvailabilityZone"]
            assert gateway_az[gateway] == subnet_az or count == 1


def test_what_leaves_the_vpc_waits_for_the_way_out_and_the_control_plane_does_not(synthesized: Synthesized) -> None:
    """Nodes need the default routes to join and the kubectl handler to reach the EKS API and chart repositories;
    the control plane needs neither, so it is created beside the NAT gateways. Every manifest and chart waits for
    the ready barrier, so on `cdk destroy` the routes (and endpoints) outlive the last of them."""
    cluster = synthesized.template("cluster")
    egress = {
        lid for lid, r in cluster["Resources"].items() if r["Type"] in ("AWS::EC2::Route", "AWS::EC2::VPCEndpoint")
    }
    assert egress
    (eks_id,) = resources_of_type(cluster, "AWS::EKS::Cluster")
    assert not egress & transitive_dependencies(cluster, eks_id)
    (nodes_id,) = resources_of_type(cluster, "AWS::EKS::Nodegroup")
    assert egress <= transitive_dependencies(cluster, nodes_id)
    for lid, resource in cluster["Resources"].items():
        if resource["Type"].startswith("Custom::AWSCDK-EKS-"):
            assert egress <= transitive_dependencies(cluster, lid), lid


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
    """The S3 gateway endpoint is the network's (the data stack's function in the VPC reaches S3 through it); the
    interface endpoints serve the cluster's nodes and controllers, so they are the cluster stack's."""
    for synthesized, expected in ((dev, set()), (prod, {"ecr.api", "ecr.dkr", "sts", "logs", "ec2", "sqs"})):
        network_endpoints = resources_of_type(synthesized.template("network"), "AWS::EC2::VPCEndpoint").values()
        (gateway,) = network_endpoints
        assert gateway["Properties"]["VpcEndpointType"] == "Gateway" and "s3" in str(
            gateway["Properties"]["ServiceName"]
        )
        endpoints = resources_of_type(synthesized.template("cluster"), "AWS::EC2::VPCEndpoint").values()
        interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
        assert len(interface) == len(endpoints)
        prefix = f"com.amazonaws.{synthesized.config.region}."
        names = {e["Properties"]["ServiceName"].removeprefix(prefix) for e in interface}
        assert names == expected
        assert synthesized.config.network.interface_endpoints == bool(expected)
        for endpoint in interface:
            assert endpoint["Properties"]["PrivateDnsEnabled"] is True


def test_endpoint_security_group_admits_only_https_from_the_vpc(prod: Synthesized) -> None:
    template = prod.template("cluster")
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


# What Lambda itself does for a function in a VPC (its network interfaces, its log delivery), not the function's code.
_LAMBDA_SERVICE_ACTIONS = {
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}


def test_functions_in_the_vpc_outside_the_cluster_stack_need_no_egress(synthesized: Synthesized) -> None:
    """The private subnets' default routes are the cluster stack's, and the data stack deploys beside it: a function
    of another stack in the VPC may reach only what needs no route out, S3 through the gateway endpoint (its
    CloudFormation response goes to S3 too) and EFS mount targets, or it would fail until the cluster stack is up."""
    checked = 0
    for stack_name, template in synthesized.templates.items():
        if stack_name == synthesized.config.stack_name("cluster"):
            continue
        resources = template["Resources"]
        for logical_id, function in resources_of_type(template, "AWS::Lambda::Function").items():
            if "VpcConfig" not in function["Properties"]:
                continue
            role = {"Ref": function["Properties"]["Role"]["Fn::GetAtt"][0]}
            role_properties = resources[role["Ref"]]["Properties"]
            assert "ManagedPolicyArns" not in role_properties, logical_id
            documents = [p["PolicyDocument"] for p in role_properties.get("Policies", [])] + [
                policy["Properties"]["PolicyDocument"]
                for policy in resources_of_type(template, "AWS::IAM::Policy").values()
                if role in policy["Properties"]["Roles"]
            ]
            actions = {
                action
                for document in documents
                for statement in document["Statement"]
                for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
            }
            code_calls = actions - _LAMBDA_SERVICE_ACTIONS
            assert code_calls and all(a.startswith(("s3:", "elasticfilesystem:Client")) for a in code_calls), (
                logical_id,
                sorted(code_calls),
            )
            checked += 1
    assert checked >= 1
