"""A Helm release of a synthesized stack, rendered offline with the real Helm and the exact values the app
synthesized (deploy-time `${...}` markers given realistic stand-ins), once per env, stack and release per session."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tests.helm import helm_template
from tests.support import StandIns, flatten, resolve_markers, with_namespace
from tests.template_queries import helm_release

if TYPE_CHECKING:
    from tests.synth import Synthesized


@dataclass
class Release:
    """One Helm release of a stack's template, rendered."""

    logical_id: str
    name: str
    namespace: str
    chart_dir: Path
    properties: dict
    values: dict  # as synthesized, with the deploy-time stand-ins in place
    objects: list[dict]  # from templates/, `kind: List` flattened, namespaced objects given the release namespace
    crds_folder: list[dict] = field(default_factory=list)  # CRDs Helm installs from crds/ (not from templates/)

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]


_RENDERED: dict[tuple[str, str, str], Release] = {}


def render_release(synthesized: Synthesized, component: str, release: str, helm: Path, charts_dir: Path) -> Release:
    """The release named `release` of the `component` stack (or of "platform": the cluster and Karpenter stacks,
    Synthesized.platform), rendered from ../shared/charts at the cluster's Kubernetes version."""
    # The cluster's and Karpenter's releases render once, from the platform's template, whichever a test names.
    platform = component in ("cluster", "karpenter", "platform")
    key = (synthesized.config.env_name, "platform" if platform else component, release)
    if key not in _RENDERED:
        template = synthesized.platform() if platform else synthesized.template(component)
        logical_id, properties, values = helm_release(template, release)
        chart_dir = charts_dir / properties["Chart"] / properties["Version"]
        assert chart_dir.is_dir(), (
            f"the pinned chart {properties['Chart']} {properties['Version']} is not in {charts_dir}"
        )
        values = resolve_markers(values, StandIns(synthesized.templates, template, synthesized.config.cluster_name))
        arguments = (
            helm,
            release,
            chart_dir,
            properties["Namespace"],
            values,
            synthesized.config.cluster.kubernetes_version,
        )
        objects = flatten(helm_template(*arguments))
        with_crds = flatten(helm_template(*arguments, include_crds=True))
        templated = {o["metadata"]["name"] for o in objects if o["kind"] == "CustomResourceDefinition"}
        crds_folder = [
            o for o in with_crds if o["kind"] == "CustomResourceDefinition" and o["metadata"]["name"] not in templated
        ]
        all_crds = [o for o in with_crds if o["kind"] == "CustomResourceDefinition"]
        _RENDERED[key] = Release(
            logical_id=logical_id,
            name=release,
            namespace=properties["Namespace"],
            chart_dir=chart_dir,
            properties=properties,
            values=values,
            objects=with_namespace(objects, properties["Namespace"], all_crds),
            crds_folder=crds_folder,
        )
    return _RENDERED[key]
