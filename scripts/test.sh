#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this). Extra arguments go to pytest.
source "$(dirname "$0")/bootstrap.sh"
bash "$repo_root/scripts/airflow_venv.sh"  # .venv-airflow for tests/test_dags.py
exec python -m pytest "$@"
