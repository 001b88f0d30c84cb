"""Bad `network` input (config/settings/network.py) stops synth with one line naming the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config_edits import config_error, set_key

NETWORK_BAD_INPUTS = [
    # (env, edit, expected message fragment)
    ("dev", set_key("network.nat_gateway", 1), "dev.yaml: network.nat_gateway: unknown key"),
    ("dev", set_key("network.az_count", "two"), "dev.yaml: network.az_count: Input should be a valid integer"),
    (
        "dev",
        set_key("network.vpc_cidr", "10.0.0.0/33"),
        "dev.yaml: network.vpc_cidr: '10.0.0.0/33' is not a valid IPv4 CIDR",
    ),
    (
        "dev",
        set_key("network.vpc_cidr", "10.0.0.1/16"),
        "dev.yaml: network.vpc_cidr: '10.0.0.1/16' is not a valid IPv4 CIDR (10.0.0.1/16 has host bits set)",
    ),
    (
        "dev",
        set_key("network.vpc_cidr", "8.8.0.0/16"),
        "dev.yaml: network.vpc_cidr: 8.8.0.0/16 is not a private (RFC 1918) range",
    ),
    ("dev", set_key("network.vpc_cidr", "10.0.0.0/24"), "dev.yaml: network.vpc_cidr: 10.0.0.0/24 must be a /16 to /18"),
    (
        "dev",
        set_key("network.az_count", 4),
        "dev.yaml: network.az_count: Input should be less than or equal to 3 (got 4)",
    ),
    (
        "dev",
        set_key("network.az_count", 1),
        "dev.yaml: network.az_count: Input should be greater than or equal to 2 (got 1)",
    ),
    ("dev", set_key("network.nat_gateways", 3), "dev.yaml: network: nat_gateways (3) must not exceed az_count (2)"),
    (
        "dev",
        set_key("network.availability_zones", ["us-west-2a", "us-west-2a"]),
        "dev.yaml: network: availability_zones lists an AZ twice",
    ),
    (
        "dev",
        set_key("network.availability_zones", ["us-west-2a"]),
        "dev.yaml: network: availability_zones names 1 AZs, fewer than az_count (2)",
    ),
]


@pytest.mark.parametrize(
    ("env", "edit", "expected"), NETWORK_BAD_INPUTS, ids=[case[2][:60] for case in NETWORK_BAD_INPUTS]
)
def test_bad_network_config_is_one_clear_line(tmp_path: Path, env: str, edit, expected: str) -> None:
    message = config_error(env, edit, tmp_path=tmp_path)
    assert expected in message
    assert "\n" not in message
