"""What every config section shares: the errors, the strict frozen base model and the common field types.

Also the checks more than one section applies (bounded CIDR lists, names used twice in a list, instance type
names), each defined once here while every section keeps its own wording of the problem.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class ConfigError(Exception):
    """A configuration problem, worded as one line for the person who wrote the config."""


class ConfigKeyError(ValueError):
    """A cross-field problem that belongs to one specific key, relative to the model that raises it."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


class StrictModel(BaseModel):
    # Unknown keys are typos until proven otherwise; frozen so no construct can change what another one reads.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# A production rule a section breaks: (key relative to the app root, problem).
ProductionProblem = tuple[str, str]

# "snapshot" applies to resources CloudFormation can snapshot (the DB instance); the others are retained.
RemovalPolicyName = Literal["destroy", "retain", "snapshot"]

PositiveInt = Annotated[int, Field(ge=1)]

K8S_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
K8sName = Annotated[str, Field(pattern=K8S_NAME, max_length=63)]
# Go durations as Karpenter accepts them, e.g. 30s, 5m, 720h.
Duration = Annotated[str, Field(pattern=r"^([0-9]+(s|m|h))+$")]


def parse_network(value: str) -> ipaddress.IPv4Network:
    """`value` as an IPv4 network; host bits set or a malformed CIDR is a ValueError naming the value."""
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ValueError(f"{value!r} is not a valid IPv4 CIDR ({err})") from None


def bounded_cidrs(value: list[str], whole_internet_problem: str) -> list[str]:
    """Valid IPv4 CIDRs, none of them /0."""
    for index, cidr in enumerate(value):
        try:
            network = parse_network(cidr)
        except ValueError as err:
            raise ValueError(f"[{index}]: {err}") from None
        if network.prefixlen == 0:
            raise ValueError(f"[{index}]: {cidr} {whole_internet_problem}")
    return value


def reject_repeated_names(key: str, names: Iterable[str], problem: str) -> None:
    """Raise at `<key>[<index>].name` for the first name seen before, worded `'<name>' <problem>`."""
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise ConfigKeyError(f"{key}[{index}].name", f"{name!r} {problem}")
        seen.add(name)


INSTANCE_TYPE_NAME = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+")


def instance_type_name(value: str, expected: str) -> str:
    """`value` if it reads like an EC2 instance type (family.size); else a ValueError `'<value>' is not <expected>`."""
    if not INSTANCE_TYPE_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not {expected}")
    return value
