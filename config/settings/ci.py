"""The pull-request workflow's `cdk diff` role (`config/ci/diff_role.yaml`, deployed by `ci_diff_role.py`).

Who may assume it (one GitHub repository's pull-request runs, through the account's GitHub OIDC provider) and
which envs' CDK bootstrap lookup roles it may assume in turn; nothing else is configurable, since nothing else is
granted.
"""

from __future__ import annotations

import re

from pydantic import field_validator

from config.settings.base import StrictModel

GITHUB_OIDC_ISSUER = "token.actions.githubusercontent.com"
# The repository as GitHub's `sub` claim spells it: owner/name, or owner@<org id>/name@<repo id> for a repository
# that emits immutable subject claims (created from July 2026 on, or opted in).
GITHUB_REPOSITORY = re.compile(r"(?P<owner>[^/@]+)(?:@(?P<owner_id>[0-9]+))?/(?P<name>[^/@]+)(?:@(?P<name_id>[0-9]+))?")
# GitHub's rules: an owner is letters, digits and single inner hyphens, up to 39; a name is letters, digits, '.',
# '_' and '-', up to 100, and neither '.' nor '..'.
GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")
GITHUB_NAME = re.compile(r"(?!\.\.?$)[A-Za-z0-9._-]{1,100}")
GITHUB_OIDC_PROVIDER_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov)?:iam::[0-9]{12}:oidc-provider/" + re.escape(GITHUB_OIDC_ISSUER)
)


class CiDiffRoleConfig(StrictModel):
    # Whose pull-request runs may assume the role (the trust policy's `sub`): owner/name as GitHub spells it.
    github_repository: str | None
    # The account's GitHub OIDC provider, when it already exists (IAM allows one per issuer and account);
    # null creates it in this stack.
    oidc_provider_arn: str | None
    # The envs the workflow diffs: the role may assume exactly their CDK bootstrap lookup roles.
    envs: list[str]

    @field_validator("github_repository")
    @classmethod
    def _repository(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("is not set: give the repository whose pull requests run `cdk diff`, as owner/name")
        match = GITHUB_REPOSITORY.fullmatch(value)
        if (
            match is None
            or len(match["owner"]) > 39
            or not GITHUB_OWNER.fullmatch(match["owner"])
            or not GITHUB_NAME.fullmatch(match["name"])
        ):
            raise ValueError(f"{value!r} is not a GitHub repository: owner/name, or owner@<org id>/name@<repo id>")
        if (match["owner_id"] is None) != (match["name_id"] is None):
            raise ValueError(
                f"{value!r} has the id of only one of owner and name: GitHub's immutable `sub` claim carries both"
            )
        return value

    @field_validator("oidc_provider_arn")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        if value is not None and not GITHUB_OIDC_PROVIDER_ARN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a GitHub OIDC provider ARN "
                f"(arn:aws:iam::<account>:oidc-provider/{GITHUB_OIDC_ISSUER}); null creates one"
            )
        return value

    @field_validator("envs")
    @classmethod
    def _envs(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("lists no env: name the envs the workflow diffs")
        for index, name in enumerate(value):
            if name in value[:index]:
                raise ValueError(f"[{index}]: {name!r} is listed twice")
        return value

    @property
    def subject(self) -> str:
        """The `sub` claim of the repository's `pull_request` runs, the only ones the role trusts."""
        return f"repo:{self.github_repository}:pull_request"
