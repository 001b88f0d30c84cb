"""Bad settings of the pull-request workflow's `cdk diff` role (config/ci/diff_role.yaml, config/settings/ci.py)
stop its synth with one line naming the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from config.settings import CI_DIFF_ROLE_FILE, ConfigError, load_ci_diff_role_config
from tests.test_ci_diff_role import IMMUTABLE_REPOSITORY, REPOSITORY

SHIPPED = yaml.safe_load(CI_DIFF_ROLE_FILE.read_text())
BAD_SETTINGS = [
    # (key, value, expected message fragment)
    ("github_repository", "airflow-on-eks", "github_repository: 'airflow-on-eks' is not a GitHub repository"),
    ("github_repository", "org/repo/extra", "github_repository: 'org/repo/extra' is not a GitHub repository"),
    ("github_repository", "-org/repo", "github_repository: '-org/repo' is not a GitHub repository"),
    ("github_repository", "org/..", "github_repository: 'org/..' is not a GitHub repository"),
    ("github_repository", "o" * 40 + "/repo", "is not a GitHub repository"),
    ("github_repository", "org@123/repo", "has the id of only one of owner and name"),
    ("github_repository", None, "github_repository: is not set: give the repository"),
    (
        "oidc_provider_arn",
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks.amazonaws.com",
        "is not a GitHub OIDC provider ARN",
    ),
    (
        "oidc_provider_arn",
        "token.actions.githubusercontent.com",
        "oidc_provider_arn: 'token.actions.githubusercontent.com' is not",
    ),
    ("envs", [], "envs: lists no env"),
    ("envs", ["dev", "dev"], "envs: [1]: 'dev' is listed twice"),
    (
        "envs",
        ["dev", "staging"],
        "envs[1]: 'staging' is not an env: there is no config/staging.yaml (available: dev, prod)",
    ),
    ("envs", "dev", "envs: Input should be a valid list"),
    ("github_repo", REPOSITORY, "github_repo: unknown key"),
]


@pytest.mark.parametrize(("key", "value", "expected"), BAD_SETTINGS, ids=[c[2][:60] for c in BAD_SETTINGS])
def test_bad_settings_are_one_clear_line(tmp_path: Path, key: str, value: object, expected: str) -> None:
    settings = {**SHIPPED, "github_repository": REPOSITORY, key: value}
    path = tmp_path / "diff_role.yaml"
    path.write_text(yaml.safe_dump(settings))
    with pytest.raises(ConfigError) as raised:
        load_ci_diff_role_config(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("diff_role.yaml: ")
    assert expected in message, message


def test_good_settings_load(tmp_path: Path) -> None:
    for repository in (REPOSITORY, IMMUTABLE_REPOSITORY, "a/.github", "Org-9/name_with.dots"):
        path = tmp_path / "diff_role.yaml"
        path.write_text(yaml.safe_dump({**SHIPPED, "github_repository": repository}))
        assert load_ci_diff_role_config(path).subject == f"repo:{repository}:pull_request"


def test_a_missing_or_malformed_file_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "diff_role.yaml"
    with pytest.raises(ConfigError, match=r"^diff_role.yaml: there is no .*diff_role.yaml"):
        load_ci_diff_role_config(path)
    path.write_text("- github_repository\n")
    with pytest.raises(ConfigError, match=r"^diff_role.yaml: must be a mapping of keys to values$"):
        load_ci_diff_role_config(path)
    path.write_text("envs: [dev\n")
    with pytest.raises(ConfigError, match=r"^diff_role.yaml: line \d+ is not valid YAML"):
        load_ci_diff_role_config(path)
