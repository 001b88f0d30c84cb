"""Reading an env's config: `load_config(env)` turns `config/<env>.yaml` plus `versions.yaml` into an AppConfig.

It owns where the files live (CONFIG_DIR, VERSIONS_FILE), which env names exist, reading YAML, and turning
pydantic's errors into the one `ConfigError` line that names the file, the key and the problem. The pull-request
workflow's `cdk diff` role is read the same way, by `load_ci_diff_role_config`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.settings.app import AppConfig
from config.settings.base import ConfigError, ConfigKeyError
from config.settings.ci import CiDiffRoleConfig

# The `config/` folder holding <env>.yaml, and the repo's versions.yaml next to it.
CONFIG_DIR = Path(__file__).resolve().parent.parent
VERSIONS_FILE = CONFIG_DIR.parent / "versions.yaml"
# The pull-request workflow's `cdk diff` role, in a folder of its own so it is no env.
CI_DIFF_ROLE_FILE = CONFIG_DIR / "ci" / "diff_role.yaml"

ENV_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


def available_envs(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(path.stem for path in config_dir.glob("*.yaml"))


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path.name}:{where} is not valid YAML ({getattr(err, 'problem', err)})") from None


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    """The dotted key and the problem of one pydantic error."""
    location = [str(part) for part in error["loc"]]
    context_error = (error.get("ctx") or {}).get("error")
    key = ""
    for part in location:
        key += f"[{part}]" if part.isdigit() else (f".{part}" if key else part)
    if isinstance(context_error, ConfigKeyError):
        # A model's cross-field key is relative to that model, which sits at `location`.
        return (f"{key}." if key else "") + context_error.key, context_error.problem
    kind = error["type"]
    if kind == "extra_forbidden":
        return key, "unknown key (check its spelling and indentation)"
    if kind == "missing":
        return key, "is required"
    message = str(error["msg"]).removeprefix("Value error, ")
    if "input" in error and kind not in {"value_error", "assertion_error"} and not isinstance(error["input"], dict):
        message += f" (got {error['input']!r})"
    return key, message


def load_config(env: str, *, config_dir: Path = CONFIG_DIR, versions_file: Path = VERSIONS_FILE) -> AppConfig:
    """Read and validate `config/<env>.yaml` plus `versions.yaml`; raise ConfigError with one line on bad input."""
    if not isinstance(env, str) or not ENV_NAME_PATTERN.fullmatch(env):
        raise ConfigError(f"env: {env!r} is not a valid env name (lowercase letters, digits and '-')")
    path = config_dir / f"{env}.yaml"
    if not path.is_file():
        names = ", ".join(available_envs(config_dir)) or "none"
        raise ConfigError(f"env: unknown env {env!r}: there is no config/{env}.yaml (available: {names})")
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: must be a mapping of keys to values")
    versions = _read_yaml(versions_file)
    if "env_name" in raw:
        raise ConfigError(f"{path.name}: env_name: unknown key (the env name is the file name)")
    try:
        return AppConfig.model_validate({**raw, "env_name": env, "versions": versions})
    except ValidationError as err:
        problems = []
        for error in err.errors():
            key, problem = _describe(error)
            source = versions_file.name if key.startswith("versions") else path.name
            key = key.removeprefix("versions.") if source == versions_file.name else key
            problems.append(f"{source}: {key}: {problem}")
        raise ConfigError("; ".join(problems)) from None


def load_ci_diff_role_config(path: Path = CI_DIFF_ROLE_FILE) -> CiDiffRoleConfig:
    """Read and validate the `cdk diff` role's file; raise ConfigError with one line on bad input."""
    if not path.is_file():
        raise ConfigError(f"{path.name}: there is no {path} (the `cdk diff` role's settings)")
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: must be a mapping of keys to values")
    try:
        config = CiDiffRoleConfig.model_validate(raw)
    except ValidationError as err:
        problems = [f"{path.name}: {key}: {problem}" for key, problem in map(_describe, err.errors())]
        raise ConfigError("; ".join(problems)) from None
    names = available_envs()
    for index, env in enumerate(config.envs):
        if env not in names:
            raise ConfigError(
                f"{path.name}: envs[{index}]: {env!r} is not an env: there is no config/{env}.yaml "
                f"(available: {', '.join(names) or 'none'})"
            )
    return config
