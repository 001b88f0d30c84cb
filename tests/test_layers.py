"""Constructs are grouped by layer, and a layer imports only `shared` and the layers below it."""

from __future__ import annotations

import ast

from tests.synth import REPO_ROOT

CONSTRUCTS = REPO_ROOT / "constructs"
# layer -> the layers its modules may import. The cluster deploys in parallel with the data stack, so neither
# imports the other; observability may read every layer, and nothing imports it.
ALLOWED_IMPORTS = {
    "shared": set(),
    "network": {"shared"},
    "data": {"shared", "network"},
    "cluster": {"shared", "network"},
    "airflow": {"shared", "network", "data", "cluster"},
    "spark": {"shared", "network", "data", "cluster", "airflow"},
    "observability": {"shared", "network", "data", "cluster", "airflow", "spark"},
}


def _imported_layers(path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.level:
            # A relative import hides which layer it reaches; the project writes absolute ones only.
            layers.add("<relative import>")
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "constructs" and len(parts) > 1 and parts[1] in ALLOWED_IMPORTS:
                layers.add(parts[1])
    return layers


def test_every_construct_module_sits_in_a_layer() -> None:
    loose = [p.relative_to(REPO_ROOT).as_posix() for p in CONSTRUCTS.glob("*.py")]
    assert loose == []
    layers = {p.name for p in CONSTRUCTS.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))}
    assert layers <= set(ALLOWED_IMPORTS), layers - set(ALLOWED_IMPORTS)
    assert {"shared", "network", "data", "cluster"} <= layers


def test_a_layer_imports_only_shared_and_the_layers_below() -> None:
    violations = []
    for path in sorted(CONSTRUCTS.rglob("*.py")):
        layer = path.relative_to(CONSTRUCTS).parts[0]
        for imported in _imported_layers(path) - ALLOWED_IMPORTS[layer] - {layer}:
            violations.append(f"{path.relative_to(REPO_ROOT)} imports constructs.{imported}")
    assert violations == []


def test_nothing_imports_observability_or_a_stack_module() -> None:
    offenders = []
    for path in sorted(CONSTRUCTS.rglob("*.py")):
        layer = path.relative_to(CONSTRUCTS).parts[0]
        if layer != "observability" and "observability" in _imported_layers(path):
            offenders.append(str(path.relative_to(REPO_ROOT)))
        if "from stacks" in path.read_text() or "import stacks" in path.read_text():
            offenders.append(f"{path.relative_to(REPO_ROOT)} (imports stacks)")
    assert offenders == []


def test_the_import_checker_sees_a_violation(tmp_path) -> None:
    module = tmp_path / "planted.py"
    module.write_text(
        "from constructs.cluster.eks_iam import PodIdentity\nimport constructs.data.database\nfrom ..x import y\n"
    )
    assert _imported_layers(module) == {"cluster", "data", "<relative import>"}
