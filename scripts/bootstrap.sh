# Sourced by scripts/synth.sh and scripts/test.sh: makes .venv and node_modules match the pinned files, then puts
# them first on PATH. Re-installs only when requirements*.txt or package-lock.json changed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11+)" >&2
  exit 2
fi
command -v npm >/dev/null || { echo "error: npm is required (it installs the pinned CDK CLI and Node.js 22)" >&2; exit 2; }

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

python_stamp="$(stamp_of requirements.txt requirements-dev.txt)"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.installed 2>/dev/null)" != "$python_stamp" ]; then
  echo "==> installing Python dependencies into .venv"
  "$python_bin" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$python_stamp" > .venv/.installed
fi

node_stamp="$(stamp_of package.json package-lock.json)"
if [ ! -x node_modules/.bin/cdk ] || [ ! -x node_modules/.bin/node ] || [ "$(cat node_modules/.installed 2>/dev/null)" != "$node_stamp" ]; then
  echo "==> installing the CDK CLI and Node.js 22 into node_modules"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$node_stamp" > node_modules/.installed
fi

# Node 22 from node_modules runs both the CDK CLI and jsii (the system Node may be end-of-life).
export PATH="$repo_root/.venv/bin:$repo_root/node_modules/.bin:$PATH"
# Offline by construction: no instance-metadata credential probing, no telemetry, no notices, no update check.
export AWS_EC2_METADATA_DISABLED=true
export CDK_DISABLE_CLI_TELEMETRY=true
export CDK_DISABLE_VERSION_CHECK=true
