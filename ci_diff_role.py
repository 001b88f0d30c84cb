#!/usr/bin/env python3
"""CDK entry point of the pull-request workflow's OIDC role, the one stack config/ci/diff_role.yaml describes:

    npx cdk deploy --app '.venv/bin/python ci_diff_role.py' --output cdk.out/ci-diff-role
    (-c diff_role_config=<path> reads another file than config/ci/diff_role.yaml)

Apart from app.py, so `cdk deploy --all -c env=<name>` never touches it: it is one per account, not per env.
"""

from __future__ import annotations

import sys
from pathlib import Path

import aws_cdk as cdk

from config.settings import ConfigError, load_ci_diff_role_config, load_config
from config.settings.loader import CI_DIFF_ROLE_FILE
from stacks.ci_diff_role_stack import CiDiffRoleStack
from stacks.compliance import add_compliance_checks


def main() -> int:
    app = cdk.App()
    try:
        config = load_ci_diff_role_config(Path(app.node.try_get_context("diff_role_config") or CI_DIFF_ROLE_FILE))
        CiDiffRoleStack(app, config=config, envs=[load_config(env) for env in config.envs])
    except ConfigError as err:
        # One line, no traceback, before anything is written, as app.py does.
        print(f"error: {err}", file=sys.stderr)
        return 2
    add_compliance_checks(app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
