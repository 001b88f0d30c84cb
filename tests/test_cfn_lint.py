"""cfn-lint reports no error (and no warning it is not told about in .cfnlintrc.yaml) in any template."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.synth import REPO_ROOT, Synthesized


def test_cfn_lint_clean(synthesized: Synthesized) -> None:
    templates = [str(synthesized.outdir / f"{name}.template.json") for name in synthesized.stack_names]
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--config-file",
            str(REPO_ROOT / ".cfnlintrc.yaml"),
            *templates,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
