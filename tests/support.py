"""Checks shared by the tests that look at Kubernetes objects: the ones the app applies and the ones its charts render.

- Validation as the API server would: `core_validation_error` (kubernetes-validate, at the cluster's version) and
  `crd_errors` / `crd_schemas` (a custom resource against its CRD's openAPIV3Schema), plus `StandIns`
  for the values CloudFormation only knows at deploy time, and `unknown_keys` for charts without a values schema.
- Placement: `node_shapes` (what the core managed node group and each Karpenter NodePool can offer a pod) and
  `placement_problem` (can a pod's nodeSelector, required node affinity and tolerations be met by one of them).
- Identity: `pod_identity_problems` (EKS Pod Identity associations against the service accounts and pods).
- IAM: `statement_signature` (what a policy statement grants, comparable across templates) and `as_list`.
- Ordering: `transitive_dependencies` (the order CloudFormation creates, and reverses on delete), `webhook_problems`
  (each webhook is served from its own release) and `webhook_races` (fail-closed webhooks against objects created
  concurrently with their release).

Nothing here imports the app: everything comes from synthesized templates and rendered objects.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from tests.template_queries import kubernetes_manifests, refs_in, render, resources_of_type

# ---- deploy-time values ----

MARKER = re.compile(r"\$\{([^}]*)\}")


class StandIns:
    """Deterministic, realistic stand-ins for the `${...}` markers `template_queries.render` writes.

    Each marker is resolved to the resource it points at (following a cross-stack `${Output:...}` to the producing
    stack's output) and replaced by a value shaped like what CloudFormation returns for that resource type. A marker
    of any other shape or resource type raises AssertionError: add it here deliberately, with a realistic value.
    """

    def __init__(self, templates: dict[str, dict], template: dict, cluster_name: str) -> None:
        self.templates = templates
        self.template = template
        self.cluster_name = cluster_name

    def __call__(self, marker: str) -> str:
        body = MARKER.fullmatch(marker)
        assert body, f"not a deploy-time marker: {marker!r}"
        text = body.group(1)
        if text.startswith("Output:"):
            return self._output(text.removeprefix("Output:"), marker)
        if text.startswith("Ref:"):
            return self._value(self.template, text.removeprefix("Ref:"), "Ref", marker)
        logical_id, _, attribute = text.partition(".")
        return self._value(self.template, logical_id, attribute, marker)

    def _output(self, name: str, marker: str) -> str:
        template, logical_id, attribute = output_source(self.templates, f"${{Output:{name}}}")
        return self._value(template, logical_id, attribute, marker)

    def _value(self, template: dict, logical_id: str, attribute: str, marker: str) -> str:
        resource = template["Resources"].get(logical_id)
        assert resource is not None, f"{marker}: no resource {logical_id}"
        stack = resource.get("Metadata", {}).get("aws:cdk:path", "stack/").split("/")[0]
        generated_name = f"{stack}-{logical_id}"  # the shape of a CloudFormation-generated physical name
        stand_ins = {
            ("AWS::EKS::Cluster", "Ref"): self.cluster_name,
            ("AWS::EC2::VPC", "Ref"): "vpc-0123456789abcdef0",
            ("AWS::SQS::Queue", "QueueName"): generated_name[:80],
            ("AWS::IAM::Role", "Ref"): generated_name[:64],
            # S3 lowercases a generated bucket name and caps it at 63 characters.
            ("AWS::S3::Bucket", "Ref"): generated_name.lower()[:63],
            ("AWS::APS::Workspace", "PrometheusEndpoint"): (
                f"https://aps-workspaces.us-west-2.amazonaws.com/workspaces/{WORKSPACE_ID_STAND_IN}/"
            ),
            ("AWS::APS::Workspace", "WorkspaceId"): WORKSPACE_ID_STAND_IN,
        }
        key = (resource["Type"], attribute)
        assert key in stand_ins, f"unexpected deploy-time value {marker} ({key[0]} {key[1]}): give it a stand-in"
        return stand_ins[key]


WORKSPACE_ID_STAND_IN = "ws-0123abcd-4567-89ef-0123-456789abcdef"


def output_source(templates: dict[str, dict], marker: str) -> tuple[dict, str, str]:
    """(producing template, logical id, attribute) of the resource a cross-stack `${Output:Name}` marker reads;
    the attribute is "Ref" for a Ref."""
    name = marker.removeprefix("${Output:").removesuffix("}")
    producers = [t for t in templates.values() if name in t.get("Outputs", {})]
    assert len(producers) == 1, f"{marker}: output {name} is exported by {len(producers)} stacks"
    value = producers[0]["Outputs"][name]["Value"]
    if "Ref" in value:
        return producers[0], value["Ref"], "Ref"
    if "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return producers[0], logical_id, attribute
    raise AssertionError(f"{marker}: output {name} is {value!r}, which points at no resource")


def resolve_markers(value: Any, resolve: Callable[[str], str]) -> Any:
    """A copy of `value` with every `${...}` marker in its strings replaced by `resolve(marker)`."""
    if isinstance(value, dict):
        return {k: resolve_markers(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_markers(item, resolve) for item in value]
    if isinstance(value, str):
        return MARKER.sub(lambda match: resolve(match.group(0)), value)
    return value


# ---- validation ----


def core_validation_error(obj: dict, kubernetes_version: str) -> str | None:
    """Why the API server of `kubernetes_version` (e.g. "1.36") would reject this built-in kind, or None."""
    full_version = kubernetes_version if kubernetes_version.count(".") == 2 else f"{kubernetes_version}.0"
    try:
        kubernetes_validate.validate(obj, full_version, strict=True)
    except kubernetes_validate.ValidationError as err:
        return err.message
    except kubernetes_validate.SchemaNotFoundError:
        return f"no schema for {obj['apiVersion']} {obj['kind']} in Kubernetes {full_version}"
    return None


def crd_schemas(crds: Iterable[dict]) -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> openAPIV3Schema for every served version of these CRDs (other documents are skipped)."""
    index: dict[tuple[str, str], dict] = {}
    for crd in crds:
        if crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                index[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return index


def crds_in(folder: Path) -> list[dict]:
    """Every CustomResourceDefinition in the YAML files of `folder` (multi-document files included)."""
    found = []
    for path in sorted(folder.glob("*.yaml")):
        found += [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "CustomResourceDefinition"]
    return found


def crd_errors(obj: dict, schema: dict) -> list[str]:
    """Structural errors of a custom resource against its CRD schema (Draft 4; CEL rules are not evaluated)."""
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(obj), key=lambda e: list(e.path))
    return [f"{list(e.path)}: {e.message}" for e in errors]


def unknown_keys(ours: dict, defaults: dict, prefix: str = "") -> list[str]:
    """Keys we set that the chart's values.yaml does not have (the chart has no schema to catch typos)."""
    unknown = []
    for key, value in ours.items():
        if key not in defaults:
            unknown.append(prefix + key)
        elif isinstance(value, dict) and isinstance(defaults[key], dict) and defaults[key]:
            unknown += unknown_keys(value, defaults[key], f"{prefix}{key}.")
    return unknown


def flatten(objects: Iterable[dict]) -> list[dict]:
    """Objects with each `kind: List` replaced by its items, as Helm and kubectl apply them."""
    flat = []
    for obj in objects:
        flat += flatten(obj.get("items") or []) if obj["kind"] == "List" else [obj]
    return flat


# ---- pods ----


@dataclass(frozen=True)
class PodTemplate:
    workload: str  # e.g. "Deployment kube-system/karpenter"
    namespace: str
    labels: dict
    spec: dict

    @property
    def service_account(self) -> str:
        return self.spec.get("serviceAccountName") or "default"


def pod_templates(objects: Iterable[dict], default_namespace: str) -> list[PodTemplate]:
    """The pod template of every workload (Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob, Pod)."""
    found = []
    for obj in objects:
        kind = obj["kind"]
        if kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"):
            template = obj["spec"]["template"]
        elif kind == "CronJob":
            template = obj["spec"]["jobTemplate"]["spec"]["template"]
        elif kind == "Pod":
            template = obj
        else:
            continue
        namespace = obj["metadata"].get("namespace") or default_namespace
        found.append(
            PodTemplate(
                workload=f"{kind} {namespace}/{obj['metadata']['name']}",
                namespace=namespace,
                labels=(template.get("metadata") or {}).get("labels") or {},
                spec=template["spec"],
            )
        )
    return found


# ---- placement ----


@dataclass(frozen=True)
class Domain:
    """The values a node label can take: one of `values` (None: any value) and never one of `excluded`."""

    values: frozenset[str] | None = None
    excluded: frozenset[str] = frozenset()


ANY = Domain()


@dataclass
class NodeShape:
    """What nodes from one source (a managed node group, a NodePool) look like to the scheduler.

    `labels` maps each label those nodes carry to the values it can take; a label not in it is absent. `taints` are
    Kubernetes-style taints ({key, value, effect}).
    """

    name: str
    labels: dict[str, Domain]
    taints: list[dict] = field(default_factory=list)


# Labels every node carries whatever its source; values known only at run time.
_RUNTIME_LABELS = ("kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region")
_TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def _one(value: str) -> Domain:
    return Domain(values=frozenset([value]))


def nodegroup_shape(logical_id: str, properties: dict) -> NodeShape:
    """An AWS::EKS::Nodegroup's nodes: its Labels and Taints plus the labels EKS and the kubelet add."""
    ami_type = properties.get("AmiType", "AL2023_x86_64_STANDARD")
    labels: dict[str, Domain] = {key: ANY for key in _RUNTIME_LABELS}
    if ami_type != "CUSTOM":
        labels["kubernetes.io/arch"] = _one("arm64" if "ARM_64" in ami_type else "amd64")
        labels["kubernetes.io/os"] = _one("windows" if ami_type.startswith("WINDOWS") else "linux")
    else:
        labels["kubernetes.io/arch"] = labels["kubernetes.io/os"] = ANY
    name = properties.get("NodegroupName")
    labels["eks.amazonaws.com/nodegroup"] = _one(name) if isinstance(name, str) else ANY
    labels["eks.amazonaws.com/capacityType"] = _one(properties.get("CapacityType", "ON_DEMAND"))
    instance_types = properties.get("InstanceTypes")
    labels["node.kubernetes.io/instance-type"] = Domain(frozenset(instance_types)) if instance_types else ANY
    labels.update({key: _one(str(value)) for key, value in (properties.get("Labels") or {}).items()})
    taints = [
        {"key": t["Key"], "value": t.get("Value", ""), "effect": _TAINT_EFFECTS[t["Effect"]]}
        for t in properties.get("Taints") or []
    ]
    return NodeShape(name=f"managed node group {logical_id}", labels=labels, taints=taints)


# What Karpenter labels a node with when a NodePool does not constrain the key (its documented defaults).
_KARPENTER_DEFAULTS = {
    "kubernetes.io/arch": _one("amd64"),
    "kubernetes.io/os": _one("linux"),
    "karpenter.sh/capacity-type": _one("on-demand"),
}
# Keys Karpenter labels every node with, from the instance type it picks.
_KARPENTER_INSTANCE_LABELS = (
    "node.kubernetes.io/instance-type",
    "karpenter.k8s.aws/instance-family",
    "karpenter.k8s.aws/instance-size",
    "karpenter.k8s.aws/instance-category",
    "karpenter.k8s.aws/instance-generation",
    "karpenter.k8s.aws/instance-cpu",
    "karpenter.k8s.aws/instance-memory",
)


def nodepool_shape(nodepool: dict) -> NodeShape:
    """A Karpenter NodePool's nodes: template labels, requirements as labels, taints, karpenter.sh/nodepool."""
    name = nodepool["metadata"]["name"]
    template = nodepool["spec"]["template"]
    labels: dict[str, Domain] = {key: ANY for key in (*_RUNTIME_LABELS, *_KARPENTER_INSTANCE_LABELS)}
    labels.update(_KARPENTER_DEFAULTS)
    labels["karpenter.sh/nodepool"] = _one(name)
    labels.update({k: _one(str(v)) for k, v in ((template.get("metadata") or {}).get("labels") or {}).items()})
    constrained: dict[str, Domain] = {}
    for requirement in template["spec"].get("requirements") or []:
        key, operator, values = requirement["key"], requirement["operator"], frozenset(requirement.get("values") or [])
        # A constrained well-known key loses Karpenter's default; any other key starts from what the labels say.
        current = constrained.get(key) or (ANY if key in _KARPENTER_DEFAULTS else labels.get(key, ANY))
        if operator == "In":
            allowed = values if current.values is None else current.values & values
            constrained[key] = Domain(allowed, current.excluded)
        elif operator == "NotIn":
            constrained[key] = Domain(current.values, current.excluded | values)
        elif operator in ("Exists", "Gt", "Lt"):
            # Numeric bounds on a node's own label only narrow what Karpenter may launch; treating them as "any
            # value" can only make a pod look placeable, never hide a placement the pool really offers.
            constrained[key] = current
        elif operator == "DoesNotExist":
            constrained[key] = Domain(frozenset(), frozenset())  # no value at all: the label is absent
        else:
            raise AssertionError(f"NodePool {name}: unknown requirement operator {operator}")
    for key, domain in constrained.items():
        if domain.values is not None and not domain.values:
            labels.pop(key, None)
        else:
            labels[key] = domain
    return NodeShape(name=f"NodePool {name}", labels=labels, taints=list(template["spec"].get("taints") or []))


def node_shapes(cluster_template: dict) -> list[NodeShape]:
    """Every kind of node the cluster stack can give a pod: each managed node group and each Karpenter NodePool."""
    shapes = [
        nodegroup_shape(lid, r["Properties"])
        for lid, r in resources_of_type(cluster_template, "AWS::EKS::Nodegroup").items()
    ]
    shapes += [nodepool_shape(m) for _, m in kubernetes_manifests(cluster_template) if m["kind"] == "NodePool"]
    return shapes


def _key_satisfiable(domain: Domain | None, constraints: list[tuple[str, list[str]]]) -> bool:
    """Is there a value of this label (or its absence, for domain None) meeting every (operator, values)?"""
    operators = {op for op, _ in constraints}
    if domain is None:
        return operators <= {"NotIn", "DoesNotExist"}
    if "DoesNotExist" in operators:
        return False
    candidates = None if domain.values is None else set(domain.values)
    excluded = set(domain.excluded)
    low, high = float("-inf"), float("inf")
    for operator, values in constraints:
        if operator == "In":
            candidates = set(values) if candidates is None else candidates & set(values)
        elif operator == "NotIn":
            excluded |= set(values)
        elif operator == "Gt":
            low = max(low, int(values[0]))
        elif operator == "Lt":
            high = min(high, int(values[0]))
        elif operator != "Exists":
            raise AssertionError(f"unknown node selector operator {operator}")

    def numeric_ok(value: str) -> bool:
        if low == float("-inf") and high == float("inf"):
            return True
        return value.lstrip("-").isdigit() and low < int(value) < high

    if candidates is None:  # the label takes any value: is there one not excluded, within the numeric bounds?
        if low == float("-inf") and high == float("inf"):
            return True
        first = int(low) + 1 if low != float("-inf") else int(high) - 1 - len(excluded)
        return any(str(v) not in excluded and numeric_ok(str(v)) for v in range(first, first + len(excluded) + 1))
    return any(value not in excluded and numeric_ok(value) for value in candidates)


def _term_satisfiable(shape: NodeShape, expressions: list[dict]) -> bool:
    by_key: dict[str, list[tuple[str, list[str]]]] = {}
    for expression in expressions:
        by_key.setdefault(expression["key"], []).append((expression["operator"], expression.get("values") or []))
    return all(_key_satisfiable(shape.labels.get(key), constraints) for key, constraints in by_key.items())


def tolerates(toleration: dict, taint: dict) -> bool:
    """Kubernetes' toleration matching: empty key + Exists tolerates everything, empty effect matches all effects."""
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    operator = toleration.get("operator") or "Equal"
    if not toleration.get("key"):
        return operator == "Exists"
    if toleration["key"] != taint["key"]:
        return False
    return operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or "")


