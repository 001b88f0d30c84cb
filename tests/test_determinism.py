"""`cdk synth` of one commit is byte-identical every time, offline, without credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.synth import REPO_ROOT, Synthesized, cli_context

# Anything that could reach AWS or pick up a developer's identity is removed, so this also proves synth is offline.
OFFLINE_ENV = {
    key: value for key, value in os.environ.items()
    if not key.startswith(("AWS_", "CDK_DEFAULT_"))
} | {"AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"}


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
    first = _synth_app("dev", tmp_path / "first")
    second = _synth_app("dev", tmp_path / "second")
    assert first.keys() == {f"{name}.template.json" for name in dev.stack_names}
    assert first == second
    # ... and identical to the session's in-process synth, so the other tests inspect what `cdk synth` emits.
    for name in dev.stack_names:
        assert first[f"{name}.template.json"] == (dev.outdir / f"{name}.template.json").read_bytes()
