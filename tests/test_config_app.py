"""Bad app-level input (config/settings/app.py) stops synth with one line naming the key and the problem.

App-level means the root keys, the checks that span sections or files, and the production rules that each
section declares and AppConfig enforces.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import load_config
from tests.config_edits import append_item, config_error, set_key

APP_BAD_INPUTS = [
    # (env, edit, expected message fragment)
    ("dev", set_key("nmae_prefix", "x"), "dev.yaml: nmae_prefix: unknown key"),
    ("dev", set_key("env_name", "prod"), "dev.yaml: env_name: unknown key (the env name is the file name)"),
    (
        "dev",
        set_key("environment_type", "staging"),
        "dev.yaml: environment_type: Input should be 'development' or 'production' (got 'staging')",
    ),
    ("dev", set_key("account", "12345"), "dev.yaml: account: String should match pattern"),
    ("dev", set_key("region", "Oregon"), "dev.yaml: region: String should match pattern"),
    (
        "dev",
        set_key("removal_policy", "keep"),
        "dev.yaml: removal_policy: Input should be 'destroy', 'retain' or 'snapshot' (got 'keep')",
    ),
    (
        "dev",
        set_key("allowed_ingress_cidrs", ["0.0.0.0/0"]),
        "dev.yaml: allowed_ingress_cidrs: [0]: 0.0.0.0/0 admits the whole internet",
    ),
    # ---- across sections and files ----
    (
        "dev",
        set_key("allowed_ingress_cidrs", ["203.0.113.0/24", "10.10.5.0/24"]),
        "dev.yaml: allowed_ingress_cidrs[1]: 10.10.5.0/24 overlaps the VPC CIDR 10.10.0.0/16",
    ),
    (
        "dev",
        set_key("network.availability_zones", ["us-east-1a", "us-east-1b"]),
        "dev.yaml: network.availability_zones[0]: 'us-east-1a' is not an AZ of region us-west-2",
    ),
    (
        "dev",
        set_key("cluster.kubernetes_version", "1.30"),
        "dev.yaml: cluster.kubernetes_version: '1.30' is not supported (supported: 1.35, 1.36)",
    ),
    (
        "dev",
        append_item("cluster.addons", {"name": "amazon-cloudwatch-observability", "after_nodes": True}),
        "dev.yaml: cluster.addons[7].name: 'amazon-cloudwatch-observability' has no version in versions.yaml",
    ),
    # ---- production rules, in the order they are checked ----
    (
        "prod",
        set_key("removal_policy", "destroy"),
        "prod.yaml: removal_policy: must be retain or snapshot in a production env",
    ),
    ("prod", set_key("database.multi_az", False), "prod.yaml: database.multi_az: must be true in a production env"),
    (
        "prod",
        set_key("database.deletion_protection", False),
        "prod.yaml: database.deletion_protection: must be true in a production env",
    ),
    (
        "prod",
        set_key("database.backup_retention_days", 3),
        "prod.yaml: database.backup_retention_days: must be at least 7 in a production env",
    ),
    (
        "prod",
        set_key("network.nat_gateways", 1),
        "prod.yaml: network.nat_gateways: must equal az_count in a production env",
    ),
    (
        "prod",
        set_key("logging.retention_days", 30),
        "prod.yaml: logging.retention_days: must be at least 365 in a production env",
    ),
    (
        "prod",
        set_key("cluster.control_plane_logs", ["api"]),
        "prod.yaml: cluster.control_plane_logs: must include audit and authenticator in a production env",
    ),
    (
        "prod",
        set_key("cluster.core_nodes.capacity_type", "SPOT"),
        "prod.yaml: cluster.core_nodes.capacity_type: must be ON_DEMAND in a production env",
    ),
    (
        "prod",
        set_key("cluster.core_nodes.min_size", 2),
        "prod.yaml: cluster.core_nodes.min_size: must be at least 3 and at least az_count in a production env",
    ),
]


@pytest.mark.parametrize(("env", "edit", "expected"), APP_BAD_INPUTS, ids=[case[2][:60] for case in APP_BAD_INPUTS])
def test_bad_app_config_is_one_clear_line(tmp_path: Path, env: str, edit, expected: str) -> None:
    message = config_error(env, edit, tmp_path=tmp_path)
    assert expected in message
    assert "\n" not in message


# Every production rule, in the order AppConfig reports them: the first one broken is the one raised.
PRODUCTION_RULE_ORDER = [
    "removal_policy",
    "database.multi_az",
    "database.deletion_protection",
    "database.backup_retention_days",
    "network.nat_gateways",
    "logging.retention_days",
    "cluster.control_plane_logs",
    "cluster.core_nodes.capacity_type",
    "cluster.core_nodes.min_size",
]


def test_production_rules_are_collected_from_each_section_in_order() -> None:
    prod = load_config("prod")
    assert prod.production_problems() == []
    # model_copy skips validation: a config that breaks every rule at once, to list what each section reports.
    cluster = prod.cluster
    unsafe = prod.model_copy(
        update={
            "removal_policy": "destroy",
            "database": prod.database.model_copy(
                update={"multi_az": False, "deletion_protection": False, "backup_retention_days": 1}
            ),
            "network": prod.network.model_copy(update={"nat_gateways": 1}),
            "logging": prod.logging.model_copy(update={"retention_days": 30}),
            "cluster": cluster.model_copy(
                update={
                    "control_plane_logs": ["api"],
                    "core_nodes": cluster.core_nodes.model_copy(update={"capacity_type": "SPOT", "min_size": 2}),
                }
            ),
        }
    )
    assert [key for key, _ in unsafe.production_problems()] == PRODUCTION_RULE_ORDER


def test_core_nodes_production_minimum_follows_the_az_count() -> None:
    cluster = load_config("prod").cluster
    assert cluster.production_problems(az_count=3) == []
    assert cluster.production_problems(az_count=4) == [
        ("cluster.core_nodes.min_size", "must be at least 3 and at least az_count in a production env")
    ]


def test_two_broken_production_rules_report_the_first(tmp_path: Path) -> None:
    message = config_error(
        "prod",
        set_key("cluster.core_nodes.capacity_type", "SPOT"),
        set_key("database.multi_az", False),
        tmp_path=tmp_path,
    )
    assert message == "prod.yaml: database.multi_az: must be true in a production env"
