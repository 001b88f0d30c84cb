"""./scripts/dags.sh, the DAG author's local loop, on the real .venv-airflow: list, test (hello_world_scheduled_dag
end to end, a failing DAG, the Spark DAG refused, an unknown DAG) and lint (a broken folder and dags/), bad input,
and the environment it gives Airflow.

Every Airflow start costs seconds, so each run happens once, in one module-scoped fixture that starts them in
parallel; the two runs that share a database (hello_world_scheduled_dag, then the failing DAG) run one after the
other, which also proves the database is migrated once and reused.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from constructs.airflow.release import AWS_DEFAULT_CONNECTION
from constructs.data.spark_team_buckets import team_bucket_variable
from tests.airflow_venv import DAGS_DIR, REPO_ROOT, airflow_python

SCRIPT = REPO_ROOT / "scripts" / "dags.sh"
FIRST_RESULT = re.compile(r"^==> first result after \d+\.\d s \(\.venv-airflow ready after \d+\.\d s\)$", re.M)

# Retries with the default 5-minute delay: `test` must report the failure at once, not wait out two retries.
FAILING_DAG = """
import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, default_args={"retries": 2})
def failing_dag():
    @task
    def first() -> None:
        pass

    @task
    def breaks() -> None:
        raise RuntimeError("broken on purpose")

    @task
    def never_runs() -> None:
        pass

    first() >> breaks() >> never_runs()


failing_dag()
"""
# What only ruff sees: a removed context key used inside the task, never executed by an import.
RUFF_ONLY_PROBLEM = """
import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def ruff_only():
    @task
    def reads_removed_key(**context) -> None:
        print(context["execution_date"])

    reads_removed_key()


