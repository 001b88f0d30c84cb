"""Loading config: env names, YAML errors, the shipped envs, and the app's one-line exit on bad config.

The bad-input tables live per section in test_config_<section>.py; edits are built with tests/config_edits.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import ConfigError, LoggingConfig, load_config
from tests.synth import REPO_ROOT
from tests.test_config_app import APP_BAD_INPUTS
from tests.test_config_cluster import CLUSTER_BAD_INPUTS
from tests.test_config_data import DATA_BAD_INPUTS
from tests.test_config_karpenter import KARPENTER_BAD_INPUTS
from tests.test_config_network import NETWORK_BAD_INPUTS
from tests.test_config_versions import VERSIONS_BAD_INPUTS

# Before the split: 50 cases in one BAD_INPUTS table plus the Karpenter CRD test of versions.yaml.
BAD_INPUT_CASES_BEFORE_SPLIT = 51


def test_no_bad_input_case_was_lost_in_the_split() -> None:
    expected = [case[-1] for table in (NETWORK_BAD_INPUTS, CLUSTER_BAD_INPUTS, KARPENTER_BAD_INPUTS) for case in table]
    expected += [case[-1] for table in (DATA_BAD_INPUTS, APP_BAD_INPUTS, VERSIONS_BAD_INPUTS) for case in table]
    assert len(set(expected)) == len(expected), "a case is listed twice"
    separate_tests = 1  # test_config_versions.py::test_karpenter_crds_must_match_the_controller
    assert len(expected) + separate_tests >= BAD_INPUT_CASES_BEFORE_SPLIT


def test_unknown_env_names_the_available_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"^env: unknown env 'staging': there is no config/staging.yaml \(available: dev, prod\)$"
    ):
        load_config("staging")


def test_env_name_cannot_escape_the_config_folder() -> None:
    with pytest.raises(ConfigError, match=r"^env: '\.\./versions' is not a valid env name"):
        load_config("../versions")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").write_text("name_prefix: airflow\nnetwork: [unclosed\n")
    with pytest.raises(ConfigError, match=r"^dev.yaml: line 3 is not valid YAML"):
        load_config("dev", config_dir=tmp_path)


def test_shipped_envs_load() -> None:
    dev, prod = load_config("dev"), load_config("prod")
    assert (dev.environment_type, prod.environment_type) == ("development", "production")
    assert dev.availability_zones == ["us-west-2a", "us-west-2b"]
    assert prod.availability_zones == ["us-west-2a", "us-west-2b", "us-west-2c"]


def test_log_retention_choices_match_what_cdk_can_express() -> None:
    from constructs.shared.lifecycle import LOG_RETENTION_DAYS

    allowed = LoggingConfig.model_fields["retention_days"].annotation.__args__
    assert tuple(allowed) == LOG_RETENTION_DAYS


def test_app_exits_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """What `cdk synth -c env=staging` runs: the app prints one line, exits non-zero, creates no template."""
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps({"env": "staging"}), "CDK_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: env: unknown env 'staging': there is no config/staging.yaml (available: dev, prod)"
    ]
    assert "Traceback" not in result.stdout + result.stderr
    assert not list(outdir.glob("*.template.json")) if outdir.exists() else True


def test_project_constructs_folder_extends_the_constructs_library() -> None:
    import constructs
    from constructs import Construct

    from constructs.data.database import AirflowDatabase

    assert Construct.__module__.startswith("constructs")
    assert hasattr(constructs, "Node")  # the jsii library, not our folder shadowing it
    assert AirflowDatabase.__module__ == "constructs.data.database"
