"""Build an env's config with edits applied: the shipped `config/<env>.yaml`, changed, then loaded for real.

An edit is any callable that changes the parsed YAML in place; `set_key`, `delete_key` and `append_item` make the
usual ones from a dotted path (`"cluster.addons.0.name"`: digits index lists). `config_with` writes the edited
file into a temporary folder and runs `load_config` on it, so a bad edit raises the same ConfigError a user sees:

    config = config_with("prod", set_key("database.multi_az", False), tmp_path=tmp_path)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from config.settings import CONFIG_DIR, VERSIONS_FILE, AppConfig, ConfigError, load_config

Edit = Callable[[dict], None]


def _parent_and_leaf(data: dict, path: str) -> tuple[Any, str | int]:
    *parents, leaf = (int(part) if part.isdigit() else part for part in path.split("."))
    for part in parents:
        data = data[part]
    return data, leaf


def set_key(path: str, value: Any) -> Edit:
    """Set (or add) the key at `path` to `value`."""

    def edit(data: dict) -> None:
        node, leaf = _parent_and_leaf(data, path)
        node[leaf] = value

    return edit


def delete_key(path: str) -> Edit:
    """Remove the key (or list item) at `path`."""

    def edit(data: dict) -> None:
        node, leaf = _parent_and_leaf(data, path)
        del node[leaf]

    return edit


def append_item(path: str, item: Any) -> Edit:
    """Append `item` to the list at `path`."""

    def edit(data: dict) -> None:
        node, leaf = _parent_and_leaf(data, path)
        node[leaf].append(item)

    return edit


def edited(source: Path, *edits: Edit) -> Any:
    """The YAML at `source`, parsed, with `edits` applied in order."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    for edit in edits:
        edit(data)
    return data


def config_with(env: str, *edits: Edit, tmp_path: Path, version_edits: Iterable[Edit] = ()) -> AppConfig:
    """Load `env` with `edits` applied to its config file (and `version_edits` to versions.yaml).

    The edited files are written into `tmp_path` under their usual names, so error messages read as for the
    shipped files. Raises ConfigError exactly as `load_config` does.
    """
    (tmp_path / f"{env}.yaml").write_text(yaml.safe_dump(edited(CONFIG_DIR / f"{env}.yaml", *edits)), encoding="utf-8")
    versions_file = VERSIONS_FILE
    version_edits = tuple(version_edits)
    if version_edits:
        versions_file = tmp_path / VERSIONS_FILE.name
        versions_file.write_text(yaml.safe_dump(edited(VERSIONS_FILE, *version_edits)), encoding="utf-8")
    return load_config(env, config_dir=tmp_path, versions_file=versions_file)


def config_error(env: str, *edits: Edit, tmp_path: Path, version_edits: Iterable[Edit] = ()) -> str:
    """The one-line ConfigError message `config_with` raises; fails the test if the edited config loads."""
    try:
        config_with(env, *edits, tmp_path=tmp_path, version_edits=version_edits)
    except ConfigError as err:
        return str(err)
    raise AssertionError(f"{env} with these edits loaded without a ConfigError")


# The non-default paths a user may configure, in one dev variant (conftest's dev_alternatives) so a session
# synthesizes it once: an internet-facing ALB with HTTPS, DAGs from git-sync instead of the deploy, and no Spark.
ALTERNATIVE_CERTIFICATE = "arn:aws:acm:us-west-2:111122223333:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
ALTERNATIVE_HOST = "airflow.example.com"
ALTERNATIVE_CIDR = "203.0.113.0/24"
ALTERNATIVE_GIT_SYNC = {"repository": "https://example.com/dags.git", "branch": "main"}
# An Amazon Managed Grafana workspace id of the documented shape (g- and 10 hex digits); none exists.
ALTERNATIVE_GRAFANA_WORKSPACE = "g-0123456789"

ALTERNATIVES = (
    set_key("allowed_ingress_cidrs", [ALTERNATIVE_CIDR]),
    set_key("airflow.ingress.scheme", "internet-facing"),
    set_key("airflow.ingress.certificate_arn", ALTERNATIVE_CERTIFICATE),
    set_key("airflow.ingress.host", ALTERNATIVE_HOST),
    set_key("airflow.dags.source", "git_sync"),
    set_key("airflow.dags.git_sync", ALTERNATIVE_GIT_SYNC),
    set_key("features.spark_operator", False),
    # The other half of each observability toggle: no log shipping, no in-cluster Grafana, no alarms, and the
    # dashboards delivered to a managed Grafana workspace instead (the metrics workspace stays: they read it; metrics
    # off, which adds nothing, is built in tests/test_observability.py); CoreDNS without its autoscaler and the core
    # group with the Cluster Autoscaler. OpenCost is off in dev and on in prod.
    set_key("observability.logs.enabled", False),
    set_key("observability.grafana.enabled", False),
    set_key("observability.grafana.managed_workspace_id", ALTERNATIVE_GRAFANA_WORKSPACE),
    set_key("observability.alarms.enabled", False),
    lambda data: next(a for a in data["cluster"]["addons"] if a["name"] == "coredns").pop("configuration"),
    set_key("cluster.cluster_autoscaler.enabled", True),
)
