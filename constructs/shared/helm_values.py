"""Helm values as data: `helm_values/<chart>.yaml` holds a chart's static values; constructs add what only the
stacks know (names, ARNs, endpoints) and `chart_values` merges the two as Helm merges values files.

A file value must be plain data (no CDK token), and a computed value may not replace a file value: each key has
one owner, so what a file says is what the chart gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import yaml

from config.settings import ConfigError

HELM_VALUES_DIR = Path(__file__).resolve().parents[2] / "helm_values"


def helm_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of two values files (`-f base -f override`): maps merge key by key, and lists, scalars and nulls
    in `override` replace. A null stays in the result, so Helm still removes the chart's own default for that key.
    The order of keys is ours (Helm ignores it): `override`'s first, then those only `base` has, which keeps a
    release's Values string stable."""
    merged: dict[str, Any] = {}
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            merged[key] = helm_merge(base[key], value)
        else:
            merged[key] = value
    for key, value in base.items():
        if key not in override:
            merged[key] = value
    return merged


def load_values_file(chart: str, folder: Path = HELM_VALUES_DIR) -> dict[str, Any]:
    """The chart's static values; ConfigError (one line) for a missing, malformed or token-carrying file."""
    path = folder / f"{chart}.yaml"
    label = f"helm_values/{path.name}"
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{label}: no such file (the {chart} chart's static values live there)") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{label}:{where} is not valid YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{label}: must be a mapping of chart values")
    _reject_tokens(values, label, "")
    return values


def chart_values(chart: str, computed: Mapping[str, Any], *, folder: Path = HELM_VALUES_DIR) -> dict[str, Any]:
    """`helm_values/<chart>.yaml` with the computed values merged in; a computed key may add to a file's map but
    never replace a file value."""
    static = load_values_file(chart, folder)
    _reject_overwrites(static, computed, f"helm_values/{chart}.yaml", "")
    return helm_merge(static, computed)


def _reject_tokens(value: Any, label: str, key: str) -> None:
    if isinstance(value, dict):
        for name, inner in value.items():
            _reject_tokens(inner, label, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _reject_tokens(inner, label, f"{key}[{index}]")
    elif isinstance(value, str) and cdk.Token.is_unresolved(value):
        raise ConfigError(f"{label}: {key}: holds a CDK token; deploy-time values come from the stacks, not the file")


def _reject_overwrites(static: Mapping[str, Any], computed: Mapping[str, Any], label: str, key: str) -> None:
    for name, value in computed.items():
        path = f"{key}.{name}" if key else name
        if name not in static:
            continue
        if isinstance(value, Mapping) and isinstance(static[name], Mapping):
            _reject_overwrites(static[name], value, label, path)
        else:
            raise ConfigError(f"{label}: {path}: the app sets this value; remove it from the file")
