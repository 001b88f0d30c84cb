"""Synthesizes the app in-process exactly as `cdk synth` would, for tests to inspect."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from config.settings import AppConfig, load_config
from stacks.app_stacks import build_stacks
from tests.config_edits import Edit, config_with

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVS = ("dev", "prod")


def cli_context(env: str) -> dict:
    """The context the CDK CLI hands the app: cdk.json's context and settings, plus `-c env=<env>`."""
    cdk_json = json.loads((REPO_ROOT / "cdk.json").read_text())
    return {
        **cdk_json["context"],
        "env": env,
        "aws:cdk:version-reporting": cdk_json.get("versionReporting", True),
        "aws:cdk:enable-path-metadata": True,
        "aws:cdk:enable-asset-metadata": True,
    }


@dataclass
class Synthesized:
    config: AppConfig
    outdir: Path
    stack_names: list[str]
    templates: dict[str, dict] = field(default_factory=dict)
    _platform: dict | None = field(default=None, repr=False)

    def template(self, component: str) -> dict:
        return self.templates[self.config.stack_name(component)]

    def platform(self) -> dict:
        """The cluster and Karpenter stacks' templates as one: every controller, chart, NodePool, node role and Pod
        Identity association the workload stacks run on. The Karpenter stack's reads of the cluster stack's outputs
        become what those outputs hold, so a reference reads as if in one stack. Logical ids are unique across the
        two (asserted); an edge between them is the stacks' order, not a DependsOn. Built once: copy it to edit."""
        if self._platform is not None:
            return self._platform
        cluster = self.template("cluster")
        cluster_stack = self.config.stack_name("cluster")

        def resolved(value: Any) -> Any:
            if isinstance(value, dict):
                output = value.get("Fn::GetStackOutput")
                if output is not None and output["StackName"] == cluster_stack:
                    return cluster["Outputs"][output["OutputName"]]["Value"]
                return {key: resolved(inner) for key, inner in value.items()}
            if isinstance(value, list):
                return [resolved(inner) for inner in value]
            return value

        merged: dict = {"Resources": {}, "Outputs": {}}
        for template in (cluster, resolved(self.template("karpenter"))):
            for section in merged:
                clash = merged[section].keys() & template.get(section, {}).keys()
                assert not clash, f"{section} {sorted(clash)} in both the cluster and the Karpenter stack"
                merged[section].update(template.get(section, {}))
        self._platform = merged
        return merged

    def metadata(self, stack_name: str) -> dict:
        return json.loads((self.outdir / f"{stack_name}.metadata.json").read_text())


def synthesize(
    env: str, outdir: Path, config: AppConfig | None = None, *, compliance_checks: bool = True
) -> Synthesized:
    """Raises if any compliance check has an unacknowledged finding, as `cdk synth` fails. Without
    `compliance_checks` (for tests that only compare templates, which the checks never change) it takes about 1.5 s warm
    instead of 12."""
    config = config or load_config(env)
    app = cdk.App(context=cli_context(env), outdir=str(outdir))
    stacks = build_stacks(app, config, compliance_checks=compliance_checks)
    app.synth()
    result = Synthesized(config=config, outdir=outdir, stack_names=[s.stack_name for s in stacks])
    for name in result.stack_names:
        result.templates[name] = json.loads((outdir / f"{name}.template.json").read_text())
    return result


def synthesize_with(
    env: str,
    *edits: Edit,
    tmp_path: Path,
    version_edits: Iterable[Edit] = (),
    compliance_checks: bool = True,
) -> Synthesized:
    """The env with these config edits (and `version_edits` to versions.yaml; tests/config_edits.py), synthesized
    exactly as `cdk synth` would: the one way tests build a variant of a shipped env."""
    config_dir = tmp_path / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    config = config_with(env, *edits, tmp_path=config_dir, version_edits=version_edits)
    return synthesize(env, tmp_path / "cdk.out", config=config, compliance_checks=compliance_checks)
