"""Bad config stops synth with one line naming the key and the problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config.settings import CONFIG_DIR, ConfigError, load_config
from constructs.lifecycle import LOG_RETENTION_DAYS
from tests.synth import REPO_ROOT


def _load_with(tmp_path: Path, env: str, edit) -> None:
    data = yaml.safe_load((CONFIG_DIR / f"{env}.yaml").read_text())
    edit(data)
    (tmp_path / f"{env}.yaml").write_text(yaml.safe_dump(data))
    load_config(env, config_dir=tmp_path)


def _parent_and_leaf(data: dict, path: str) -> tuple[dict, str | int]:
    *parents, leaf = (int(part) if part.isdigit() else part for part in path.split("."))
    for part in parents:
        data = data[part]
    return data, leaf


def _set(path: str, value):
    def edit(data: dict) -> None:
        node, leaf = _parent_and_leaf(data, path)
        node[leaf] = value

    return edit


def _delete(path: str):
    def edit(data: dict) -> None:
        node, leaf = _parent_and_leaf(data, path)
        del node[leaf]

    return edit


BAD_INPUTS = [
    # (env, edit, expected message fragment)
    ("dev", _set("nmae_prefix", "x"), "dev.yaml: nmae_prefix: unknown key"),
    ("dev", _set("network.nat_gateway", 1), "dev.yaml: network.nat_gateway: unknown key"),
    ("dev", _delete("database.instance_class"), "dev.yaml: database.instance_class: is required"),
    ("dev", _set("network.az_count", "two"), "dev.yaml: network.az_count: Input should be a valid integer"),
    (
        "dev",
        _set("cluster.kubernetes_version", 1.36),
        "dev.yaml: cluster.kubernetes_version: Input should be a valid string (got 1.36)",
    ),
    (
        "dev",
        _set("network.vpc_cidr", "10.0.0.0/33"),
        "dev.yaml: network.vpc_cidr: '10.0.0.0/33' is not a valid IPv4 CIDR",
    ),
    (
        "dev",
        _set("network.vpc_cidr", "10.0.0.1/16"),
        "dev.yaml: network.vpc_cidr: '10.0.0.1/16' is not a valid IPv4 CIDR (10.0.0.1/16 has host bits set)",
    ),
    (
        "dev",
        _set("network.vpc_cidr", "8.8.0.0/16"),
        "dev.yaml: network.vpc_cidr: 8.8.0.0/16 is not a private (RFC 1918) range",
    ),
    ("dev", _set("network.vpc_cidr", "10.0.0.0/24"), "dev.yaml: network.vpc_cidr: 10.0.0.0/24 must be a /16 to /18"),
    (
        "dev",
        _set("allowed_ingress_cidrs", ["203.0.113.0/24", "10.10.5.0/24"]),
        "dev.yaml: allowed_ingress_cidrs[1]: 10.10.5.0/24 overlaps the VPC CIDR 10.10.0.0/16",
    ),
    (
        "dev",
        _set("allowed_ingress_cidrs", ["0.0.0.0/0"]),
        "dev.yaml: allowed_ingress_cidrs: [0]: 0.0.0.0/0 admits the whole internet",
    ),
    ("dev", _set("network.az_count", 4), "dev.yaml: network.az_count: Input should be less than or equal to 3 (got 4)"),
    (
        "dev",
        _set("network.az_count", 1),
        "dev.yaml: network.az_count: Input should be greater than or equal to 2 (got 1)",
    ),
    ("dev", _set("network.nat_gateways", 3), "dev.yaml: network: nat_gateways (3) must not exceed az_count (2)"),
    (
        "dev",
        _set("network.availability_zones", ["us-east-1a", "us-east-1b"]),
        "dev.yaml: network.availability_zones[0]: 'us-east-1a' is not an AZ of region us-west-2",
    ),
    ("dev", _set("cluster.core_nodes.min_size", 5), "dev.yaml: cluster.core_nodes: min_size (5) > max_size (3)"),
    (
        "dev",
        _set("cluster.core_nodes.desired_size", 9),
        "dev.yaml: cluster.core_nodes: desired_size (9) must lie between min_size (2) and max_size (3)",
    ),
    (
        "dev",
        _set("cluster.core_nodes.instance_types", ["m7g large"]),
        "dev.yaml: cluster.core_nodes.instance_types: 'm7g large' is not an EC2 instance type name",
    ),
    (
        "dev",
        _set("cluster.kubernetes_version", "1.30"),
        "dev.yaml: cluster.kubernetes_version: '1.30' is not supported (supported: 1.35, 1.36)",
    ),
    (
        "dev",
        _set("database.max_allocated_storage_gib", 10),
        "dev.yaml: database.max_allocated_storage_gib: Input should be greater than or equal to 20 (got 10)",
    ),
    (
        "prod",
        _set("database.max_allocated_storage_gib", 30),
        "prod.yaml: database: max_allocated_storage_gib (30) < allocated_storage_gib (50)",
    ),
    (
        "dev",
        _set("database.performance_insights", True),
        "dev.yaml: database: performance_insights is not available on t4g.small",
    ),
    (
        "dev",
        _set("removal_policy", "keep"),
        "dev.yaml: removal_policy: Input should be 'destroy', 'retain' or 'snapshot' (got 'keep')",
    ),
    ("dev", _set("logging.retention_days", 10), "dev.yaml: logging.retention_days: Input should be 1, 3, 5, 7, 14"),
    ("dev", _set("account", "12345"), "dev.yaml: account: String should match pattern"),
    ("dev", _set("region", "Oregon"), "dev.yaml: region: String should match pattern"),
    ("dev", _set("env_name", "prod"), "dev.yaml: env_name: unknown key (the env name is the file name)"),
    ("prod", _set("database.multi_az", False), "prod.yaml: database.multi_az: must be true in a production env"),
    (
        "prod",
        _set("removal_policy", "destroy"),
        "prod.yaml: removal_policy: must be retain or snapshot in a production env",
    ),
    (
        "prod",
        _set("logging.retention_days", 30),
        "prod.yaml: logging.retention_days: must be at least 365 in a production env",
    ),
    (
        "dev",
        _set("environment_type", "staging"),
        "dev.yaml: environment_type: Input should be 'development' or 'production' (got 'staging')",
    ),
    # ---- cluster ----
    (
        "dev",
        _set("cluster.endpoint", {"access": "public_and_private"}),
        "dev.yaml: cluster.endpoint.public_access_cidrs: list the CIDRs that may reach the public endpoint",
    ),
    (
        "dev",
        _set("cluster.endpoint", {"access": "private", "public_access_cidrs": ["198.51.100.0/24"]}),
        "dev.yaml: cluster.endpoint.public_access_cidrs: must be empty when access is private",
    ),
    (
        "dev",
        _set("cluster.endpoint", {"access": "public_and_private", "public_access_cidrs": ["0.0.0.0/0"]}),
        "dev.yaml: cluster.endpoint.public_access_cidrs: [0]: 0.0.0.0/0 opens the API server to the whole internet",
    ),
    (
        "dev",
        _set("cluster.endpoint.access", "public"),
        "dev.yaml: cluster.endpoint.access: Input should be 'private' or 'public_and_private' (got 'public')",
    ),
    (
        "dev",
        _set("cluster.admin_role_arns", ["arn:aws:iam::111122223333:user/alice"]),
        "dev.yaml: cluster.admin_role_arns[0]: String should match pattern",
    ),
    (
        "dev",
        _set("cluster.control_plane_logs", ["api", "kubelet"]),
        "dev.yaml: cluster.control_plane_logs[1]: Input should be 'api', 'audit', 'authenticator'",
    ),
    (
        "dev",
        _set("cluster.core_nodes.min_size", 1),
        "dev.yaml: cluster.core_nodes.min_size: must be at least 2 so the cluster's HA controllers spread",
    ),
    (
        "dev",
        _set("cluster.core_nodes.instance_types", ["t4g.large", "t3.large"]),
        "dev.yaml: cluster.core_nodes.instance_types: mixes Graviton (arm64) and x86_64 types",
    ),
    (
        "prod",
        _set("cluster.core_nodes.capacity_type", "SPOT"),
        "prod.yaml: cluster.core_nodes.capacity_type: must be ON_DEMAND in a production env",
    ),
    (
        "prod",
        _set("cluster.control_plane_logs", ["api"]),
        "prod.yaml: cluster.control_plane_logs: must include audit and authenticator in a production env",
    ),
    (
        "prod",
        _set("cluster.core_nodes.min_size", 2),
        "prod.yaml: cluster.core_nodes.min_size: must be at least 3 and at least az_count in a production env",
    ),
    (
        "dev",
        _delete("cluster.addons.2"),
        "dev.yaml: cluster.addons: eks-pod-identity-agent is required",
    ),
    (
        "dev",
        _set("cluster.addons.0.name", "vpc-cnl"),
        "dev.yaml: cluster.addons: vpc-cni is required",
    ),
    (
        "dev",
        lambda data: data["cluster"]["addons"].append({"name": "amazon-cloudwatch-observability", "after_nodes": True}),
        "dev.yaml: cluster.addons[7].name: 'amazon-cloudwatch-observability' has no version in versions.yaml",
    ),
    (
        "dev",
        _set("cluster.karpenter.node_pools.0.node_class", "gpu"),
        "dev.yaml: cluster.karpenter.node_pools[0].node_class: 'gpu' is not a node class (defined: default, local-nvme)",
    ),
    (
        "dev",
        _set("cluster.karpenter.node_pools.1.name", "spark-compute-optimized"),
        "dev.yaml: cluster.karpenter.node_pools[1].name: 'spark-compute-optimized' is used twice",
    ),
    (
        "dev",
        lambda data: data["cluster"]["karpenter"]["node_pools"][0]["requirements"].update(
            {"karpenter.sh/capacity-type": ["spot", "reserved-ish"]}
        ),
        "dev.yaml: cluster.karpenter.node_pools[0].requirements: karpenter.sh/capacity-type: reserved-ish not one of",
    ),
    (
        "dev",
        _set("cluster.karpenter.node_pools.0.consolidate_after", "30 seconds"),
        "dev.yaml: cluster.karpenter.node_pools[0].consolidate_after: String should match pattern",
    ),
    (
        "dev",
        _set("cluster.karpenter.node_classes.0.metadata_hop_limit", 3),
        "dev.yaml: cluster.karpenter.node_classes[0].metadata_hop_limit: Input should be less than or equal to 2",
    ),
]


@pytest.mark.parametrize(("env", "edit", "expected"), BAD_INPUTS, ids=[case[2][:60] for case in BAD_INPUTS])
def test_bad_config_is_one_clear_line(tmp_path: Path, env: str, edit, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _load_with(tmp_path, env, edit)
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message


def test_karpenter_crds_must_match_the_controller(tmp_path: Path) -> None:
    versions = yaml.safe_load((REPO_ROOT / "versions.yaml").read_text())
    versions["helm_charts"]["karpenter_crd"]["version"] = "1.13.0"
    (tmp_path / "versions.yaml").write_text(yaml.safe_dump(versions))
    with pytest.raises(ConfigError) as raised:
        load_config("dev", versions_file=tmp_path / "versions.yaml")
    assert str(raised.value) == (
        "versions.yaml: helm_charts.karpenter_crd.version: 1.13.0 differs from karpenter.version 1.14.1; "
        "the CRDs must match the controller"
    )


def test_unknown_env_names_the_available_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"^env: unknown env 'staging': there is no config/staging.yaml \(available: dev, prod\)$"
    ):
        load_config("staging")


def test_env_name_cannot_escape_the_config_folder() -> None:
    with pytest.raises(ConfigError, match=r"^env: '\.\./versions' is not a valid env name"):
        load_config("../versions")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").write_text("name_prefix: airflow\nnetwork: [unclosed\n")
    with pytest.raises(ConfigError, match=r"^dev.yaml: line 3 is not valid YAML"):
        load_config("dev", config_dir=tmp_path)


def test_shipped_envs_load() -> None:
    dev, prod = load_config("dev"), load_config("prod")
    assert (dev.environment_type, prod.environment_type) == ("development", "production")
    assert dev.availability_zones == ["us-west-2a", "us-west-2b"]
    assert prod.availability_zones == ["us-west-2a", "us-west-2b", "us-west-2c"]


def test_log_retention_choices_match_what_cdk_can_express() -> None:
    from config.settings import LoggingConfig

    allowed = LoggingConfig.model_fields["retention_days"].annotation.__args__
    assert tuple(allowed) == LOG_RETENTION_DAYS


def test_app_exits_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """What `cdk synth -c env=staging` runs: the app prints one line, exits non-zero, creates no template."""
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps({"env": "staging"}), "CDK_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: env: unknown env 'staging': there is no config/staging.yaml (available: dev, prod)"
    ]
    assert "Traceback" not in result.stdout + result.stderr
    assert not list(outdir.glob("*.template.json")) if outdir.exists() else True


def test_project_constructs_folder_extends_the_constructs_library() -> None:
    import constructs
    from constructs import Construct
    from constructs.database import AirflowDatabase

    assert Construct.__module__.startswith("constructs")
    assert hasattr(constructs, "Node")  # the jsii library, not our folder shadowing it
    assert AirflowDatabase.__module__ == "constructs.database"