def why_not(pod_spec: dict, shape: NodeShape) -> str | None:
    """Why a pod with this spec can never schedule onto `shape`'s nodes, or None if it can."""
    for taint in shape.taints:
        if taint["effect"] in ("NoSchedule", "NoExecute") and not any(
            tolerates(t, taint) for t in pod_spec.get("tolerations") or []
        ):
            return f"does not tolerate taint {taint['key']}={taint.get('value', '')}:{taint['effect']}"
    selector = [
        {"key": k, "operator": "In", "values": [str(v)]} for k, v in (pod_spec.get("nodeSelector") or {}).items()
    ]
    if not _term_satisfiable(shape, selector):
        return f"nodeSelector {pod_spec['nodeSelector']} does not match its labels"
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if required is not None:
        terms = required.get("nodeSelectorTerms") or []
        for term in terms:
            assert not term.get("matchFields"), f"matchFields (node names) cannot be checked: {term}"
        # Terms are ORed; a term's expressions are ANDed (with the nodeSelector); an empty term matches nothing.
        if not any(
            term.get("matchExpressions") and _term_satisfiable(shape, selector + term["matchExpressions"])
            for term in terms
        ):
            return f"required node affinity {terms} matches none of its labels"
    return None


def placement_problem(pod_spec: dict, shapes: Iterable[NodeShape]) -> str | None:
    """None if some node shape can take this pod, else why each one cannot."""
    reasons = []
    for shape in shapes:
        reason = why_not(pod_spec, shape)
        if reason is None:
            return None
        reasons.append(f"{shape.name}: {reason}")
    return "no node can take it: " + "; ".join(reasons) if reasons else "there are no nodes"


