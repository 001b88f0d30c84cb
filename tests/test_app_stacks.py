"""The stacks the app composes and what each depends on: the deploy graph a user's `cdk deploy --all` walks."""

from __future__ import annotations

import json
from typing import Any

from tests.synth import Synthesized

# component -> the components it depends on. data and cluster depend on the network only, so RDS and EKS are
# created in parallel (`cdk deploy --all --concurrency 4`).
EXPECTED_DEPENDENCIES = {
    "network": set(),
    "data": {"network"},
    "cluster": {"network"},
    # Not the network: the Airflow stack reads the VPC's CIDR from config and everything else from its two handles.
    "airflow": {"cluster", "data"},
    # Not the Airflow stack: the team buckets are the data stack's, so Spark and Airflow deploy side by side.
    "spark": {"cluster", "data"},
    # Reads the cluster's and the data stack's handles only: it deploys beside Airflow and Spark.
    "observability": {"cluster", "data"},
    # Beside all three and below none: Airflow's components and the Spark Operator run on the core nodes, and the
    # role of Karpenter's nodes and the interruption queue (which an alarm watches) are the cluster stack's.
    "karpenter": {"cluster"},
}


def _stack_outputs_read(value: Any) -> set[str]:
    """Stacks whose outputs `value` reads through Fn::GetStackOutput (CDK's weak cross-stack references)."""
    if isinstance(value, dict):
        found = {value["Fn::GetStackOutput"]["StackName"]} if "Fn::GetStackOutput" in value else set()
        return found.union(*(_stack_outputs_read(inner) for inner in value.values()))
    if isinstance(value, list):
        return set().union(*(_stack_outputs_read(inner) for inner in value))
    return set()


def test_stack_dependency_map(synthesized: Synthesized) -> None:
    config = synthesized.config
    by_name = {config.stack_name(component): component for component in EXPECTED_DEPENDENCIES}
    assert set(synthesized.stack_names) == set(by_name)
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    declared = {
        by_name[name]: {by_name[d] for d in manifest["artifacts"][name].get("dependencies", []) if d in by_name}
        for name in synthesized.stack_names
    }
    assert declared == EXPECTED_DEPENDENCIES
    # Every output a stack reads belongs to a stack it depends on, and it reads one of each (no stale edge).
    read = {by_name[name]: {by_name[s] for s in _stack_outputs_read(synthesized.templates[name])} for name in by_name}
    assert read == EXPECTED_DEPENDENCIES
