"""Prints what a synth produced: stacks, resource counts, template paths, what `cdk deploy` would need, and the
deploy plan (estimated duration and critical chain) and idle cost estimated from the templates."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from deploy_plan import DeployPlan, load_assembly, plan_deploy
from idle_cost import UnpricedResource, estimate, totals

# `cdk deploy --all --concurrency 4`, as the README says to run it.
DEPLOY_CONCURRENCY = 4
# Chain steps shorter than this are left out of the printed chain (they still count in its total).
SHOWN_STEP_MINUTES = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", required=True)
    parser.add_argument("--outdir", required=True, type=Path)
    parser.add_argument("--milliseconds", required=True, type=int, help="how long the env's `cdk synth` took")
    args = parser.parse_args()

    manifest = json.loads((args.outdir / "manifest.json").read_text())
    stacks = {name: art for name, art in manifest["artifacts"].items() if art["type"] == "aws:cloudformation:stack"}
    # Read once: the counts below, the deploy plan and the idle cost all look at the same templates.
    templates, dependencies = load_assembly(args.outdir)
    report = json.loads((args.outdir / "validation-report.json").read_text())
    plugins = ", ".join(f"{p['pluginName']} {p['conclusion']}" for p in report["pluginReports"])
    acknowledged = 0

    print(f"env {args.env}: synthesized in {args.milliseconds / 1000:.1f}s, templates in {args.outdir}/")
    total = 0
    environments = set()
    file_assets = 0
    for name, artifact in stacks.items():
        template_file = args.outdir / artifact["properties"]["templateFile"]
        resources = templates[name]["Resources"]
        total += len(resources)
        environments.add(artifact["environment"])
        kinds = Counter(r["Type"].split("::")[1] for r in resources.values())
        top = ", ".join(f"{kind} {count}" for kind, count in kinds.most_common(4))
        print(f"  {name:<28} {len(resources):>4} resources  ({top})  {template_file}")
        metadata = json.loads((args.outdir / f"{name}.metadata.json").read_text())
        acknowledged += sum(
            len(entry["data"])
            for entries in metadata.values()
            for entry in entries
            if entry["type"] == "aws:cdk:acknowledged-rules"
        )
        assets_file = args.outdir / f"{name}.assets.json"
        if assets_file.exists():
            file_assets += len(json.loads(assets_file.read_text()).get("files", {})) - 1  # minus the template
    print(f"  {'total':<28} {total:>4} resources")
    # cdk-nag reports through annotations, not the plugin report; a synth that got here had no unacknowledged one.
    print(
        f"  compliance: AwsSolutions (cdk-nag) success, {plugins}; {acknowledged} acknowledgments, each on its resource"
    )
    targets = ", ".join(sorted(environments))
    print(
        f"  cdk deploy would need: credentials for {targets} (unknown-account = the credentials' account), "
        f"that environment bootstrapped (`npx cdk bootstrap`), and {file_assets} file assets uploaded; no Docker."
    )
    print_deploy_plan(plan_deploy(templates, dependencies, concurrency=DEPLOY_CONCURRENCY))
    print_idle_cost(templates)


def print_deploy_plan(plan: DeployPlan) -> None:
    airflow = next((name for name in plan.stacks if name.endswith("-airflow")), None)
    healthy = f"Airflow healthy after ~{plan.stacks[airflow].finish:.1f} min, " if airflow else ""
    print(
        f"  deploy plan (estimate, `cdk deploy --all --concurrency {DEPLOY_CONCURRENCY}`): {healthy}"
        f"every stack after ~{plan.total:.1f} min"
    )
    order = sorted(plan.stacks.values(), key=lambda s: (s.start, s.finish, s.name))
    print("    stacks (minutes): " + ", ".join(f"{s.name} {s.start:.1f}-{s.finish:.1f}" for s in order))
    chain = plan.chain(airflow)
    parts: list[str] = []
    for stack in dict.fromkeys(step.stack for step in chain):
        steps = [s for s in chain if s.stack == stack and s.minutes >= SHOWN_STEP_MINUTES]
        shown = ", ".join(f"{s.label} {s.minutes:g}" for s in steps) or f"steps under {SHOWN_STEP_MINUTES:g} min each"
        parts.append(f"{stack} [{shown}]")
    print(f"    critical chain{' to Airflow' if airflow else ''}: " + " -> ".join(parts))


def print_idle_cost(templates: dict) -> None:
    try:
        by_category = totals(estimate(templates))
    except UnpricedResource as err:
        print(f"  idle cost: not estimated: {err}")
        return
    total = sum(by_category.values())
    listed = ", ".join(f"{category} ${usd:.2f}" for category, usd in by_category.items())
    print(f"  idle cost (estimate, estimates/prices.yaml): ~${total:.0f}/month: {listed}")


if __name__ == "__main__":
    main()