# ---- EKS Pod Identity ----


def pod_identity_problems(
    associations: dict[str, tuple[str, str]],
    service_accounts: Iterable[dict],
    aws_calling_pods: Iterable[PodTemplate],
) -> list[str]:
    """Mismatches between Pod Identity associations (logical id -> (namespace, service account)), the ServiceAccount
    objects that exist, and the pods that call AWS (each must run as an associated service account)."""
    existing = {(sa["metadata"]["namespace"], sa["metadata"]["name"]): sa for sa in service_accounts}
    problems = []
    for logical_id, (namespace, name) in sorted(associations.items()):
        if (namespace, name) not in existing:
            problems.append(f"{logical_id} associates {namespace}/{name}, a service account no chart creates")
    for key, sa in sorted(existing.items()):
        if "eks.amazonaws.com/role-arn" in ((sa["metadata"].get("annotations")) or {}):
            problems.append(
                f"ServiceAccount {key[0]}/{key[1]} has an IRSA role-arn annotation, which wins over Pod Identity"
            )
    associated = set(associations.values())
    for pod in aws_calling_pods:
        if (pod.namespace, pod.service_account) not in associated:
            problems.append(
                f"{pod.workload} calls AWS as {pod.namespace}/{pod.service_account}, which has no association"
            )
        elif (pod.namespace, pod.service_account) not in existing:
            problems.append(f"{pod.workload} runs as {pod.namespace}/{pod.service_account}, which no chart creates")
    return problems


