#!/usr/bin/env bash
# The main job: synthesize every stack of every env (or of the envs named) offline, then summarize.
#   scripts/synth.sh            # every env in config/
#   scripts/synth.sh prod       # just prod
# Envs synthesize in parallel (each is one app process and its jsii Node process, and most of its time is the
# compliance checks), then each env's summary prints in order with its own synth time.
# With no env named, it then checks README.md's diagram against cdk.out/ (scripts/diagram.py) and says if it is stale.
source "$(dirname "$0")/bootstrap.sh"

if [ "$#" -gt 0 ]; then envs=("$@"); else envs=($(cd config && ls *.yaml | sed 's/\.yaml$//')); fi

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
all_started="$(date +%s%N)"
for env in "${envs[@]}"; do
  (
    started="$(date +%s%N)"
    status=0
    cdk synth -c "env=$env" --output "cdk.out/$env" --quiet --no-notices >"$logs/$env.log" 2>&1 || status=$?
    echo "$status $(( ($(date +%s%N) - started) / 1000000 ))" >"$logs/$env.result"
  ) &
done
wait

failed=0
for env in "${envs[@]}"; do
  echo "==> cdk synth -c env=$env (offline)"
  read -r status milliseconds <"$logs/$env.result"
  if [ "$status" -ne 0 ]; then
    # A config error is one line of ours; anything else (e.g. a compliance finding) is shown whole.
    grep '^error: ' "$logs/$env.log" >&2 || cat "$logs/$env.log" >&2
    failed=1
    continue
  fi
  python scripts/summary.py --env "$env" --outdir "cdk.out/$env" --milliseconds "$milliseconds"
done
[ "$failed" -eq 0 ] || exit 1
seconds="$(awk -v ms="$(( ($(date +%s%N) - all_started) / 1000000 ))" 'BEGIN { printf "%.1f", ms / 1000 }')"
echo "==> ${#envs[@]} env(s) synthesized in parallel: ${seconds}s wall"
if [ "$#" -eq 0 ]; then
  # README.md's diagram is rendered from dev's and prod's templates. Say whether this synth left it stale, but do not
  # rewrite a tracked file behind the user's back: the line names the command, and the test suite fails until it is run.
  status=0
  python scripts/diagram.py --check || status=$?
  if [ "$status" -eq 0 ]; then echo "==> README.md's diagram matches cdk.out/"; fi
fi