ruff_only()
"""
# dags/ as it is (so the DAG tests' end-to-end run of hello_world_scheduled_dag is this module's), plus a DAG that
# fails.
RUNNABLE_FILES = {
    path.name: path.read_text() for path in sorted(DAGS_DIR.glob("*.py")) + sorted(DAGS_DIR.glob("*.yaml"))
} | {"failing.py": FAILING_DAG}
BROKEN_FILES = {
    "removed_argument.py": "from airflow.sdk import DAG\n\nDAG('removed_argument', schedule_interval='@daily')\n",
    "old_imports.py": (
        "import pendulum\nfrom airflow.decorators import dag\n\n\n"
        "@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz='UTC'))\ndef old_imports():\n    pass\n\n\n"
        "old_imports()\n"
    ),
    "ruff_only.py": RUFF_ONLY_PROBLEM,
}


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str
    seconds: float


def _script_environment(dag_folder: Path, home: Path) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
    return environment | {"AIRFLOW_EKS_DAGS_FOLDER": str(dag_folder), "AIRFLOW_EKS_LOCAL_HOME": str(home)}


def run_script(*arguments: str, dag_folder: Path, home: Path) -> Run:
    started = time.monotonic()
    completed = subprocess.run(
        [str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        env=_script_environment(dag_folder, home),
        timeout=600,
        check=False,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr, time.monotonic() - started)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    airflow_python()  # skips (or fails under CI) with the reason when .venv-airflow is absent
    runnable = tmp_path_factory.mktemp("runnable_dags")
    for name, source in RUNNABLE_FILES.items():
        (runnable / name).write_text(source.lstrip())
    broken = tmp_path_factory.mktemp("broken_dags")
    for name, source in (RUNNABLE_FILES | BROKEN_FILES).items():
        (broken / name).write_text(source.lstrip())
    shared_home = tmp_path_factory.mktemp("local_home")
    separate = {
        "list": (("list",), broken),
        "lint_broken": (("lint",), broken),
        "lint_dags": (("lint",), DAGS_DIR),
        "test_cluster": (("test", "example_pyspark_pi_job"), runnable),
        "test_unknown": (("test", "hello_world_schedule_dag"), runnable),
    }
    homes = {name: tmp_path_factory.mktemp(f"home_{name}") for name in separate}  # made here: mktemp is not threaded

    def passing_then_failing() -> tuple[Run, Run]:
        passing = run_script("test", "hello_world_scheduled_dag", "2026-03-01", dag_folder=runnable, home=shared_home)
        return passing, run_script("test", "failing_dag", dag_folder=runnable, home=shared_home)

    # Two at a time: the database chain is the longest, so it keeps one core while the other runs take turns.
    with ThreadPoolExecutor(max_workers=2) as pool:
        database_runs = pool.submit(passing_then_failing)
        others = {
            name: pool.submit(run_script, *arguments, dag_folder=folder, home=homes[name])
            for name, (arguments, folder) in separate.items()
        }
        results = {name: future.result() for name, future in others.items()}
        results["test_passing"], results["test_failing"] = database_runs.result()
    return results


def test_list_shows_every_dag_with_its_schedule_tasks_and_the_import_errors(runs: dict[str, Run]) -> None:
    listed = runs["list"]
    assert listed.status == 1, listed.stderr  # import errors
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()}
    assert rows["hello_world_scheduled_dag"][1:7] == ["0", "1", "*", "*", "*", "hello_world_scheduled_dag.py"]
    assert rows["hello_world_scheduled_dag"][7:] == ["say_hello,", "report_worker,", "say_goodbye"]
    assert rows["example_pyspark_pi_job"][1:] == ["None", "example_pyspark_pi_job.py", "pyspark_pi", "[cluster]"]
    assert rows["failing_dag"][1:] == ["None", "failing.py", "first,", "breaks,", "never_runs"]
    assert "old_imports" in rows  # it imports, with a warning
    assert "import error in removed_argument.py: TypeError: DAG.__init__() got an unexpected keyword argument " in (
        listed.stdout
    )
    assert "1 warning(s): ./scripts/dags.sh lint shows them" in listed.stdout
    assert FIRST_RESULT.search(listed.stdout)


def test_hello_world_runs_end_to_end_and_every_task_succeeds(runs: dict[str, Run]) -> None:
    hello = runs["test_passing"]
    assert hello.status == 0, hello.stdout + hello.stderr
    assert "==> migrating " in hello.stdout  # a fresh home: the database is created
    # say_goodbye got both upstream XComs.
    assert "goodbye, after 'hello from Airflow on EKS'; report_worker ran on " in hello.stdout
    summary = hello.stdout[hello.stdout.index("==> hello_world_scheduled_dag ") :].splitlines()
    assert summary[0].endswith("(logical date 2026-03-01T00:00:00+00:00): success")
    states = dict(line.split() for line in summary[1:4])
    assert states == dict.fromkeys(["say_hello", "report_worker", "say_goodbye"], "success")
    assert FIRST_RESULT.search(hello.stdout)
    assert "Traceback" not in hello.stdout + hello.stderr
    assert "warning" not in hello.stdout + hello.stderr  # nothing of Airflow's own machinery either


def test_a_failing_task_fails_the_run_at_once_and_the_database_is_reused(runs: dict[str, Run]) -> None:
    failing = runs["test_failing"]
    assert failing.status == 1, failing.stdout + failing.stderr
    assert "==> migrating " not in failing.stdout  # same home as hello_world_scheduled_dag's run: migrated once
    summary = failing.stdout[failing.stdout.index("==> failing_dag ") :].splitlines()
    assert summary[0].endswith(": failed")
    assert [line.split() for line in summary[1:4]] == [
        ["first", "success"],
        ["breaks", "failed"],
        ["never_runs", "upstream_failed"],
    ]
    assert "RuntimeError: broken on purpose" in failing.stdout + failing.stderr
    # Two retries at the default 5-minute delay would take over 10 minutes; every task runs once instead.
    assert failing.seconds < 120


def test_test_refuses_a_dag_that_needs_the_cluster_and_an_unknown_dag(runs: dict[str, Run]) -> None:
    spark = runs["test_cluster"]
    assert spark.status == 2
    assert spark.stdout == ""
    assert spark.stderr.splitlines() == [
        "error: example_pyspark_pi_job needs the cluster: pyspark_pi (SparkKubernetesOperator) talks to its "
        "Kubernetes API, which nothing local stands in for; run it there (README: Running the Spark example); "
        "tests/test_spark.py checks what it would submit"
    ]
    unknown = runs["test_unknown"]
    assert unknown.status == 2
    assert unknown.stdout == ""
    assert re.fullmatch(
        r"error: no DAG 'hello_world_schedule_dag' in \S+ \(did you mean 'hello_world_scheduled_dag'\?\)\n",
        unknown.stderr,
    )


def test_lint_reports_import_errors_warnings_and_ruff_findings(runs: dict[str, Run]) -> None:
    lint = runs["lint_broken"]
    assert lint.status == 1, lint.stderr
    output = lint.stdout
    assert "removed_argument.py: import error" in output
    assert "unexpected keyword argument 'schedule_interval'" in output
    assert re.search(r"^old_imports\.py: .*DeprecatedImportWarning.*airflow\.sdk\.dag", output, re.M)
    # ruff's AIR rules (ruff.toml): the removed argument, and the removed context key only ruff can see.
    assert re.search(r"^removed_argument\.py:3:\d+: AIR301 `schedule_interval` is removed", output, re.M)
    assert re.search(r"^ruff_only\.py:\d+:\d+: AIR301 `execution_date` is removed", output, re.M)
    assert not re.search(r"^(failing|hello_world_scheduled_dag|example_pyspark_pi_job)\.py:", output, re.M)
    # dags/README's rules: the task keeps Airflow's default of no retries.
    assert "ruff_only.py: ruff_only.reads_removed_key: retries 0 (at least 1, with a retry_delay)" in output
    summary = re.search(
        r"^==> 6 file\(s\): 1 import error\(s\), 1 warning\(s\) in Airflow \S+, 1 dags/README rule problem\(s\), "
        r"(\d+) ruff finding\(s\)$",
        output,
        re.M,
    )
    assert summary is not None and int(summary.group(1)) >= 2, output
    assert FIRST_RESULT.search(output)


def test_lint_passes_the_dags_folder(runs: dict[str, Run]) -> None:
    lint = runs["lint_dags"]
    assert lint.status == 0, lint.stdout + lint.stderr
    files = len(list(DAGS_DIR.glob("*.py")))
    assert re.search(
        rf"^==> {files} file\(s\): 0 import error\(s\), 0 warning\(s\) in Airflow \S+, 0 dags/README rule "
        r"problem\(s\), 0 ruff finding\(s\)$",
        lint.stdout,
        re.M,
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), "error: a command is needed: list, test or lint"),
        (("deploy",), "error: unknown command 'deploy': use list, test or lint"),
        (("test",), "error: test needs a DAG id: test <dag_id> [logical date] (list shows the DAG ids)"),
        (("test", "hello_world_scheduled_dag", "2026-13-01"), "error: logical date '2026-13-01' is not a date"),
        (("list", "extra"), "error: unrecognized arguments: extra"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(arguments: tuple[str, ...], message: str, tmp_path: Path) -> None:
    airflow_python()
    bad = run_script(*arguments, dag_folder=tmp_path, home=tmp_path / "home")
    assert bad.status == 2
    assert bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 1 and bad.stderr.startswith(message), bad.stderr


def test_a_dag_folder_that_is_not_there_is_one_line_and_exit_2(tmp_path: Path) -> None:
    airflow_python()
    missing = tmp_path / "no-such-folder"
    bad = run_script("list", dag_folder=missing, home=tmp_path / "home")
    assert (bad.status, bad.stdout) == (2, "")
    assert bad.stderr.splitlines() == [f"error: AIRFLOW_EKS_DAGS_FOLDER: {missing} is not a folder"]


def _cli_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dags_cli", REPO_ROOT / "scripts" / "dag_loop" / "cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_local_environment_is_the_deployments_with_local_stand_ins(tmp_path: Path) -> None:
    cli = _cli_module()
    caller = {
        "PATH": "/usr/bin",
        "AIRFLOW_HOME": "/another/project",
        "AIRFLOW_CONFIG": "/another/project/airflow.cfg",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",  # another project's setting must not leak in
        "AIRFLOW_VAR_SPARK_TEAM_A_BUCKET": "my-own-dev-bucket",  # the caller's own value wins over the stand-in
    }
    environment = cli.local_environment(caller, home=tmp_path, dag_folder=DAGS_DIR, logging_level="WARNING")
    assert environment["PATH"] == "/usr/bin"
    assert environment["AIRFLOW_HOME"] == str(tmp_path)
    assert "AIRFLOW_CONFIG" not in environment
    assert environment["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS_DIR)
    assert environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path}/airflow.db"
    # Every option the deployment sets statically, with its value, except the ones that need the cluster.
    values = yaml.safe_load((REPO_ROOT / "helm_values" / "airflow.yaml").read_text())
    assert environment["AIRFLOW__CORE__EXECUTOR"] == values["executor"] == "KubernetesExecutor"
    for section, options in values["config"].items():
        for option, value in options.items():
            if (section, option) not in cli.OFF_CLUSTER_OPTIONS:
                assert environment[f"AIRFLOW__{section.upper()}__{option.upper()}"] == str(value)
    assert environment["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert environment["AIRFLOW__LOGGING__REMOTE_LOGGING"] == "False"
    # The connection is the release's; the Variables are the ones the release sets for dev's job namespaces.
    assert cli.AWS_DEFAULT_CONNECTION == AWS_DEFAULT_CONNECTION == environment["AIRFLOW_CONN_AWS_DEFAULT"]
    dev = yaml.safe_load((REPO_ROOT / "config" / "dev.yaml").read_text())
    variables = {name for name in environment if name.startswith("AIRFLOW_VAR_")}
    assert variables == {f"AIRFLOW_VAR_{team_bucket_variable(ns).upper()}" for ns in dev["spark"]["job_namespaces"]}
    assert environment["AIRFLOW_VAR_SPARK_TEAM_A_BUCKET"] == "my-own-dev-bucket"
    assert (
        cli.local_environment({}, home=tmp_path, dag_folder=DAGS_DIR, logging_level="WARNING")[
            "AIRFLOW_VAR_SPARK_TEAM_A_BUCKET"
        ]
        == "local-stand-in-for-spark-team-a-bucket"
    )
    assert environment["AWS_DEFAULT_REGION"] == dev["region"]


def test_the_local_home_is_git_ignored() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".airflow-local/airflow.db"], cwd=REPO_ROOT, check=False)
    assert ignored.returncode == 0


def test_help_lists_the_commands_without_installing_anything() -> None:
    started = time.monotonic()
    shown = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, check=False, timeout=30)
    assert shown.returncode == 0
    assert time.monotonic() - started < 5
    for command in (
        "./scripts/dags.sh list",
        "./scripts/dags.sh test <dag_id> [logical date]",
        "./scripts/dags.sh lint",
    ):
        assert command in shown.stdout
    assert "set -euo" not in shown.stdout
