#!/usr/bin/env bash
# Lists what env <env> left in its AWS account after `cdk destroy` (scripts/leftovers.py): one line per resource,
# exit 0 when nothing is left, 1 when something is, 2 on bad input or missing credentials.
#   ./scripts/leftovers.sh dev
set -euo pipefail
if [ "$#" -ne 1 ]; then
  echo "usage: $0 <env>   (an env of config/, e.g. dev)" >&2
  exit 2
fi
source "$(dirname "$0")/bootstrap.sh"
# bootstrap.sh keeps synth offline; this script needs the credential chain, instance metadata included.
unset AWS_EC2_METADATA_DISABLED
exec .venv/bin/python scripts/leftovers.py "$1"
