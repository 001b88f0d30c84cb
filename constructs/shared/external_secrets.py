"""The two External Secrets objects every namespace that reads Secrets Manager uses: a SecretStore with no `auth`
(the External Secrets controller's own Pod Identity credentials, which reach only this deployment's secrets) and
ExternalSecrets through it whose Kubernetes Secret lives and dies with them."""

from __future__ import annotations

from typing import Any

API_VERSION = "external-secrets.io/v1"
# How soon a value changed in Secrets Manager reaches its Kubernetes Secret (pods read it when they start).
REFRESH_INTERVAL = "1h"


def secret_store_manifest(name: str, namespace: str, region: str) -> dict[str, Any]:
    """A store for `namespace` only (a SecretStore is namespaced), reading Secrets Manager in `region`."""
    return {
        "apiVersion": API_VERSION,
        "kind": "SecretStore",
        "metadata": {"name": name, "namespace": namespace},
        # No `auth`: the controller's Pod Identity credentials, which reach only this deployment's secrets.
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": region}}},
    }


def external_secret_manifest(target: str, namespace: str, store: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The ExternalSecret making Secret `target` in `namespace` through `store`; `spec` adds its data (and may add
    a template under spec.target)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ExternalSecret",
        "metadata": {"name": target, "namespace": namespace},
        "spec": {
            "refreshInterval": REFRESH_INTERVAL,
            "secretStoreRef": {"kind": "SecretStore", "name": store},
            # Owner: the Secret goes when its ExternalSecret does, so a destroy leaves no copy behind.
            "target": {"name": target, "creationPolicy": "Owner", "deletionPolicy": "Delete"},
            **spec,
        },
    }
