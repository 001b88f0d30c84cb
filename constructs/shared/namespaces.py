"""The Namespace object every app-owned namespace starts from: the pod security standard it enforces and reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Baseline is enforced (no privileged or host-namespace pods); restricted is reported, so a pod that would fail it
# shows up in warnings before anyone tightens the policy.
POD_SECURITY_LABELS = {
    "pod-security.kubernetes.io/enforce": "baseline",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}


def namespace_manifest(name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {**(labels or {}), **POD_SECURITY_LABELS}},
    }
