"""Bad `cluster` input (config/settings/cluster.py) stops synth with one line naming the key and the problem.

Karpenter's part of the section is in test_config_karpenter.py; the checks against versions.yaml and the
production rules in test_config_app.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config_edits import config_error, delete_key, set_key

CLUSTER_BAD_INPUTS = [
    # (env, edit, expected message fragment)
    (
        "dev",
        set_key("cluster.kubernetes_version", 1.36),
        "dev.yaml: cluster.kubernetes_version: Input should be a valid string (got 1.36)",
    ),
    (
        "dev",
        set_key("cluster.endpoint", {"access": "public_and_private"}),
        "dev.yaml: cluster.endpoint.public_access_cidrs: list the CIDRs that may reach the public endpoint",
    ),
    (
        "dev",
        set_key("cluster.endpoint", {"access": "private", "public_access_cidrs": ["198.51.100.0/24"]}),
        "dev.yaml: cluster.endpoint.public_access_cidrs: must be empty when access is private",
    ),
    (
        "dev",
        set_key("cluster.endpoint", {"access": "public_and_private", "public_access_cidrs": ["0.0.0.0/0"]}),
        "dev.yaml: cluster.endpoint.public_access_cidrs: [0]: 0.0.0.0/0 opens the API server to the whole internet",
    ),
    (
        "dev",
        set_key("cluster.endpoint.access", "public"),
        "dev.yaml: cluster.endpoint.access: Input should be 'private' or 'public_and_private' (got 'public')",
    ),
    (
        "dev",
        set_key("cluster.admin_role_arns", ["arn:aws:iam::111122223333:user/alice"]),
        "dev.yaml: cluster.admin_role_arns[0]: String should match pattern",
    ),
    (
        "dev",
        set_key("cluster.control_plane_logs", ["api", "kubelet"]),
        "dev.yaml: cluster.control_plane_logs[1]: Input should be 'api', 'audit', 'authenticator'",
    ),
    (
        "dev",
        set_key("cluster.control_plane_logs", ["audit", "audit"]),
        "dev.yaml: cluster.control_plane_logs: lists a log type twice",
    ),
    # ---- core nodes ----
    ("dev", set_key("cluster.core_nodes.min_size", 5), "dev.yaml: cluster.core_nodes: min_size (5) > max_size (3)"),
    (
        "dev",
        set_key("cluster.core_nodes.desired_size", 9),
        "dev.yaml: cluster.core_nodes: desired_size (9) must lie between min_size (2) and max_size (3)",
    ),
    (
        "dev",
        set_key("cluster.core_nodes.instance_types", ["m7g large"]),
        "dev.yaml: cluster.core_nodes.instance_types: 'm7g large' is not an EC2 instance type name",
    ),
    (
        "dev",
        set_key("cluster.core_nodes.min_size", 1),
        "dev.yaml: cluster.core_nodes.min_size: must be at least 2 so the cluster's HA controllers spread",
    ),
    (
        "dev",
        set_key("cluster.core_nodes.instance_types", ["t4g.large", "t3.large"]),
        "dev.yaml: cluster.core_nodes.instance_types: mixes Graviton (arm64) and x86_64 types",
    ),
    # ---- add-ons ----
    ("dev", delete_key("cluster.addons.2"), "dev.yaml: cluster.addons: eks-pod-identity-agent is required"),
    ("dev", set_key("cluster.addons.0.name", "vpc-cnl"), "dev.yaml: cluster.addons: vpc-cni is required"),
    (
        "dev",
        set_key("cluster.addons.4.name", "coredns"),
        "dev.yaml: cluster.addons[4].name: 'coredns' is listed twice",
    ),
    # configuration is a mapping (the app writes it as JSON), not the YAML text the AWS CLI takes
    (
        "dev",
        set_key("cluster.addons.6.configuration", "node:\n  tolerations: [{operator: Exists}]\n"),
        "dev.yaml: cluster.addons[6].configuration: Input should be a valid dictionary (got 'node:",
    ),
    (
        "dev",
        set_key("cluster.addons.6.configuration", {}),
        "dev.yaml: cluster.addons[6].configuration: Dictionary should have at least 1 item",
    ),
]


@pytest.mark.parametrize(
    ("env", "edit", "expected"), CLUSTER_BAD_INPUTS, ids=[case[2][:60] for case in CLUSTER_BAD_INPUTS]
)
def test_bad_cluster_config_is_one_clear_line(tmp_path: Path, env: str, edit, expected: str) -> None:
    message = config_error(env, edit, tmp_path=tmp_path)
    assert expected in message
    assert "\n" not in message
