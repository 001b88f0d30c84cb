"""Prints what a synth produced: stacks, resource counts, template paths, and what `cdk deploy` would need."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", required=True)
    parser.add_argument("--outdir", required=True, type=Path)
    parser.add_argument("--milliseconds", required=True, type=int, help="how long the env's `cdk synth` took")
    args = parser.parse_args()

    manifest = json.loads((args.outdir / "manifest.json").read_text())
    stacks = {name: art for name, art in manifest["artifacts"].items() if art["type"] == "aws:cloudformation:stack"}
    report = json.loads((args.outdir / "validation-report.json").read_text())
    plugins = ", ".join(f"{p['pluginName']} {p['conclusion']}" for p in report["pluginReports"])
    acknowledged = 0

    print(f"env {args.env}: synthesized in {args.milliseconds / 1000:.1f}s, templates in {args.outdir}/")
    total = 0
    environments = set()
    file_assets = 0
    for name, artifact in stacks.items():
        template_file = args.outdir / artifact["properties"]["templateFile"]
        template = json.loads(template_file.read_text())
        resources = template["Resources"]
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


if __name__ == "__main__":
    main()
