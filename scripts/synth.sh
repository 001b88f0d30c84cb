#!/usr/bin/env bash
# The main job: synthesize every stack of every env (or of the envs named) offline, then summarize.
#   scripts/synth.sh            # every env in config/
#   scripts/synth.sh prod       # just prod
source "$(dirname "$0")/bootstrap.sh"

if [ "$#" -gt 0 ]; then envs=("$@"); else envs=($(cd config && ls *.yaml | sed 's/\.yaml$//')); fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for env in "${envs[@]}"; do
  echo "==> cdk synth -c env=$env (offline)"
  started="$(date +%s.%N)"
  if ! cdk synth -c "env=$env" --output "cdk.out/$env" --quiet --no-notices >"$log" 2>&1; then
    # A config error is one line of ours; anything else (e.g. a compliance finding) is shown whole.
    grep '^error: ' "$log" >&2 || cat "$log" >&2
    exit 1
  fi
  python scripts/summary.py --env "$env" --outdir "cdk.out/$env" --started "$started"
done
