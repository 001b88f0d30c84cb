"""`cdk synth` of one commit is byte-identical every time, offline, without credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.config_edits import set_key
from tests.synth import REPO_ROOT, Synthesized, cli_context, synthesize_with
from tests.template_queries import resources_of_type

# Anything that could reach AWS or pick up a developer's identity is removed, so this also proves synth is offline.
OFFLINE_ENV = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "CDK_DEFAULT_"))} | {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_CONFIG_FILE": "/nonexistent",
}


def _synth_app(env: str, outdir: Path) -> dict[str, bytes]:
    """Runs app.py the way the CDK CLI does (context and output directory through the environment)."""
    subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=OFFLINE_ENV | {"CDK_CONTEXT_JSON": json.dumps(cli_context(env)), "CDK_OUTDIR": str(outdir)},
        check=True,
        capture_output=True,
        timeout=600,
    )
    return {path.name: path.read_bytes() for path in sorted(outdir.glob("*.template.json"))}


def test_two_synths_are_byte_identical(dev: Synthesized, tmp_path: Path) -> None:
    # Two synths in two processes: app.py as the CLI runs it (no AWS variables, a fresh output folder) and the
    # session's own in-process synth, which every other test inspects. So those tests read what `cdk synth` emits.
    cli = _synth_app("dev", tmp_path / "cli")
    assert cli.keys() == {f"{name}.template.json" for name in dev.stack_names}
    for name in dev.stack_names:
        assert cli[f"{name}.template.json"] == (dev.outdir / f"{name}.template.json").read_bytes(), name


def test_a_configured_account_needs_no_context_lookup(tmp_path: Path) -> None:
    """With a concrete account, CDK would ask AWS for the AZ list; the stacks answer from config instead. (Without
    the compliance checks, which read templates and ask AWS nothing: a third of the time.)"""
    synthesized = synthesize_with(
        "prod", set_key("account", "123456789012"), tmp_path=tmp_path, compliance_checks=False
    )
    config = synthesized.config
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    assert "missing" not in manifest, manifest.get("missing")
    subnets = resources_of_type(synthesized.template("network"), "AWS::EC2::Subnet").values()
    assert {s["Properties"]["AvailabilityZone"] for s in subnets} == set(config.availability_zones)
    stack = manifest["artifacts"][config.stack_name("network")]
    assert stack["environment"] == "aws://123456789012/us-west-2"
