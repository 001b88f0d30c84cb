"""helm_values/: static values as data, merged with the stacks' computed values as Helm merges values files."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml

from config.settings import ConfigError
from constructs.shared.helm_values import HELM_VALUES_DIR, chart_values, helm_merge
from tests.synth import Synthesized
from tests.template_queries import helm_release


def test_maps_merge_lists_scalars_and_nulls_replace() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1, "c": "keep", "d": {"gone": True}}
    override = {"a": {"y": [3], "z": 2, "w": None}, "b": 2, "d": None}
    # The null stays, as in Helm's merge of two -f files, so Helm then drops the chart's default for that key.
    assert helm_merge(base, override) == {"a": {"x": 1, "y": [3], "z": 2, "w": None}, "b": 2, "c": "keep", "d": None}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1, "c": "keep", "d": {"gone": True}}  # inputs untouched


def test_computed_values_add_to_a_file_map(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text("replicas: 2\nserviceAccount:\n  create: true\n")
    merged = chart_values("demo", {"clusterName": "c", "serviceAccount": {"name": "sa"}}, folder=tmp_path)
    assert merged == {"clusterName": "c", "serviceAccount": {"name": "sa", "create": True}, "replicas": 2}


@pytest.mark.parametrize(
    ("file_text", "computed", "message"),
    [
        (
            "serviceAccount:\n  name: x\n",
            {"serviceAccount": {"name": "y"}},
            "helm_values/demo.yaml: serviceAccount.name: the app sets this value; remove it from the file",
        ),
        ("nodeSelector: {a: b}\n", {"nodeSelector": "x"}, "helm_values/demo.yaml: nodeSelector: the app sets this"),
        ("- a\n", {}, "helm_values/demo.yaml: must be a mapping of chart values"),
        ("a: [unclosed\n", {}, "helm_values/demo.yaml: line 2 is not valid YAML"),
    ],
)
def test_bad_values_file_is_one_line(tmp_path: Path, file_text: str, computed: dict, message: str) -> None:
    (tmp_path / "demo.yaml").write_text(file_text)
    with pytest.raises(ConfigError) as raised:
        chart_values("demo", computed, folder=tmp_path)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_a_cdk_token_in_a_file_is_rejected(tmp_path: Path) -> None:
    token = cdk.Token.as_string(cdk.Aws.ACCOUNT_ID)
    (tmp_path / "demo.yaml").write_text(yaml.safe_dump({"settings": {"accounts": ["x", token]}}))
    with pytest.raises(ConfigError, match=r"^helm_values/demo.yaml: settings.accounts\[1\]: holds a CDK token"):
        chart_values("demo", {}, folder=tmp_path)


def test_missing_file_names_the_chart(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^helm_values/nothing.yaml: no such file"):
        chart_values("nothing", {}, folder=tmp_path)


def test_load_balancer_controller_release_carries_its_file(synthesized: Synthesized) -> None:
    """What the file says is what the chart gets: the synthesized values are the file plus the stack's own keys."""
    _, _, values = helm_release(synthesized.template("cluster"), "aws-load-balancer-controller")
    static = yaml.safe_load((HELM_VALUES_DIR / "aws-load-balancer-controller.yaml").read_text())
    assert {key: values[key] for key in static} == static
    # defaultTags: the env's ownership tags on every load balancer, target group and security group it creates
    assert set(values) - set(static) == {"clusterName", "region", "vpcId", "serviceAccount", "defaultTags"}
