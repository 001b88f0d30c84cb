"""The `spark` section: the namespaces Spark jobs run in, the NodePool they run on, how long their event logs stay
and whether a Spark History Server shows them.

It owns the checks within the section (namespaces used once, none of the app's own). The check that the pool
exists and allows what the jobs ask for lives in app.py, which sees the cluster section too.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from config.settings.base import K8sName, StrictModel

# Namespaces the app or Kubernetes already owns: a Spark team namespace of one of these names would be created over
# (or deleted with) something else.
RESERVED_NAMESPACES = frozenset(
    {
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "airflow",
        "spark-operator",
        "karpenter",
        "external-secrets",
    }
)


class SparkHistoryServerConfig(StrictModel):
    # One History Server per job namespace, on the core nodes, reading that namespace's event logs (read-only).
    enabled: bool


class SparkConfig(StrictModel):
    # Each gets its namespace, its S3 bucket and its service accounts; the operator watches exactly these.
    job_namespaces: Annotated[list[K8sName], Field(min_length=1, max_length=10)]
    # The Karpenter NodePool drivers (on-demand) and executors (Spot) run on.
    node_pool: K8sName
    event_log_expiry_days: Annotated[int, Field(ge=1, le=3650)]
    history_server: SparkHistoryServerConfig

    @field_validator("job_namespaces")
    @classmethod
    def _own_namespaces(cls, value: list[str]) -> list[str]:
        for index, name in enumerate(value):
            if name in RESERVED_NAMESPACES:
                raise ValueError(f"[{index}]: {name!r} is a namespace the app or Kubernetes already uses")
            if value.index(name) != index:
                raise ValueError(f"[{index}]: {name!r} is listed twice")
        return value
