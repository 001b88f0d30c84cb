"""Every stack stays well below CloudFormation's 500-resource limit."""

from __future__ import annotations

from tests.synth import Synthesized

MAX_RESOURCES_PER_STACK = 450


def test_stacks_stay_under_the_resource_budget(synthesized: Synthesized) -> None:
    for name, template in synthesized.templates.items():
        count = len(template["Resources"])
        assert count < MAX_RESOURCES_PER_STACK, f"{name} has {count} resources"
