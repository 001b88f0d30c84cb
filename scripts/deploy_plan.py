"""Estimates `cdk deploy --all --concurrency N` from the synthesized templates alone: when each stack and resource
would be created, the chain that sets the total, and when Airflow is healthy (its stack complete, the chart having
waited for its pods).

Within a stack CloudFormation starts a resource once everything it depends on is complete: its `DependsOn` and the
resources it references (`Ref`, `Fn::GetAtt`, `Fn::Sub`). A stack starts once the stacks it depends on are complete
and one of the N deploy slots is free. Minutes per resource come from estimates/deploy_minutes.yaml.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MINUTES_FILE = Path(__file__).resolve().parent.parent / "estimates" / "deploy_minutes.yaml"
_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


@dataclass(frozen=True)
class ResourceStep:
    stack: str
    logical_id: str
    type: str
    label: str
    start: float
    finish: float

    @property
    def minutes(self) -> float:
        return self.finish - self.start


@dataclass
class StackPlan:
    name: str
    start: float
    finish: float
    steps: dict[str, ResourceStep] = field(default_factory=dict)
    # The resource that finished last, and for each resource the dependency that finished last before it started.
    last: str | None = None
    waited_on: dict[str, str | None] = field(default_factory=dict)
    waited_on_stack: str | None = None


@dataclass(frozen=True)
class DeployPlan:
    stacks: dict[str, StackPlan]

    @property
    def total(self) -> float:
        return max(plan.finish for plan in self.stacks.values())

    def chain(self, stack: str | None = None) -> list[ResourceStep]:
        """The resources, first to last, whose durations add up to `stack`'s finish (default: the last stack's)."""
        name = stack or max(self.stacks, key=lambda n: (self.stacks[n].finish, n))
        steps: list[ResourceStep] = []
        while name is not None:
            plan = self.stacks[name]
            resource = plan.last
            stack_steps: list[ResourceStep] = []
            while resource is not None:
                stack_steps.append(plan.steps[resource])
                resource = plan.waited_on[resource]
            steps.extend(stack_steps)
            name = plan.waited_on_stack
        return list(reversed(steps))


class MinutesTable:
    """estimates/deploy_minutes.yaml: minutes for a resource from its type and properties."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.stack_overhead = float(data["stack_overhead"]["minutes"])
        self._default = float(data["default"]["minutes"])
        self._types: dict[str, dict[str, Any]] = data["types"]

    @classmethod
    def load(cls, path: Path = MINUTES_FILE) -> MinutesTable:
        return cls(yaml.safe_load(path.read_text()))

    def minutes(self, resource_type: str, properties: dict[str, Any]) -> float:
        entry = self._types.get(resource_type) or next(
            (
                spec
                for pattern, spec in self._types.items()
                if "*" in pattern and fnmatch.fnmatchcase(resource_type, pattern)
            ),
            None,
        )
        if entry is None:
            return self._default
        for variant in entry.get("variants", []):
            if all(_holds(properties, path, expected) for path, expected in variant["when"].items()):
                return float(variant["minutes"])
        return float(entry["minutes"])


def _holds(properties: dict[str, Any], path: str, expected: Any) -> bool:
    value: Any = properties
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return expected == "absent"
        value = value[key]
    if expected == "present":
        return True
    if expected == "absent":
        return False
    return value == expected


