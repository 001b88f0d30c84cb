"""The IAM role the pull-request workflow assumes through GitHub OIDC to run `cdk diff --method template`.

Its one permission is sts:AssumeRole on the CDK bootstrap lookup role of each env it diffs. The lookup role reads
deployed templates (ReadOnlyAccess, with kms:Decrypt denied), which is all a template diff needs. A change-set diff
would need the deploy role, which can also execute change sets: every branch pushed to the repository runs its own
copy of the workflow, so that would let anyone who can push a branch deploy. For the same reason, whoever can push
a branch can read what ReadOnlyAccess reads in the env's account (README "What the role may do").
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from config.settings import AppConfig, CiDiffRoleConfig
from config.settings.ci import GITHUB_OIDC_ISSUER
from constructs.shared.tags import tag_component, tag_every_resource

# The audience configure-aws-credentials asks GitHub to put in the token.
STS_AUDIENCE = "sts.amazonaws.com"
# cdk.json may set a custom bootstrap qualifier here, as it would for `cdk bootstrap --qualifier`.
BOOTSTRAP_QUALIFIER_CONTEXT = "@aws-cdk/core:bootstrapQualifier"
COMPONENT = "ci-diff-role"


def lookup_role_arn(env: AppConfig, qualifier: str) -> str:
    """The lookup role the CDK CLI assumes to read `env`'s deployed templates, as its stacks' manifest names it."""
    arn = cdk.DefaultStackSynthesizer.DEFAULT_LOOKUP_ROLE_ARN.replace("${Qualifier}", qualifier)
    arn = arn.replace("${AWS::Region}", env.region)
    # An env without an account deploys to the credentials' account, which is the one this role lives in.
    return cdk.Fn.sub(arn.replace("${AWS::AccountId}", env.account) if env.account else arn)


class CiDiffRoleStack(cdk.Stack):
    """`<name_prefix>-ci-diff-role`, named, placed and tagged after the first env it diffs."""

    def __init__(self, scope: Construct, *, config: CiDiffRoleConfig, envs: Sequence[AppConfig]) -> None:
        first = envs[0]
        name = f"{first.name_prefix}-{COMPONENT}"
        super().__init__(
            scope,
            name,
            stack_name=name,
            env=cdk.Environment(account=first.account, region=first.region),
            description=f"GitHub OIDC role for `cdk diff` of {config.github_repository}'s pull requests",
        )
        tag_every_resource(self, project=first.project, env_name="ci")
        tag_component(self, project=first.project, env_name="ci", component=COMPONENT)

        if config.oidc_provider_arn is None:
            provider_arn = iam.OidcProviderNative(
                self, "GitHubOidcProvider", url=f"https://{GITHUB_OIDC_ISSUER}", client_ids=[STS_AUDIENCE]
            ).oidc_provider_arn
        else:
            provider_arn = config.oidc_provider_arn

        qualifier = (
            self.node.try_get_context(BOOTSTRAP_QUALIFIER_CONTEXT) or cdk.DefaultStackSynthesizer.DEFAULT_QUALIFIER
        )
        # dict.fromkeys: envs sharing an account and region share one lookup role.
        lookup_roles = list(dict.fromkeys(lookup_role_arn(env, qualifier) for env in envs))
        role = iam.Role(
            self,
            "DiffRole",
            assumed_by=iam.WebIdentityPrincipal(
                provider_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_ISSUER}:aud": STS_AUDIENCE,
                        # Only pull_request runs: not pushes, tags, environments or other repositories.
                        f"{GITHUB_OIDC_ISSUER}:sub": config.subject,
                    }
                },
            ),
            description=f"cdk diff of {config.github_repository} pull requests: may only assume the CDK lookup "
            f"roles of {', '.join(config.envs)}",
            max_session_duration=cdk.Duration.hours(1),
            inline_policies={
                "AssumeCdkLookupRoles": iam.PolicyDocument(
                    statements=[iam.PolicyStatement(actions=["sts:AssumeRole"], resources=lookup_roles)]
                )
            },
        )
        cdk.CfnOutput(
            self, "DiffRoleArn", value=role.role_arn, description="the CDK_DIFF_ROLE_ARN variable of the repository"
        )
