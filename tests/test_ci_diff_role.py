"""The pull-request workflow's OIDC role (ci_diff_role.py): only that repository's pull-request runs may assume it,
and it may only assume the CDK bootstrap lookup roles of the envs it diffs; the shipped settings exit 2 with one
line until the repository is named (the bad-settings table is tests/test_config_ci.py).

The stack is synthesized on its own (not the whole app), with the compliance checks the app runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml

from config.settings import CiDiffRoleConfig, load_config
from config.settings.ci import GITHUB_OIDC_ISSUER
from stacks.ci_diff_role_stack import BOOTSTRAP_QUALIFIER_CONTEXT, CiDiffRoleStack, lookup_role_arn
from stacks.compliance import add_compliance_checks
from tests.config_edits import config_with, set_key
from tests.synth import REPO_ROOT, Synthesized, cli_context

REPOSITORY = "example-org/airflow-on-eks"
# An immutable subject claim's spelling of a repository, and an existing provider (the documented example account).
IMMUTABLE_REPOSITORY = "example-org@1234567/airflow-on-eks@89012345"
EXISTING_PROVIDER = f"arn:aws:iam::111122223333:oidc-provider/{GITHUB_OIDC_ISSUER}"
STACK_NAME = "airflow-ci-diff-role"


def synthesize_role(outdir: Path, settings: dict, context: dict | None = None) -> dict:
    """What `cdk synth --app 'python ci_diff_role.py'` writes for these settings: the stack's template."""
    config = CiDiffRoleConfig.model_validate(settings)
    app = cdk.App(context={**cli_context("dev"), **(context or {})}, outdir=str(outdir))
    CiDiffRoleStack(app, config=config, envs=[load_config(env) for env in config.envs])
    add_compliance_checks(app)
    app.synth()
    return json.loads((outdir / f"{STACK_NAME}.template.json").read_text())


@pytest.fixture(scope="module")
def created_provider(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    outdir = tmp_path_factory.mktemp("ci-diff-role")
    settings = {"github_repository": REPOSITORY, "oidc_provider_arn": None, "envs": ["dev", "prod"]}
    return synthesize_role(outdir, settings), outdir


@pytest.fixture(scope="module")
def existing_provider(tmp_path_factory: pytest.TempPathFactory) -> dict:
    settings = {"github_repository": IMMUTABLE_REPOSITORY, "oidc_provider_arn": EXISTING_PROVIDER, "envs": ["dev"]}
    return synthesize_role(tmp_path_factory.mktemp("ci-diff-role-existing"), settings)


def resources(template: dict, kind: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def the_role(template: dict) -> dict:
    (role,) = resources(template, "AWS::IAM::Role")
    return role["Properties"]


def test_only_the_repositorys_pull_requests_may_assume_it(created_provider: tuple[dict, Path]) -> None:
    template, _ = created_provider
    (provider_id,) = (i for i, r in template["Resources"].items() if r["Type"] == "AWS::IAM::OIDCProvider")
    assert the_role(template)["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Effect": "Allow",
            "Principal": {"Federated": {"Ref": provider_id}},
            "Condition": {
                "StringEquals": {
                    f"{GITHUB_OIDC_ISSUER}:aud": "sts.amazonaws.com",
                    f"{GITHUB_OIDC_ISSUER}:sub": f"repo:{REPOSITORY}:pull_request",
                }
            },
        }
    ]


def test_it_creates_the_github_oidc_provider_when_none_is_given(created_provider: tuple[dict, Path]) -> None:
    template, _ = created_provider
    assert {r["Type"] for r in template["Resources"].values()} == {"AWS::IAM::OIDCProvider", "AWS::IAM::Role"}
    (provider,) = resources(template, "AWS::IAM::OIDCProvider")
    assert provider["Properties"]["Url"] == f"https://{GITHUB_OIDC_ISSUER}"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]