# ---- ordering ----


def direct_dependencies(template: dict, logical_id: str) -> set[str]:
    """What CloudFormation creates before `logical_id` (and deletes after it): DependsOn plus Ref/Fn::GetAtt targets."""
    resource = template["Resources"][logical_id]
    depends = resource.get("DependsOn", [])
    found = set([depends] if isinstance(depends, str) else depends)
    return (found | refs_in(resource.get("Properties", {}))) & set(template["Resources"])


def transitive_dependencies(template: dict, logical_id: str) -> set[str]:
    seen: set[str] = set()
    pending = [logical_id]
    while pending:
        for dependency in direct_dependencies(template, pending.pop()):
            if dependency not in seen:
                seen.add(dependency)
                pending.append(dependency)
    return seen


def webhook_configurations(objects: Iterable[dict]) -> list[dict]:
    return [o for o in objects if o["kind"] in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")]


def webhook_problems(release_objects: dict[str, list[dict]]) -> list[str]:
    """Each admission or CRD-conversion webhook must be served by a Service its own release renders, so the two are
    installed and removed together (a webhook left without its Service blocks every request it matches)."""
    problems = []
    for release, objects in sorted(release_objects.items()):
        services = {(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects if o["kind"] == "Service"}
        backends = []
        for config in webhook_configurations(objects):
            for webhook in config.get("webhooks") or []:
                backends.append(
                    (f"{config['kind']} {config['metadata']['name']} {webhook['name']}", webhook["clientConfig"])
                )
        for crd in (o for o in objects if o["kind"] == "CustomResourceDefinition"):
            conversion = crd["spec"].get("conversion") or {}
            if conversion.get("strategy") == "Webhook":
                backends.append((f"CRD {crd['metadata']['name']} conversion", conversion["webhook"]["clientConfig"]))
        for what, client_config in backends:
            service = client_config.get("service")
            if service is None:
                continue  # served from a URL outside the cluster
            if (service["namespace"], service["name"]) not in services:
                backend = f"{service['namespace']}/{service['name']}"
                problems.append(f"{release}: {what} is served by Service {backend}, which the release does not render")
    return problems


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """metav1.LabelSelector matching; an empty or missing selector matches everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("ss"):
        return lower + "es"
    if lower.endswith("s"):
        return lower
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + "s"


def intercepts_create(webhook: dict, obj: dict, namespace_labels: Callable[[str], dict]) -> bool:
    """Does this admission webhook see the CREATE of `obj` (rules, namespaceSelector, objectSelector)?"""
    group, _, version = obj["apiVersion"].rpartition("/")
    resource = plural(obj["kind"])
    matched = any(
        ({"CREATE", "*"} & set(rule.get("operations") or []))
        and ({group, "*"} & set(rule.get("apiGroups") or []))
        and ({version, "*"} & set(rule.get("apiVersions") or []))
        and ({resource, "*"} & set(rule.get("resources") or []))
        for rule in webhook.get("rules") or []
    )
    if not matched:
        return False
    namespace = obj["metadata"].get("namespace")
    if obj["kind"] == "Namespace":
        if not selector_matches(webhook.get("namespaceSelector"), obj["metadata"].get("labels") or {}):
            return False
    elif namespace is not None and not selector_matches(webhook.get("namespaceSelector"), namespace_labels(namespace)):
        return False
    return selector_matches(webhook.get("objectSelector"), obj["metadata"].get("labels") or {})


def webhook_races(
    template: dict,
    created_by: dict[str, list[dict]],
    waits: Callable[[str], bool],
    namespace_labels: Callable[[str], dict] | None = None,
) -> list[str]:
    """Objects whose CREATE a fail-closed webhook rejects while that webhook's release is not ready yet.

    `created_by` maps each creating resource (a Helm release's or a manifest's logical id) to the objects it creates.
    Pods are left out on purpose: their controllers retry a rejected CREATE, where Helm and kubectl fail. A webhook
    (failurePolicy Fail) from resource W intercepting an object from C is safe only if C is created before W exists
    (W depends on C) or after W is ready (C depends on W and W waits for its pods); otherwise CloudFormation may run
    the two concurrently and the object's CREATE fails.
    """
    namespace_labels = namespace_labels or (lambda name: {"kubernetes.io/metadata.name": name})
    problems = []
    for webhook_owner, objects in sorted(created_by.items()):
        for config in webhook_configurations(objects):
            for webhook in config.get("webhooks") or []:
                if webhook.get("failurePolicy", "Fail") != "Fail":
                    continue
                for creator, created in sorted(created_by.items()):
                    if creator == webhook_owner:
                        continue
                    after = webhook_owner in transitive_dependencies(template, creator) and waits(webhook_owner)
                    before = creator in transitive_dependencies(template, webhook_owner)
                    if after or before:
                        continue
                    for obj in created:
                        if intercepts_create(webhook, obj, namespace_labels):
                            where = obj["metadata"].get("namespace")
                            name = f"{where}/{obj['metadata']['name']}" if where else obj["metadata"]["name"]
                            problems.append(
                                f"{creator} creates {obj['kind']} {name}, which fail-closed webhook {webhook['name']} "
                                f"(from {webhook_owner}) intercepts, with no DependsOn between the two"
                            )
    return problems


# Built-in kinds that are not namespaced (custom kinds: their CRD's spec.scope says).
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CSIDriver",
        "CSINode",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)


def with_namespace(objects: Iterable[dict], namespace: str, crds: Iterable[dict] = ()) -> list[dict]:
    """Copies of `objects`, each namespaced one given `namespace` when it has none, as Helm installs them."""
    cluster_scoped = set(CLUSTER_SCOPED_KINDS)
    cluster_scoped |= {c["spec"]["names"]["kind"] for c in crds if c["spec"].get("scope") == "Cluster"}
    result = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        if obj["kind"] not in cluster_scoped:
            obj["metadata"].setdefault("namespace", namespace)
        result.append(obj)
    return result


# ---- IAM policy statements ----


def as_list(value: Any) -> list:
    """An IAM policy field (Action, Resource, ...) as a list, whether it was written as one value or many."""
    return value if isinstance(value, list) else [value]


def statement_signature(statement: dict) -> tuple:
    """What a statement grants, with CloudFormation references rendered as markers and ordering removed."""
    return (
        statement.get("Sid"),
        statement["Effect"],
        tuple(sorted(as_list(statement["Action"]))),
        tuple(sorted(render(resource) for resource in as_list(statement["Resource"]))),
        json.dumps(_intrinsics_rendered(statement.get("Condition", {})), sort_keys=True),
    )


def _intrinsics_rendered(value):
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in {"Ref", "Fn::GetAtt", "Fn::Join"}:
        return render(value)
    if isinstance(value, dict):
        return {key: _intrinsics_rendered(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_intrinsics_rendered(item) for item in value]
    return value
