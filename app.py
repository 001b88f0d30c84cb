#!/usr/bin/env python3
"""CDK entry point: `cdk synth -c env=<name>` builds every stack from config/<name>.yaml (default: dev)."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from config.settings import ConfigError, load_config
from stacks.app_stacks import build_stacks

DEFAULT_ENV = "dev"


def main() -> int:
    app = cdk.App()
    env = app.node.try_get_context("env") or DEFAULT_ENV
    try:
        config = load_config(env)
        # Also reads helm_values/, which users may edit: a bad file is a config error too.
        build_stacks(app, config)
    except ConfigError as err:
        # One line, no traceback, before anything is written: nothing is half-created.
        print(f"error: {err}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
