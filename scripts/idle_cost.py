"""Estimates what a synthesized env costs a month while idle (Airflow up, no task or Spark pod running), from its
templates alone and the list prices in estimates/prices.yaml. Karpenter's pools are at zero when idle, so only the
core node group's instances count; what controllers create outside CloudFormation is priced from the manifests
that make them (an Ingress is an ALB).
"""

from __future__ import annotations

import fnmatch
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PRICES_FILE = Path(__file__).resolve().parent.parent / "estimates" / "prices.yaml"


class UnpricedResource(ValueError):
    """A resource whose price the table does not list (e.g. an instance type config names)."""


@dataclass(frozen=True)
class CostItem:
    category: str
    usd: float
    detail: str


def _resolved_literal(value: Any) -> Any:
    """A property as a literal, or None when it is a CloudFormation expression synth cannot resolve."""
    return None if isinstance(value, dict) else value


def _manifest_text(resource: dict[str, Any]) -> str:
    return json.dumps(resource.get("Properties", {}).get("Manifest", ""))


def estimate(templates: dict[str, dict[str, Any]], prices: dict[str, Any] | None = None) -> list[CostItem]:
    prices = prices or yaml.safe_load(PRICES_FILE.read_text())
    hours = prices["hours_per_month"]
    hourly = {name: entry["usd"] * hours for name, entry in prices["hourly"].items()}
    monthly = {name: entry["usd"] for name, entry in prices["monthly"].items()}
    usage = prices["idle_usage"]
    log_gb = monthly["log_ingestion_gb"]
    items: list[CostItem] = []

    resources = [r for template in templates.values() for r in template.get("Resources", {}).values()]
    by_id = {lid: r for template in templates.values() for lid, r in template.get("Resources", {}).items()}
    count: dict[str, int] = defaultdict(int)
    for resource in resources:
        count[resource["Type"]] += 1

    for resource in resources:
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::EC2::NatGateway":
            items.append(CostItem("NAT gateways", hourly["nat_gateway"], "per gateway"))
        elif kind == "AWS::EC2::EIP":
            items.append(CostItem("NAT gateways", hourly["public_ipv4_address"], "its public IPv4 address"))
        elif kind == "AWS::EC2::VPCEndpoint" and props.get("VpcEndpointType") == "Interface":
            azs = len(props.get("SubnetIds", []))
            items.append(CostItem("interface endpoints", azs * hourly["interface_endpoint_per_az"], f"{azs} AZs"))
        elif kind == "AWS::EKS::Cluster":
            items.append(CostItem("EKS control plane", hourly["eks_cluster"], "standard support"))
            enabled = [t["Type"] for t in props.get("Logging", {}).get("ClusterLogging", {}).get("EnabledTypes", [])]
            gb = sum(usage["control_plane_log_gb"]["gb"].get(t, 0) for t in enabled)
            items.append(CostItem("logs", gb * log_gb, f"control plane: {', '.join(enabled) or 'none'}"))
        elif kind == "AWS::EKS::Nodegroup":
            items.extend(_node_group(props, by_id, prices, hours, monthly))
        elif kind == "AWS::RDS::DBInstance":
            items.extend(_database(props, prices, hours, monthly))
        elif kind == "AWS::KMS::Key":
            items.append(CostItem("KMS keys and secrets", monthly["kms_key"], "key"))
        elif kind == "AWS::SecretsManager::Secret":
            items.append(CostItem("KMS keys and secrets", monthly["secret"], "secret"))
        elif kind == "AWS::CloudWatch::Alarm":
            items.append(CostItem("alarms", monthly["alarm"], "alarm"))
        elif kind == "AWS::EC2::FlowLog":
            items.append(CostItem("logs", usage["flow_log_gb"]["gb"] * log_gb, "VPC flow logs"))
        elif kind == "AWS::Logs::LogGroup":
            name = props.get("LogGroupName")
            for pattern, gb in usage["log_group_gb"]["gb"].items():
                if isinstance(name, str) and fnmatch.fnmatchcase(name, pattern):
                    items.append(CostItem("logs", gb * log_gb, name))
        elif kind == "AWS::APS::Workspace":
            items.append(CostItem("metrics (AMP)", usage["prometheus_workspace_usd"]["usd"], "samples and queries"))
        elif kind == "Custom::AWSCDK-EKS-KubernetesResource" and '\\"kind\\":\\"Ingress\\"' in _manifest_text(
            resource
        ).replace(" ", ""):
            alb = hourly["application_load_balancer"] + usage["alb_lcu_usd"]["usd"]
            items.append(CostItem("load balancers", alb, "an ALB per Ingress (load balancer controller)"))
        elif kind == "Custom::AWSCDK-EKS-HelmChart" and props.get("Chart") == "opencost":
            items.append(CostItem("metrics (AMP)", usage["opencost_usd"]["usd"], "OpenCost's inputs and queries"))
    return items


def _node_group(
    props: dict[str, Any], by_id: dict[str, Any], prices: dict[str, Any], hours: int, monthly: dict[str, float]
) -> list[CostItem]:
    if not props.get("InstanceTypes") or "DesiredSize" not in props.get("ScalingConfig", {}):
        raise UnpricedResource("a node group without InstanceTypes or ScalingConfig.DesiredSize cannot be priced")
    instance_type = props["InstanceTypes"][0]
    spot = props.get("CapacityType") == "SPOT"
    table = prices["ec2_spot" if spot else "ec2_on_demand"]["usd_per_hour"]
    if instance_type not in table:
        which = "ec2_spot" if spot else "ec2_on_demand"
        raise UnpricedResource(f"estimates/prices.yaml {which} has no price for {instance_type}")
    nodes = int(props["ScalingConfig"]["DesiredSize"])
    items = [
        CostItem(
            "core nodes",
            nodes * table[instance_type] * hours,
            f"{nodes} x {instance_type} {'Spot' if spot else 'on-demand'}",
        )
    ]
    template = by_id.get(props.get("LaunchTemplate", {}).get("Id", {}).get("Ref", ""), {})
    data = template.get("Properties", {}).get("LaunchTemplateData", {})
    disk = sum(m.get("Ebs", {}).get("VolumeSize", 0) for m in data.get("BlockDeviceMappings", [])) or 20
    items.append(CostItem("core nodes", nodes * disk * monthly["ebs_gp3_gb"], f"{nodes} x {disk} GB gp3"))
    if data.get("Monitoring", {}).get("Enabled"):
        items.append(CostItem("core nodes", nodes * monthly["detailed_monitoring_per_instance"], "detailed monitoring"))
    return items


def _database(props: dict[str, Any], prices: dict[str, Any], hours: int, monthly: dict[str, float]) -> list[CostItem]:
    instance_class = props["DBInstanceClass"]
    table = prices["rds_instance"]["usd_per_hour"]
    if instance_class not in table:
        raise UnpricedResource(f"estimates/prices.yaml rds_instance has no price for {instance_class}")
    copies = 2 if props.get("MultiAZ") is True else 1
    storage = int(_resolved_literal(props.get("AllocatedStorage")) or 20)
    where = "Multi-AZ" if copies == 2 else "single-AZ"
    return [
        CostItem("database", copies * table[instance_class] * hours, f"{instance_class} {where}"),
        CostItem("database", copies * storage * monthly["rds_gp3_gb"], f"{storage} GB gp3"),
    ]


def totals(items: list[CostItem]) -> dict[str, float]:
    by_category: dict[str, float] = defaultdict(float)
    for item in items:
        by_category[item.category] += item.usd
    return dict(sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0])))