def test_an_existing_provider_and_an_immutable_subject(existing_provider: dict) -> None:
    assert {r["Type"] for r in existing_provider["Resources"].values()} == {"AWS::IAM::Role"}
    (statement,) = the_role(existing_provider)["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Federated": EXISTING_PROVIDER}
    assert statement["Condition"]["StringEquals"][f"{GITHUB_OIDC_ISSUER}:sub"] == (
        f"repo:{IMMUTABLE_REPOSITORY}:pull_request"
    )


def lookup_roles_of(synthesized: Synthesized) -> set[str]:
    """The lookup role every stack of an env names in its cloud assembly manifest, which the CDK CLI assumes."""
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    return {
        artifact["properties"]["lookupRole"]["arn"]
        for artifact in manifest["artifacts"].values()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def test_its_one_permission_is_assuming_the_envs_lookup_roles(
    created_provider: tuple[dict, Path], dev: Synthesized, prod: Synthesized
) -> None:
    template, _ = created_provider
    role = the_role(template)
    assert "ManagedPolicyArns" not in role and "PermissionsBoundary" not in role
    assert resources(template, "AWS::IAM::Policy") == resources(template, "AWS::IAM::ManagedPolicy") == []
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    granted = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    # Not the deploy, file-publishing or image-publishing roles: those can change the account.
    assert {arn["Fn::Sub"] for arn in granted} == lookup_roles_of(dev) | lookup_roles_of(prod)
    assert all("-lookup-role-" in arn["Fn::Sub"] for arn in granted)


def test_an_env_in_another_account_names_that_accounts_lookup_role(tmp_path: Path) -> None:
    env = config_with("dev", set_key("account", "444455556666"), tmp_path=tmp_path)
    stack = cdk.Stack()
    assert stack.resolve(lookup_role_arn(env, "hnb659fds")) == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::444455556666:role/cdk-hnb659fds-lookup-role-444455556666-us-west-2"
    }


def test_a_custom_bootstrap_qualifier_in_cdk_json_is_followed(tmp_path: Path) -> None:
    settings = {"github_repository": REPOSITORY, "oidc_provider_arn": EXISTING_PROVIDER, "envs": ["dev"]}
    template = synthesize_role(tmp_path, settings, context={BOOTSTRAP_QUALIFIER_CONTEXT: "ci4test"})
    (statement,) = the_role(template)["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
        "cdk-ci4test-lookup-role-${AWS::AccountId}-us-west-2"
    }


def test_compliance_checks_pass_without_acknowledgments(created_provider: tuple[dict, Path]) -> None:
    _, outdir = created_provider
    report = json.loads((outdir / "validation-report.json").read_text())
    assert all(plugin["violations"] == [] for plugin in report["pluginReports"])
    metadata = json.loads((outdir / f"{STACK_NAME}.metadata.json").read_text())
    assert not [e for entries in metadata.values() for e in entries if e["type"] == "aws:cdk:acknowledged-rules"]


def test_the_role_arn_is_an_output_for_the_repository_variable(created_provider: tuple[dict, Path]) -> None:
    template, _ = created_provider
    (role_id,) = (i for i, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role")
    assert template["Outputs"]["DiffRoleArn"]["Value"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_the_settings_exit_2_with_one_line_until_the_repository_is_set(tmp_path: Path) -> None:
    """What `cdk deploy --app '.venv/bin/python ci_diff_role.py'` runs before github_repository is filled in: the
    shipped file with the repository unset (a copy, so the test holds once a user fills in theirs)."""
    settings = yaml.safe_load((REPO_ROOT / "config" / "ci" / "diff_role.yaml").read_text())
    unset = tmp_path / "diff_role.yaml"
    unset.write_text(yaml.safe_dump({**settings, "github_repository": None}))
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [sys.executable, "ci_diff_role.py"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "CDK_OUTDIR": str(outdir),
            "CDK_CONTEXT_JSON": json.dumps({"diff_role_config": str(unset)}),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: diff_role.yaml: github_repository: is not set: give the repository whose pull requests run "
        "`cdk diff`, as owner/name"
    ]
    assert not outdir.exists() or not list(outdir.glob("*.template.json"))
