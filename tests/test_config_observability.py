"""Bad `observability` input (config/settings/observability.py), the CoreDNS autoscaler's bounds and the `project`
tag stop synth with one clear line naming the key, before anything is created."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import load_config
from tests.config_edits import config_error, delete_key, set_key

COREDNS = 3  # cluster.addons[3] is coredns in both shipped envs
SCALING = f"cluster.addons.{COREDNS}.configuration.autoScaling"

OBSERVABILITY_BAD_INPUTS = [
    # (env, edits, expected message fragment)
    ("dev", [delete_key("observability")], "dev.yaml: observability: is required"),
    (
        "dev",
        [set_key("observability.metrics.scrape_interval", "1 minute")],
        "dev.yaml: observability.metrics.scrape_interval: String should match pattern",
    ),
    (
        "dev",
        [set_key("observability.alarms.email", "oncall")],
        "dev.yaml: observability.alarms.email: String should match pattern",
    ),
    (
        "dev",
        [set_key("observability.alarms.thresholds.database.cpu_percent", 150)],
        "dev.yaml: observability.alarms.thresholds.database.cpu_percent: Input should be less than or equal to 100",
    ),
    (
        "dev",
        [set_key("observability.alarms.thresholds.interruption_queue_age_seconds", 10)],
        "dev.yaml: observability.alarms.thresholds.interruption_queue_age_seconds: Input should be greater than or "
        "equal to 60",
    ),
    (
        "dev",
        [delete_key("observability.alarms.thresholds.airflow.task_queued_for")],
        "dev.yaml: observability.alarms.thresholds.airflow.task_queued_for: is required",
    ),
    (
        "prod",
        [set_key("observability.logs.enabled", False)],
        "prod.yaml: observability.logs.enabled: must be true in a production env",
    ),
    (
        "prod",
        [set_key("observability.alarms.enabled", False)],
        "prod.yaml: observability.alarms.enabled: must be true in a production env",
    ),
    (
        "prod",
        [set_key("features.observability", False)],
        "prod.yaml: features.observability: must be true in a production env",
    ),
    (
        "dev",
        [set_key(SCALING, {"enabled": True, "minReplicas": 8, "maxReplicas": 4})],
        f"dev.yaml: cluster.addons[{COREDNS}].configuration.autoScaling.minReplicas: is above maxReplicas",
    ),
    (
        "dev",
        [set_key(f"{SCALING}.minReplicas", 1)],
        f"dev.yaml: cluster.addons[{COREDNS}].configuration.autoScaling.minReplicas: must be a whole number from 2",
    ),
    (
        "dev",
        [set_key(f"{SCALING}.targetCpu", 50)],
        f"dev.yaml: cluster.addons[{COREDNS}].configuration.autoScaling: takes only enabled, minReplicas and",
    ),
    ("dev", [set_key("project", "Airflow On EKS")], "dev.yaml: project: String should match pattern"),
    (
        "dev",
        [set_key("observability.metrics.enabled", False)],
        "dev.yaml: observability.grafana.enabled: its dashboards read the metrics workspace: turn on metrics too",
    ),
    (
        "prod",
        [set_key("observability.grafana.enabled", False), set_key("observability.metrics.enabled", False)],
        "prod.yaml: observability.opencost.enabled: it reads its inputs from the metrics workspace: turn on metrics",
    ),
    (
        "dev",
        [
            set_key("observability.grafana.enabled", False),
            set_key("observability.grafana.managed_workspace_id", "g-0123456789"),
            set_key("observability.metrics.enabled", False),
        ],
        "dev.yaml: observability.grafana.managed_workspace_id: its dashboards read the metrics workspace: turn on",
    ),
    (
        "dev",
        [set_key("observability.grafana.managed_workspace_id", "my-grafana")],
        "dev.yaml: observability.grafana.managed_workspace_id: String should match pattern",
    ),
    ("dev", [delete_key("observability.opencost")], "dev.yaml: observability.opencost: is required"),
]


@pytest.mark.parametrize(
    ("env", "edits", "expected"), OBSERVABILITY_BAD_INPUTS, ids=[c[2][:70] for c in OBSERVABILITY_BAD_INPUTS]
)
def test_bad_observability_input_is_one_clear_line(tmp_path: Path, env: str, edits: list, expected: str) -> None:
    message = config_error(env, *edits, tmp_path=tmp_path)
    assert "\n" not in message
    assert expected in message, message


def test_coredns_is_the_fourth_addon_in_both_envs() -> None:
    """The cases above address CoreDNS by index, as the error messages do."""
    for env in ("dev", "prod"):
        assert load_config(env).cluster.addons[COREDNS].name == "coredns"
