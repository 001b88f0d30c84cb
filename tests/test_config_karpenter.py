"""Bad `cluster.karpenter` input (config/settings/karpenter.py) stops synth with one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config_edits import config_error, set_key

KARPENTER_BAD_INPUTS = [
    # (env, edit, expected message fragment)
    (
        "dev",
        set_key("cluster.karpenter.node_pools.0.node_class", "gpu"),
        "dev.yaml: cluster.karpenter.node_pools[0].node_class: 'gpu' is not a node class "
        "(defined: default, local-nvme)",
    ),
    (
        "dev",
        set_key("cluster.karpenter.node_pools.1.name", "spark-compute-optimized"),
        "dev.yaml: cluster.karpenter.node_pools[1].name: 'spark-compute-optimized' is used twice",
    ),
    (
        "dev",
        set_key("cluster.karpenter.node_classes.1.name", "default"),
        "dev.yaml: cluster.karpenter.node_classes[1].name: 'default' is used twice",
    ),
    (
        "dev",
        # A plain edit: the requirement key itself contains dots, which a dotted path cannot name.
        lambda data: data["cluster"]["karpenter"]["node_pools"][0]["requirements"].update(
            {"karpenter.sh/capacity-type": ["spot", "reserved-ish"]}
        ),
        "dev.yaml: cluster.karpenter.node_pools[0].requirements: karpenter.sh/capacity-type: reserved-ish not one of",
    ),
    (
        "dev",
        set_key("cluster.karpenter.node_pools.0.consolidate_after", "30 seconds"),
        "dev.yaml: cluster.karpenter.node_pools[0].consolidate_after: String should match pattern",
    ),
    (
        "dev",
        set_key("cluster.karpenter.node_classes.0.metadata_hop_limit", 3),
        "dev.yaml: cluster.karpenter.node_classes[0].metadata_hop_limit: Input should be less than or equal to 2",
    ),
]


@pytest.mark.parametrize(
    ("env", "edit", "expected"), KARPENTER_BAD_INPUTS, ids=[case[2][:60] for case in KARPENTER_BAD_INPUTS]
)
def test_bad_karpenter_config_is_one_clear_line(tmp_path: Path, env: str, edit, expected: str) -> None:
    message = config_error(env, edit, tmp_path=tmp_path)
    assert expected in message
    assert "\n" not in message
