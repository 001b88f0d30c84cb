"""README.md's architecture diagram is what scripts/diagram.py renders from this session's dev and prod templates,
and what it draws comes from those templates: every stack, every dependency, the labels' versions and counts."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.synth import REPO_ROOT, Synthesized

_SPEC = importlib.util.spec_from_file_location("diagram", REPO_ROOT / "scripts" / "diagram.py")
diagram = importlib.util.module_from_spec(_SPEC)
sys.modules["diagram"] = diagram  # its dataclasses look their module up there
_SPEC.loader.exec_module(diagram)

STALE = f"README.md's diagram is stale: run ./scripts/synth.sh, then `{diagram.WRITE_COMMAND}`"


@pytest.fixture(scope="module")
def outdir(dev: Synthesized, prod: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's assemblies laid out as ./scripts/synth.sh writes them: <outdir>/<env>/."""
    root = tmp_path_factory.mktemp("cdk.out.diagram")
    for synthesized in (dev, prod):
        (root / synthesized.config.env_name).symlink_to(synthesized.outdir, target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def rendered(outdir: Path) -> str:
    return diagram.render([diagram.load_assembly(env=env, outdir=outdir / env) for env in diagram.ENVS])


def test_readme_copy_is_current(outdir: Path) -> None:
    assert diagram.check(readme=REPO_ROOT / "README.md", outdir=outdir) is None, STALE


def test_every_stack_is_a_subgraph_and_every_dependency_an_edge(rendered: str, dev: Synthesized, prod: Synthesized):
    subgraphs = re.findall(r"^  subgraph (\w+)\[", rendered, re.MULTILINE)
    edges = set(re.findall(r"^  (\w+) -->(?:\|[^|]*\|)? (\w+)$", rendered, re.MULTILINE))
    expected_edges = set()
    for synthesized in (dev, prod):
        prefix = f"{synthesized.config.name_prefix}-{synthesized.config.env_name}-"
        artifacts = json.loads((synthesized.outdir / "manifest.json").read_text())["artifacts"]
        components = [name.removeprefix(prefix) for name in synthesized.stack_names]
        assert [c for c in subgraphs if c in components] == components
        for name in synthesized.stack_names:
            for dependency in artifacts[name].get("dependencies", []):
                if dependency in synthesized.stack_names:
                    expected_edges.add((dependency.removeprefix(prefix), name.removeprefix(prefix)))
    assert edges == expected_edges


def test_edges_say_what_the_consumer_reads(rendered: str) -> None:
    labels = dict(
        ((producer, consumer), label)
        for producer, label, consumer in re.findall(r"^  (\w+) -->\|\"([^\"]*)\"\| (\w+)$", rendered, re.MULTILINE)
    )
    assert labels[("network", "data")].split(", ") == ["security group", "subnets", "VPC"]
    assert "DB instance" in labels[("data", "airflow")] and "secrets" in labels[("data", "airflow")]
    assert "cluster" in labels[("cluster", "spark")]


def _node(rendered: str, node_id: str) -> str:
    found = re.search(rf'^    {node_id}\["(.*)"\]$', rendered, re.MULTILINE)
    assert found, f"no node {node_id}"
    return found.group(1).replace("<br/>", "\n")


def _resources(synthesized: Synthesized, resource_type: str, component: str | None = None) -> list[dict]:
    templates = [synthesized.template(component)] if component else synthesized.templates.values()
    return [r["Properties"] for t in templates for r in t["Resources"].values() if r["Type"] == resource_type]


def test_labels_come_from_template_properties(rendered: str, dev: Synthesized, prod: Synthesized) -> None:
    for synthesized in (dev, prod):
        env = synthesized.config.env_name
        for name in synthesized.stack_names:
            component = name.removeprefix(f"{synthesized.config.name_prefix}-{env}-")
            for chart in _resources(synthesized, "Custom::AWSCDK-EKS-HelmChart", component):
                node = _node(rendered, diagram.mermaid_id(component, f"helm-{chart['Release']}"))
                assert f"Helm chart {chart['Chart']}" in node
                assert f"version {chart['Version']}" in node or f"{env} {chart['Version']}" in node
    (dev_db,), (prod_db,) = _resources(dev, "AWS::RDS::DBInstance"), _resources(prod, "AWS::RDS::DBInstance")
    database = _node(rendered, "data_MetadataDb_Instance")
    assert f"RDS {dev_db['Engine']}" in database
    assert f"class: dev {dev_db['DBInstanceClass']}; prod {prod_db['DBInstanceClass']}" in database
    (cluster,) = _resources(dev, "AWS::EKS::Cluster")
    assert f"Kubernetes {cluster['Version']}" in _node(rendered, "cluster_Eks_Cluster")


def test_what_differs_between_the_envs_is_marked(rendered: str, dev: Synthesized, prod: Synthesized) -> None:
    nat = Counter({s.config.env_name: len(_resources(s, "AWS::EC2::NatGateway")) for s in (dev, prod)})
    assert nat["dev"] != nat["prod"], "dev and prod now have as many NAT gateways: pick another difference"
    assert f"dev ×{nat['dev']}; prod ×{nat['prod']}" in _node(rendered, "cluster_nat_gateways")
    charts = {
        s.config.env_name: {c["Release"] for c in _resources(s, "Custom::AWSCDK-EKS-HelmChart")} for s in (dev, prod)
    }
    for env, other in (("dev", "prod"), ("prod", "dev")):
        for release in charts[env] - charts[other]:
            node = next(n for n in re.findall(r'\["(<b>Helm chart [^"]*)"\]', rendered) if f"chart {release}" in n)
            assert f"({env} only)" in node


def test_output_is_well_formed_mermaid(rendered: str) -> None:
    """No mermaid parser runs offline without a headless browser, so the structure is checked instead."""
    lines = rendered.splitlines()
    assert lines[0] == "flowchart LR"
    depth, ids, subgraph_ids = 0, [], []
    for line in lines[1:]:
        if found := re.fullmatch(r"  subgraph (\w+)\[\"[^\"]+\"\]", line):
            depth += 1
            subgraph_ids.append(found.group(1))
        elif line == "  end":
            depth -= 1
        elif found := re.fullmatch(r"    (\w+)\[\"([^\"]+)\"\]", line):
            assert depth == 1, line
            ids.append(found.group(1))
            # Only these tags are markup; anything else a label holds is escaped.
            assert "<" not in re.sub(r"<br/>|</?b>", "", found.group(2)), line
        else:
            found = re.fullmatch(r"  (\w+) -->(?:\|\"[^\"]+\"\|)? (\w+)", line)
            assert found and depth == 0, line
            assert {found.group(1), found.group(2)} <= set(subgraph_ids), line
        assert 0 <= depth <= 1, line
    assert depth == 0
    assert len(ids + subgraph_ids) == len(set(ids + subgraph_ids)), "node ids must be unique"


def test_check_names_the_command_and_write_fixes_only_the_block(outdir: Path, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    original = (REPO_ROOT / "README.md").read_text()
    readme.write_text(original.replace("\nflowchart LR\n  subgraph network", "\nflowchart TB\n  subgraph network", 1))
    problem = diagram.check(readme=readme, outdir=outdir)
    assert problem and diagram.WRITE_COMMAND in problem and "\n" not in problem
    assert diagram.write(readme=readme, outdir=outdir)
    assert readme.read_text() == original
    assert diagram.check(readme=readme, outdir=outdir) is None
    assert not diagram.write(readme=readme, outdir=outdir)


def test_cli_without_assemblies_says_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "diagram.py"), "--check", "--outdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path}/dev/manifest.json is absent: run ./scripts/synth.sh first\n"
