"""Bad `versions.yaml` input (config/settings/versions.py) stops synth with one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config_edits import config_error, set_key

VERSIONS_BAD_INPUTS = [
    # (edit to versions.yaml, expected message fragment); loaded with the dev config
    (
        set_key("postgres.full", "16.4"),
        "versions.yaml: postgres: full version 16.4 is not of major 17",
    ),
    (
        set_key("helm_charts.karpenter.repository", "oci://public.ecr.aws/karpenter/controller"),
        "versions.yaml: helm_charts.karpenter.repository: an OCI repository must end with the chart name /karpenter",
    ),
    (
        set_key("eks_addons.coredns", "latest"),
        "versions.yaml: eks_addons.coredns: String should match pattern",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), VERSIONS_BAD_INPUTS, ids=[case[1][:60] for case in VERSIONS_BAD_INPUTS])
def test_bad_versions_are_one_clear_line(tmp_path: Path, edit, expected: str) -> None:
    message = config_error("dev", tmp_path=tmp_path, version_edits=[edit])
    assert expected in message
    assert "\n" not in message


def test_karpenter_crds_must_match_the_controller(tmp_path: Path) -> None:
    message = config_error(
        "dev", tmp_path=tmp_path, version_edits=[set_key("helm_charts.karpenter_crd.version", "1.13.0")]
    )
    assert message == (
        "versions.yaml: helm_charts.karpenter_crd.version: 1.13.0 differs from karpenter.version 1.14.1; "
        "the CRDs must match the controller"
    )