def references(value: Any) -> set[str]:
    """Logical ids a template value refers to (Ref, Fn::GetAtt, Fn::Sub); parameters and pseudo parameters too,
    which callers drop by keeping only resources."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(_SUB_REFERENCE.findall(text))
                if isinstance(inner, list):
                    found.update(references(inner[1]))
            else:
                found.update(references(inner))
    elif isinstance(value, list):
        for inner in value:
            found.update(references(inner))
    return found


def resource_dependencies(template: dict[str, Any]) -> dict[str, set[str]]:
    """For each resource, the resources of the same template CloudFormation creates before it."""
    resources = template.get("Resources", {})
    edges: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        explicit = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        implicit = references(resource.get("Properties", {}))
        edges[logical_id] = {dep for dep in explicit | implicit if dep in resources and dep != logical_id}
    return edges


def _label(resource: dict[str, Any], logical_id: str) -> str:
    """The construct path below the stack, and what the resource is unless the path says so."""
    path = resource.get("Metadata", {}).get("aws:cdk:path", "")
    name = "/".join(p for p in path.split("/")[1:] if p not in {"Resource", "Default"}) or logical_id
    kind = resource["Type"]
    if kind == "Custom::AWSCDK-EKS-HelmChart":
        return f"{name} ({resource.get('Properties', {}).get('Chart', 'Helm')} chart)"
    if kind.startswith("Custom::AWSCDK-EKS-"):
        return name
    return f"{name} ({kind.removeprefix('AWS::')})"


def plan_stack(name: str, template: dict[str, Any], start: float, table: MinutesTable) -> StackPlan:
    resources = template.get("Resources", {})
    edges = resource_dependencies(template)
    plan = StackPlan(name=name, start=start, finish=start)
    begin = start + table.stack_overhead
    finished: dict[str, float] = {}
    visiting: set[str] = set()

    def finish(logical_id: str) -> float:
        if logical_id in finished:
            return finished[logical_id]
        if logical_id in visiting:
            raise ValueError(f"{name}: dependency cycle through {logical_id}")
        visiting.add(logical_id)
        deps = sorted(edges[logical_id])
        dep_finishes = {dep: finish(dep) for dep in deps}
        after = max(dep_finishes, key=lambda d: (dep_finishes[d], d), default=None)
        resource_start = dep_finishes[after] if after else begin
        resource = resources[logical_id]
        minutes = table.minutes(resource["Type"], resource.get("Properties", {}))
        finished[logical_id] = resource_start + minutes
        plan.waited_on[logical_id] = after
        plan.steps[logical_id] = ResourceStep(
            stack=name,
            logical_id=logical_id,
            type=resource["Type"],
            label=_label(resource, logical_id),
            start=resource_start,
            finish=finished[logical_id],
        )
        visiting.discard(logical_id)
        return finished[logical_id]

    for logical_id in sorted(resources):
        finish(logical_id)
    plan.last = max(finished, key=lambda r: (finished[r], r), default=None)
    plan.finish = finished[plan.last] if plan.last else begin
    return plan


def plan_deploy(
    templates: dict[str, dict[str, Any]],
    stack_dependencies: dict[str, list[str]],
    *,
    concurrency: int = 4,
    table: MinutesTable | None = None,
) -> DeployPlan:
    """Stacks start in dependency order as slots free up, each once every stack it depends on is complete; ready
    stacks take free slots in name order (the CLI's own order among ready stacks may differ, which matters only when
    more stacks are ready than slots: never with this app's seven). The chain follows dependencies, not slot waits."""
    table = table or MinutesTable.load()
    unknown = {dep for deps in stack_dependencies.values() for dep in deps} - set(templates)
    if unknown:
        raise ValueError(f"stack dependencies name stacks with no template: {', '.join(sorted(unknown))}")
    plans: dict[str, StackPlan] = {}
    running: list[StackPlan] = []
    now = 0.0
    pending = sorted(templates)
    while pending or running:
        ready = [
            n for n in pending if all(d in plans and plans[d] not in running for d in stack_dependencies.get(n, []))
        ]
        while ready and len(running) < concurrency:
            name = ready.pop(0)
            pending.remove(name)
            plan = plan_stack(name, templates[name], now, table)
            deps = stack_dependencies.get(name, [])
            plan.waited_on_stack = max(deps, key=lambda d: (plans[d].finish, d), default=None)
            plans[name] = plan
            running.append(plan)
        if not running:
            raise ValueError(f"stack dependency cycle among: {', '.join(pending)}")
        done = min(running, key=lambda p: (p.finish, p.name))
        running.remove(done)
        now = max(now, done.finish)
    return DeployPlan(stacks=plans)


def load_assembly(outdir: Path) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Templates and stack-to-stack dependencies of a synthesized cloud assembly (cdk.out/<env>)."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = {n: a for n, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}
    templates = {n: json.loads((outdir / a["properties"]["templateFile"]).read_text()) for n, a in stacks.items()}
    dependencies = {n: [d for d in a.get("dependencies", []) if d in stacks] for n, a in stacks.items()}
    return templates, dependencies
