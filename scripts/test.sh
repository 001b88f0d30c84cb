#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this). Extra arguments go to pytest.
source "$(dirname "$0")/bootstrap.sh"
exec python -m pytest "$@"
