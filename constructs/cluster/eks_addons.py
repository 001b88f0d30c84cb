"""EKS managed add-ons from config, each at the version pinned in versions.yaml, plus the default StorageClass."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from config.settings import AddonConfig
from constructs.cluster.eks_iam import PodIdentity
from constructs.shared.acknowledgments import acknowledge, aws_managed_policy_finding

DEFAULT_VERSION = "default"
EBS_CSI_DRIVER = "aws-ebs-csi-driver"

# Encrypted gp3 for every PersistentVolumeClaim that names no class. WaitForFirstConsumer creates the volume in
# the AZ of the node the pod lands on.
GP3_STORAGE_CLASS = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": "ebs.csi.aws.com",
    "volumeBindingMode": "WaitForFirstConsumer",
    "allowVolumeExpansion": True,
    "reclaimPolicy": "Delete",
    "parameters": {"type": "gp3", "encrypted": "true", "fsType": "ext4"},
}


@dataclass(frozen=True, kw_only=True)
class ManagedAddonsProps:
    cluster: eks.ICluster
    addons: Sequence[AddonConfig]
    versions: Mapping[str, str]
    # Add-ons marked after_nodes wait for these nodes; the core node group waits for all the others.
    core_nodes: eks.Nodegroup
    # On every EBS volume and snapshot the EBS CSI driver creates, whatever the StorageClass.
    volume_tags: Mapping[str, str]


class ManagedAddons(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: ManagedAddonsProps) -> None:
        super().__init__(scope, construct_id)
        self.addons: dict[str, eks.CfnAddon] = {}
        for addon in props.addons:
            resource = self._addon(props.cluster, addon, props.versions[addon.name], props.volume_tags)
            if addon.after_nodes:
                resource.node.add_dependency(props.core_nodes)
            else:
                # Node daemons (CNI, kube-proxy, Pod Identity agent) first, so nodes join a working network.
                props.core_nodes.node.add_dependency(resource)
            self.addons[addon.name] = resource

        self.storage_class = eks.KubernetesManifest(
            self, "Gp3StorageClass", cluster=props.cluster, manifest=[GP3_STORAGE_CLASS]
        )
        if EBS_CSI_DRIVER in self.addons:
            self.storage_class.node.add_dependency(self.addons[EBS_CSI_DRIVER])

    def _addon(
        self, cluster: eks.ICluster, addon: AddonConfig, version: str, volume_tags: Mapping[str, str]
    ) -> eks.CfnAddon:
        associations = None
        if addon.pod_identity is not None:
            identity = PodIdentity(
                self,
                f"{addon.name}-identity",
                cluster=cluster,
                namespace="kube-system",
                service_account=addon.pod_identity.service_account,
                description=f"EKS add-on {addon.name} ({addon.pod_identity.service_account})",
                managed_policies=[
                    iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in addon.pod_identity.managed_policies
                ],
                # The add-on creates the association itself, together with its service account.
                create_association=False,
            )
            acknowledge(
                identity.role,
                f"The AWS-managed policy the EKS documentation prescribes for {addon.name}: AWS keeps it in step "
                "with the driver's API calls and scopes its writes by the driver's own resource tags.",
                *(aws_managed_policy_finding(name) for name in addon.pod_identity.managed_policies),
            )
            associations = [
                eks.CfnAddon.PodIdentityAssociationProperty(
                    service_account=addon.pod_identity.service_account, role_arn=identity.role.role_arn
                )
            ]
        configuration = addon.configuration
        if addon.name == EBS_CSI_DRIVER:
            configuration = with_volume_tags(configuration or {}, volume_tags)
        return eks.CfnAddon(
            self,
            addon.name,
            cluster_name=cluster.cluster_name,
            addon_name=addon.name,
            addon_version=None if version == DEFAULT_VERSION else version,
            # Take over fields a previous self-managed install set, instead of failing the deploy.
            resolve_conflicts="OVERWRITE",
            preserve_on_delete=False,
            pod_identity_associations=associations,
            # Sorted keys: the same config always gives the same template.
            configuration_values=None if configuration is None else json.dumps(configuration, sort_keys=True),
        )


def with_volume_tags(configuration: Mapping[str, Any], tags: Mapping[str, str]) -> dict[str, Any]:
    """The add-on's `controller.extraVolumeTags` (its configuration schema's name for the driver's --extra-tags),
    config's own extra tags kept and the app's ownership tags over them."""
    controller = dict(configuration.get("controller") or {})
    controller["extraVolumeTags"] = {**(controller.get("extraVolumeTags") or {}), **tags}
    return {**configuration, "controller": controller}
