#!/usr/bin/env bash
# The DAG author's loop, with no cluster and no Docker: the Airflow and providers the cluster runs (the DAG tests'
# pins, .venv-airflow) over dags/, with a SQLite metadata database in .airflow-local/ (git-ignored).
#
#   ./scripts/dags.sh list                          the DAGs, schedules and tasks; exit 1 on an import error
#   ./scripts/dags.sh test <dag_id> [logical date]  run the DAG end to end here, every task once; exit 1 if one fails
#   ./scripts/dags.sh lint                          ruff check and format (ruff.toml, with Airflow's AIR rules),
#                                                   then import errors, warnings and dags/README.md's rules in
#                                                   the real Airflow; exit 1 on any
#   ./scripts/dags.sh <command> --help              the command's options
#
# The first run makes .venv-airflow (scripts/airflow_venv.sh: a few minutes), the first `test` the database; later
# runs reuse both. Each run ends with the time to its first result. AIRFLOW_VAR_*, AIRFLOW_CONN_* and AWS_* set in
# your shell win over the local stand-ins (README "Writing and testing DAGs locally"); AIRFLOW_HOME, AIRFLOW_CONFIG
# and AIRFLOW__* are ignored. AIRFLOW_EKS_DAGS_FOLDER and AIRFLOW_EKS_LOCAL_HOME point it at another DAG folder and home.
set -euo pipefail

started_ns="$(date +%s%N)"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The command is checked before anything is installed, so a typo on a fresh clone costs no Airflow install.
case "${1:-}" in
  test)
    dag_id="${2:-}"
    if [ -z "$dag_id" ] || { [ "${dag_id#-}" != "$dag_id" ] && [ "$dag_id" != -h ] && [ "$dag_id" != --help ]; }; then
      echo "error: test needs a DAG id: test <dag_id> [logical date] (list shows the DAG ids)" >&2
      exit 2
    fi
    ;;
  list | lint) ;;
  -h | --help | help)
    sed -n '2,/^set -euo pipefail$/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  "")
    echo "error: a command is needed: list, test or lint (see $0 --help)" >&2
    exit 2
    ;;
  *)
    echo "error: unknown command '$1': use list, test or lint (see $0 --help)" >&2
    exit 2
    ;;
esac

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11+)" >&2
  exit 2
fi
bash "$root/scripts/airflow_venv.sh"
export DAGS_SH_STARTED_NS="$started_ns" DAGS_SH_VENV_READY_NS="$(date +%s%N)"
exec "$root/.venv-airflow/bin/python" "$root/scripts/dag_loop/cli.py" "$@"
