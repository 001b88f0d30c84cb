"""The body of ./scripts/dags.sh, run by .venv-airflow's Python: list, test and lint the DAGs against a local Airflow
(AIRFLOW_HOME .airflow-local/, SQLite), with no cluster and no Docker.

Arguments, the logical date and the environment are settled before Airflow is imported (it reads its configuration
on import), so bad input is answered at once, and this module imports without Airflow: the tests read
`local_environment` from the CDK app's .venv.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

REPO_ROOT = Path(__file__).resolve().parents[2]
PROG = "./scripts/dags.sh"
# The env whose config names the Variables to stand in for (config/<env>.yaml); dev is what a DAG author deploys to.
LOCAL_ENV = "dev"

# The deployment's connection (constructs/airflow/release.py's AWS_DEFAULT_CONNECTION; tests/test_dags_script.py
# holds the two equal): no keys, so boto3's default chain, which here is your own AWS profile or nothing.
AWS_DEFAULT_CONNECTION = "aws://"
# Options the deployment sets (helm_values/airflow.yaml `config`) that cannot hold off the cluster, and why.
OFF_CLUSTER_OPTIONS = {
    # Task logs stay in <home>/logs: the S3 log bucket and the pod's credentials for it are the cluster's.
    ("logging", "remote_logging"): "False",
}
# Airflow's own log level per command: `test` keeps warnings and errors (a task's traceback is one) but not the
# INFO chatter of every task; `list` and `lint` print every import error and warning themselves, so Airflow's log
# lines of the same would only repeat them.
LOGGING_LEVELS = {"test": "WARNING", "list": "CRITICAL", "lint": "CRITICAL"}


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments get one line naming the problem and exit 2, not argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = OneLineParser(prog=PROG, description="The DAG author's loop: a local Airflow, no cluster, no Docker.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    commands.add_parser("list", help="the DAGs, their schedule and tasks; exit 1 on an import error")
    test = commands.add_parser(
        "test",
        help="run one DAG end to end here (dag.test(), every task once); exit 1 when a task fails",
        description="Run one DAG end to end on the local SQLite database, every task once (no retries); exit 1 "
        "when a task fails. A DAG with a task that needs the cluster's Kubernetes API is refused (exit 2).",
    )
    test.add_argument("dag_id")
    test.add_argument(
        "logical_date",
        nargs="?",
        help="YYYY-MM-DD or an ISO 8601 date and time, UTC unless it says otherwise (default: now)",
    )
    commands.add_parser(
        "lint",
        help="import errors, deprecation warnings and dags/README's rules in the real Airflow, and ruff (ruff.toml, "
        "Airflow's AIR rules included); exit 1 on any",
        description="ruff with the project's ruff.toml, whose AIR rules also see what only runs inside a task "
        "(e.g. context['execution_date']); then every file of the DAG folder imported as the dag-processor does "
        "(an import error or any warning, e.g. an Airflow 2 import, is a problem) and each DAG held to "
        "dags/README.md's rules (start_date, catchup off, retries, no per-task executor). Exit 1 on any problem.",
    )
    arguments = parser.parse_args(argv)
    if getattr(arguments, "logical_date", None) is not None:
        arguments.logical_date = parse_logical_date(arguments.logical_date, parser)
    return arguments


def parse_logical_date(text: str, parser: argparse.ArgumentParser) -> datetime:
    import pendulum

    try:
        parsed = pendulum.parse(text, tz="UTC")
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        parsed = None
    if not isinstance(parsed, datetime):  # pendulum also parses durations ("P1D") and bare times
        parser.error(f"logical date {text!r} is not a date (YYYY-MM-DD or ISO 8601, e.g. 2026-03-01T01:00:00Z)")
    return parsed


def local_environment(
    caller: Mapping[str, str], *, home: Path, dag_folder: Path, logging_level: str, repo_root: Path = REPO_ROOT
) -> dict[str, str]:
    """The environment Airflow starts in: the caller's minus its AIRFLOW_HOME and AIRFLOW__* options (another
    project's must not leak in), the deployment's options, local stand-ins for what the cluster provides, and
    the caller's own AIRFLOW_CONN_* / AIRFLOW_VAR_* / AWS_* over those stand-ins."""
    import yaml

    values = yaml.safe_load((repo_root / "helm_values" / "airflow.yaml").read_text())
    config = yaml.safe_load((repo_root / "config" / f"{LOCAL_ENV}.yaml").read_text())
    options: dict[tuple[str, str], str] = {("core", "executor"): values["executor"]}
    for section, section_options in values["config"].items():
        for option, value in section_options.items():
            options[(section, option)] = str(value)
    options |= OFF_CLUSTER_OPTIONS
    options |= {
        ("core", "dags_folder"): str(dag_folder),
        ("database", "sql_alchemy_conn"): f"sqlite:///{home / 'airflow.db'}",
        ("logging", "logging_level"): logging_level,
    }
    stand_ins = {
        "AIRFLOW_CONN_AWS_DEFAULT": AWS_DEFAULT_CONNECTION,
        # The release sets the deployed region on every pod; DAGs may read it at parse time.
        "AWS_DEFAULT_REGION": config["region"],
        # No instance-metadata probing for credentials that a laptop does not have (each probe waits for a timeout).
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for namespace in config["spark"]["job_namespaces"]:
        # The team bucket's name, as the release sets it (team_bucket_variable); a name no deploy creates, so a
        # template renders and anything that calls S3 with it fails loudly.
        variable = f"{namespace.replace('-', '_')}_bucket"
        stand_ins[f"AIRFLOW_VAR_{variable.upper()}"] = f"local-stand-in-for-{namespace}-bucket"
    environment = {
        name: value
        for name, value in caller.items()
        if not name.startswith("AIRFLOW__") and name not in ("AIRFLOW_HOME", "AIRFLOW_CONFIG")
    }
    environment = stand_ins | environment
    environment["AIRFLOW_HOME"] = str(home)
    for (section, option), value in options.items():
        environment[f"AIRFLOW__{section.upper()}__{option.upper()}"] = value
    return environment


class Clock:
    """Seconds since ./scripts/dags.sh started (so a first run's venv install counts), to the first result."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        now = time.time_ns()
        self.started_ns = int(environment.get("DAGS_SH_STARTED_NS") or now)
        self.venv_ready_ns = int(environment.get("DAGS_SH_VENV_READY_NS") or now)
        self.first_result_ns: int | None = None

    def result(self) -> None:
        if self.first_result_ns is None:
            self.first_result_ns = time.time_ns()

    def report(self) -> str:
        def seconds(ns: int) -> str:
            return f"{(ns - self.started_ns) / 1e9:.1f} s"

        first = seconds(self.first_result_ns or time.time_ns())
        return f"==> first result after {first} (.venv-airflow ready after {seconds(self.venv_ready_ns)})"


def cluster_task_refusal(dag: Any) -> str | None:
    from dag_checks import needs_cluster

    tasks = [f"{task.task_id} ({type(task).__name__})" for task in dag.tasks if needs_cluster(task)]
    if not tasks:
        return None
    return (
        f"error: {dag.dag_id} needs the cluster: {', '.join(tasks)} talks to its Kubernetes API, which nothing "
        "local stands in for; run it there (README: Running the Spark example); tests/test_spark.py checks what "
        "it would submit"
    )


def command_list(dag_folder: Path, clock: Clock) -> int:
    from dag_checks import describe_folder

    folder = describe_folder(dag_folder)
    rows = [("dag_id", "schedule", "file", "tasks")]
    for dag_id, dag in folder["dags"].items():
        tasks = [task_id + (" [cluster]" if task["needs_cluster"] else "") for task_id, task in dag["tasks"].items()]
        rows.append((dag_id, str(dag["schedule"]), dag["file"], ", ".join(tasks)))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        print("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]]))
    if any(task["needs_cluster"] for dag in folder["dags"].values() for task in dag["tasks"].values()):
        print("[cluster]: talks to the cluster's Kubernetes API, so `test` refuses its DAG")
    for path, error in folder["import_errors"].items():
        print(f"import error in {path}: {error.strip().splitlines()[-1]} (./scripts/dags.sh lint shows it whole)")
    if warnings_found := distinct_warnings(folder):
        print(f"{len(warnings_found)} warning(s): ./scripts/dags.sh lint shows them")
    clock.result()
    return 1 if folder["import_errors"] else 0


def command_test(dag_folder: Path, home: Path, dag_id: str, logical_date: datetime | None, clock: Clock) -> int:
    from dag_checks import installed_airflow_versions, load_dag_bag, run_once

    dag_bag = load_dag_bag(dag_folder)
    if dag_id not in dag_bag.dags:
        close = difflib.get_close_matches(dag_id, list(dag_bag.dags), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (the DAGs: {', '.join(sorted(dag_bag.dags))})"
        broken = f"; {len(dag_bag.import_errors)} file(s) failed to import, see lint" if dag_bag.import_errors else ""
        print(f"error: no DAG {dag_id!r} in {dag_folder}{hint}{broken}", file=sys.stderr)
        return 2
    dag = dag_bag.dags[dag_id]
    refusal = cluster_task_refusal(dag)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2
    # The database and dag.test() reach Airflow's API through Starlette's test client, whose import warns about
    # its own httpx use: Airflow's machinery, not the DAG's, and absent from a task pod. Imported once, quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import starlette.testclient  # noqa: F401
    migrate_once(home, installed_airflow_versions()["apache-airflow-core"])
    run = run_once(dag, logical_date=logical_date)
    print(f"==> {run['dag_id']} {run['run_id']} (logical date {run['logical_date']}): {run['state']}")
    width = max(map(len, run["task_states"]))
    for task_id, state in run["task_states"].items():
        print(f"    {task_id.ljust(width)}  {state}")
    clock.result()
    return 0 if run["state"] == "success" else 1


def migrate_once(home: Path, airflow_version: str) -> None:
    """Creates the SQLite database on first use and migrates it when the installed Airflow is another version."""
    stamp = home / "airflow.db.version"
    if (home / "airflow.db").is_file() and stamp.is_file() and stamp.read_text().strip() == airflow_version:
        return
    print(f"==> migrating {home / 'airflow.db'} to Airflow {airflow_version}", flush=True)
    from airflow.utils.db import initdb

    initdb()  # `airflow db migrate`: tables from the ORM on an empty database, the migrations on an older one
    stamp.write_text(f"{airflow_version}\n")


def command_lint(dag_folder: Path, home: Path, clock: Clock) -> int:
    # ruff first: it answers in well under a second, before Airflow has even imported.
    ruff_findings = ruff_check(dag_folder, home)
    for finding in ruff_findings:
        print(finding)
    clock.result()
    from dag_checks import describe_folder, installed_airflow_versions

    folder = describe_folder(dag_folder)
    for path, error in folder["import_errors"].items():
        print(f"{path}: import error\n" + "\n".join(f"    {line}" for line in error.strip().splitlines()))
    warnings_found = distinct_warnings(folder)
    for line in warnings_found + folder["rule_problems"]:
        print(line)
    print(
        f"==> {len(folder['files'])} file(s): {len(folder['import_errors'])} import error(s), "
        f"{len(warnings_found)} warning(s) in Airflow {installed_airflow_versions()['apache-airflow-core']}, "
        f"{len(folder['rule_problems'])} dags/README rule problem(s), {len(ruff_findings)} ruff finding(s)"
    )
    return 1 if folder["import_errors"] or warnings_found or folder["rule_problems"] or ruff_findings else 0


def distinct_warnings(folder: Mapping[str, Any]) -> list[str]:
    """One line per warning a DAG file raised; the same warning from the same line twice is one problem."""
    return list(dict.fromkeys(f"{path}: {found}" for path, lines in folder["warnings"].items() for found in lines))


def ruff_check(dag_folder: Path, home: Path) -> list[str]:
    """`ruff check` and `ruff format --check` of the folder with the project's ruff.toml (both of which
    tests/test_lint.py runs), one line per finding."""
    import json

    ruff = ruff_executable(home)
    formatted = subprocess.run(
        [ruff, "format", "--check", "--config", str(REPO_ROOT / "ruff.toml"), "--no-cache", str(dag_folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if formatted.returncode not in (0, 1):
        raise SystemExit(f"error: ruff format exited {formatted.returncode}: {formatted.stderr.strip()}")
    unformatted = [
        f"{Path(line.removeprefix('Would reformat: ')).relative_to(dag_folder)}: not formatted as ruff format would "
        "(run `ruff format` on it)"
        for line in formatted.stdout.splitlines()
        if line.startswith("Would reformat: ")
    ]
    completed = subprocess.run(
        [ruff, "check", "--config", str(REPO_ROOT / "ruff.toml"), "--output-format", "json"]
        + ["--no-cache", str(dag_folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode not in (0, 1):  # 1 is "found something"; anything else is ruff failing
        raise SystemExit(f"error: ruff check exited {completed.returncode}: {completed.stderr.strip()}")
    return unformatted + [
        f"{Path(found['filename']).relative_to(dag_folder)}:{found['location']['row']}:"
        f"{found['location']['column']}: {found['code']} {found['message']}"
        for found in json.loads(completed.stdout)
    ]


def ruff_executable(home: Path) -> str:
    """The ruff requirements-dev.txt pins: bootstrap's .venv has it; without that venv (a fresh clone that only
    runs this script), it is installed once into <home>/ruff, beside the local database."""
    pin = next(
        line.split("==", 1)[1].strip()
        for line in (REPO_ROOT / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("ruff==")
    )
    for candidate in (REPO_ROOT / ".venv" / "bin" / "ruff", home / "ruff" / "bin" / "ruff"):
        if candidate.is_file():
            version = subprocess.run([candidate, "--version"], capture_output=True, text=True, check=False).stdout
            if version.split() == ["ruff", pin]:
                return str(candidate)
    print(f"==> installing ruff {pin} (requirements-dev.txt) into {home / 'ruff'}", flush=True)
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade"]
        + ["--target", str(home / "ruff"), f"ruff=={pin}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.returncode != 0:
        raise SystemExit(f"error: pip could not install ruff=={pin}:\n{installed.stderr.strip()}")
    return str(home / "ruff" / "bin" / "ruff")


def main(argv: Sequence[str]) -> int:
    arguments = parse_arguments(argv)
    home = Path(os.environ.get("AIRFLOW_EKS_LOCAL_HOME") or REPO_ROOT / ".airflow-local").resolve()
    dag_folder = Path(os.environ.get("AIRFLOW_EKS_DAGS_FOLDER") or REPO_ROOT / "dags").resolve()
    clock = Clock(os.environ)
    if not dag_folder.is_dir():
        print(f"error: AIRFLOW_EKS_DAGS_FOLDER: {dag_folder} is not a folder", file=sys.stderr)
        return 2
    home.mkdir(parents=True, exist_ok=True)
    environment = local_environment(
        os.environ, home=home, dag_folder=dag_folder, logging_level=LOGGING_LEVELS[arguments.command]
    )
    os.environ.clear()
    os.environ.update(environment)
    # From here on Airflow may be imported (dag_checks, beside this file, imports it on first use).
    if arguments.command == "list":
        status = command_list(dag_folder, clock)
    elif arguments.command == "test":
        status = command_test(dag_folder, home, arguments.dag_id, arguments.logical_date, clock)
    else:
        status = command_lint(dag_folder, home, clock)
    if status != 2:
        print(clock.report())
    return status


if __name__ == "__main__":
    exit_status = main(sys.argv[1:])
    # Skip the interpreter's teardown of Airflow's module graph: 4-7 s after the last line, measured on 3.3.2 after
    # a `test`, with nothing left to do (the run is committed, atexit only disposes the SQLite pool).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_status)
