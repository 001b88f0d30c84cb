"""The DAGs in dags/ against the real Airflow the deployment runs (.venv-airflow): they import cleanly and have the
expected shape (that hello_world_scheduled_dag runs end to end is tests/test_dags_script.py's, through
./scripts/dags.sh test); and the Airflow facts the deployment relies on (option names, connection values).

Each check kind is one subprocess in the Airflow venv, shared by the tests through module-scoped fixtures; the
time each took is printed at the end of the module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

# The connection values are the release's own, so what the deployment sets is what is proven to parse: aws:// is
# conn_type aws and nothing else (boto3's default chain, i.e. Pod Identity); kubernetes_default is JSON, not a URI,
# because the hook tests `in_cluster` for truth and a URI query gives the string "False", which is true.
from constructs.airflow.release import AWS_DEFAULT_CONNECTION, KUBERNETES_DEFAULT_CONNECTION
from tests.airflow_venv import (
    CHECK_SECONDS,
    DAGS_DIR,
    REPO_ROOT,
    airflow_option_report,
    check_airflow_options,
    run_check,
)

VERSIONS = yaml.safe_load((REPO_ROOT / "versions.yaml").read_text())
EXPECTED_DAG_IDS = {"hello_world_scheduled_dag", "example_pyspark_pi_job"}

# A folder of DAG files that must fail the integrity check, so a check that reports nothing cannot pass vacuously.
BAD_DAG_FILES = {
    # Airflow 2 imports: they still work in 3.3.2 but warn (DeprecatedImportWarning, a DeprecationWarning).
    "old_imports.py": (
        "import pendulum\n"
        "from airflow.decorators import dag, task\n\n\n"
        "@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz='UTC'))\n"
        "def old_imports():\n"
        "    task(lambda: None, task_id='noop')()\n\n\n"
        "old_imports()\n"
    ),
    # Removed in Airflow 3: an import error, not a warning.
    "removed_argument.py": "from airflow.sdk import DAG\n\nDAG('removed_argument', schedule_interval='@daily')\n",
    "missing_module.py": "import module_that_does_not_exist  # noqa: F401\n",
}


@pytest.fixture(scope="module", autouse=True)
def _print_check_times(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if CHECK_SECONDS:
        times = ", ".join(f"{script} {seconds:.1f}s" for script, seconds in sorted(CHECK_SECONDS.items()))
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():  # output of a fixture is captured otherwise
                reporter.write(f"\nAirflow checks in .venv-airflow: {times}\n")


@pytest.fixture(scope="module")
def bad_dags_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad_dags")
    for name, source in BAD_DAG_FILES.items():
        (folder / name).write_text(source)
    return folder


@pytest.fixture(scope="module")
def integrity(bad_dags_dir: Path) -> dict[str, Any]:
    """dag_integrity.py over dags/ and the bad folder, in one interpreter."""
    return run_check("dag_integrity.py", str(DAGS_DIR), str(bad_dags_dir))


@pytest.fixture(scope="module")
def our_dags(integrity: dict[str, Any]) -> dict[str, Any]:
    return integrity["folders"][str(DAGS_DIR)]


def test_every_dag_file_imports_without_errors_or_deprecation_warnings(our_dags: dict[str, Any]) -> None:
    dag_files = sorted(path.relative_to(DAGS_DIR).as_posix() for path in DAGS_DIR.rglob("*.py"))
    assert dag_files, "dags/ holds no DAG file"
    assert our_dags["files"] == dag_files
    assert our_dags["import_errors"] == {}
    assert our_dags["warnings"] == {}


def test_the_integrity_check_reports_broken_and_deprecated_dag_files(
    integrity: dict[str, Any], bad_dags_dir: Path
) -> None:
    bad = integrity["folders"][str(bad_dags_dir)]
    assert set(bad["import_errors"]) == {"removed_argument.py", "missing_module.py"}
    assert "unexpected keyword argument 'schedule_interval'" in bad["import_errors"]["removed_argument.py"]
    assert "ModuleNotFoundError" in bad["import_errors"]["missing_module.py"]
    assert set(bad["warnings"]) == {"old_imports.py"}
    old_import_warnings = bad["warnings"]["old_imports.py"]
    assert any("DeprecatedImportWarning" in line and "airflow.sdk.dag" in line for line in old_import_warnings)


def test_the_expected_dags_with_their_schedule(our_dags: dict[str, Any]) -> None:
    assert set(our_dags["dags"]) == EXPECTED_DAG_IDS
    hello = our_dags["dags"]["hello_world_scheduled_dag"]
    assert hello["file"] == "hello_world_scheduled_dag.py"
    assert hello["schedule"] == "0 1 * * *"
    assert hello["timetable"] == "CronTriggerTimetable"
    assert hello["start_date"] == "2026-01-01T00:00:00+00:00"
    assert hello["tags"] == ["aws", "demo"]
    assert set(hello["tasks"]) == {"say_hello", "report_worker", "say_goodbye"}
    spark = our_dags["dags"]["example_pyspark_pi_job"]
    assert spark["file"] == "example_pyspark_pi_job.py"
    assert spark["schedule"] is None  # triggered by hand: each run launches Spot and on-demand nodes
    assert spark["tags"] == ["demo", "spark"] or spark["tags"] == ["spark", "demo"]
    assert set(spark["tasks"]) == {"pyspark_pi"}


def test_every_dag_follows_the_dags_readme_rules(
    our_dags: dict[str, Any], integrity: dict[str, Any], bad_dags_dir: Path
) -> None:
    # start_date, catchup off, retries >= 1 with a delay (a task pod lost to a node scale-down or a Spot interruption
    # is retried), no per-task executor: scripts/dag_loop/dag_checks.py's rules, which `dags.sh lint` reports too.
    assert our_dags["rule_problems"] == []
    # ... and the rules do report a breach: old_imports' task keeps Airflow's default of no retries.
    bad = integrity["folders"][str(bad_dags_dir)]
    assert bad["rule_problems"] == ["old_imports.py: old_imports.noop: retries 0 (at least 1, with a retry_delay)"]


def _requirement_pins() -> dict[str, set[str]]:
    pins: dict[str, set[str]] = {}
    for line in (REPO_ROOT / "requirements-airflow.txt").read_text().splitlines():
        requirement = line.split("#", 1)[0].split(";", 1)[0].strip()
        if requirement:
            name, _, version = requirement.partition("==")
            pins.setdefault(re.sub(r"[-_.]+", "-", name).lower(), set()).add(version)
    return pins


def test_the_venv_runs_the_deployed_airflow_and_the_pinned_providers(integrity: dict[str, Any]) -> None:
    installed = integrity["versions"]
    assert installed["apache-airflow"] == VERSIONS["airflow"]["version"]
    assert installed["apache-airflow-core"] == VERSIONS["airflow"]["version"]
    pins = _requirement_pins()
    for distribution, version in installed.items():
        assert version in pins.get(distribution, set()), f"{distribution} {version} is not what the file pins"
    for provider in ("cncf-kubernetes", "amazon", "fab"):
        assert f"apache-airflow-providers-{provider}" in installed


# Options the deployment sets or may set, each known and current in 3.3.2 with the pinned providers.
KNOWN_OPTIONS = {
    "core": {
        "dags_folder": "/opt/airflow/dags",
        "execution_api_server_url": "http://airflow-api-server:8080/execution/",
    },
    "api": {"base_url": "https://airflow.example.com", "workers": 1},
    "database": {"sql_alchemy_conn_async": "from-a-secret"},
    "scheduler": {"task_queued_timeout": 1800},
    "dag_processor": {"refresh_interval": 300},
    "logging": {
        "remote_logging": "True",
        "remote_base_log_folder": "s3://bucket/task-logs",
        "remote_log_conn_id": "aws_default",
        "encrypt_s3_logs": "False",
        "delete_local_logs": "True",
    },
    "kubernetes_executor": {
        "worker_pods_creation_batch_size": 8,
        "delete_worker_pods": "True",
        "delete_worker_pods_on_failure": "False",
    },
    "fab": {"enable_proxy_fix": "True"},
    # The chart's default config: client keyword arguments for the Elasticsearch log handler, any name is valid.
    "elasticsearch_configs": {"max_retries": 3},
}
KNOWN_ENV_NAMES = [
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD",  # sensitive, so Airflow reads the _CMD variant
    "AIRFLOW__CORE__FERNET_KEY_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH",  # a dotted section: [common.io]
    "AIRFLOW__SECRETS__BACKEND_KWARG__ROLE_ID",  # a per-key backend kwarg, not an option
    "AIRFLOW_CONN_AWS_DEFAULT",
    "AIRFLOW_VAR_ANYTHING",
    "AIRFLOW_HOME",
    "PYTHONPATH",
]
BAD_OPTIONS = {
    "scheduler": {"task_queued_timeot": 1800},  # misspelled
    "kubernetes": {"namespace": "airflow"},  # Airflow 2's section, now [kubernetes_executor]
    "webserver": {"secret_key": "placeholder"},  # deprecated since 3.0.2: [api] secret_key
    "workers": {"execution_api_server_url": "http://x/execution/"},  # deprecated alias of [core]
}
BAD_ENV_NAMES = [
    "AIRFLOW__WEBSERVER__SECRET_KEY",
    "AIRFLOW__CORE__DAGS_FOLDER_CMD",  # not sensitive: Airflow ignores the _CMD variant
    "AIRFLOW__LOGGING__REMOTE_LOGING",
    "AIRFLOW__NO_OPTION",
]


# One request for every case, so one subprocess: each option gets its own lines, so the cases cannot interfere.
ALL_OPTIONS = {
    section: KNOWN_OPTIONS.get(section, {}) | BAD_OPTIONS.get(section, {}) for section in KNOWN_OPTIONS | BAD_OPTIONS
}
ALL_ENV_NAMES = KNOWN_ENV_NAMES + BAD_ENV_NAMES


@pytest.fixture(scope="module")
def option_report() -> dict[str, Any]:
    return airflow_option_report(ALL_OPTIONS, ALL_ENV_NAMES)


def test_the_option_checker_accepts_known_options_including_providers(option_report: dict[str, Any]) -> None:
    known_names = [f"[{section}] {option}" for section, options in KNOWN_OPTIONS.items() for option in options]
    subjects = [f"config: {name}" for name in known_names] + [f"env {name}:" for name in KNOWN_ENV_NAMES]
    assert [line for line in option_report["problems"] if line.startswith(tuple(subjects))] == []
    described = option_report["options"]
    assert set(known_names) <= set(described)
    # Provider-defined options are known, and attributed to their provider.
    assert described["[kubernetes_executor] worker_pods_creation_batch_size"] == {
        "default": "1",
        "from": "apache-airflow-providers-cncf-kubernetes",
        "sensitive": False,
        "type": "string",
        "version_added": None,
    }
    assert described["[fab] enable_proxy_fix"]["from"] == "apache-airflow-providers-fab"
    assert described["[logging] remote_base_log_folder"]["default"] == ""
    assert described["[scheduler] task_queued_timeout"]["default"] == "600.0"


def test_the_option_checker_flags_misspelled_unknown_and_deprecated_options(option_report: dict[str, Any]) -> None:
    assert option_report["problems"] == [
        "config: [scheduler] task_queued_timeot: unknown option in [scheduler] (did you mean 'task_queued_timeout'?)",
        "config: [kubernetes] namespace: unknown section [kubernetes] (did you mean 'kubernetes_executor'?)",
        "config: [webserver] secret_key is deprecated since 3.0.2; use [api] secret_key",
        "config: [workers] execution_api_server_url is deprecated since 3.0; use [core] execution_api_server_url",
        "env AIRFLOW__WEBSERVER__SECRET_KEY: [webserver] secret_key is deprecated since 3.0.2; use [api] secret_key",
        "env AIRFLOW__CORE__DAGS_FOLDER_CMD: [core] dags_folder_cmd: Airflow reads _cmd only for sensitive options; "
        "[core] dags_folder is not one",
        "env AIRFLOW__LOGGING__REMOTE_LOGING: [logging] remote_loging: unknown option in [logging] "
        "(did you mean 'remote_logging'?)",
        "env AIRFLOW__NO_OPTION: not of the form AIRFLOW__SECTION__OPTION",
    ]


def test_check_airflow_options_returns_the_problem_lines(option_report: dict[str, Any]) -> None:
    # The same request as the fixture's, so the answer comes from its cache, not another subprocess.
    assert check_airflow_options(ALL_OPTIONS, ALL_ENV_NAMES) == option_report["problems"]


def test_the_connection_values_parse_and_the_hooks_read_them() -> None:
    answer = run_check(
        "connections.py",
        stdin={
            "env": {
                "AIRFLOW_CONN_AWS_DEFAULT": AWS_DEFAULT_CONNECTION,
                "AIRFLOW_CONN_KUBERNETES_DEFAULT": KUBERNETES_DEFAULT_CONNECTION,
                # Why the Kubernetes one is JSON: a URI query is a string, and "False" is true to the hook.
                "AIRFLOW_CONN_KUBERNETES_URI_FORM": "kubernetes://?in_cluster=False",
            }
        },
    )
    connections, hooks = answer["connections"], answer["hooks"]
    assert connections["aws_default"]["conn_type"] == "aws"
    assert connections["aws_default"]["extra"] == {}
    # No keys, no role: AwsBaseHook hands boto3 nothing, so its default chain finds the Pod Identity credentials.
    assert hooks["aws_default"] == {
        "conn_id": "aws_default",
        "conn_type": "aws",
        "has_static_keys": False,
        "region_name": None,
        "role_arn": None,
    }
    assert connections["kubernetes_default"]["conn_type"] == "kubernetes"
    assert connections["kubernetes_default"]["extra"] == {"in_cluster": True}
    # The hook takes the in-cluster branch because of the connection (load_incluster_config() without arguments),
    # not its no-configuration fallback (which passes client_configuration and would try ~/.kube/config next).
    assert hooks["kubernetes_default"] == {
        "conn_id": "kubernetes_default",
        "in_cluster_field": True,
        "is_in_cluster": True,
        "loader_calls": [{"loader": "load_incluster_config", "kwargs": []}],
    }
    assert connections["kubernetes_uri_form"]["extra"] == {"in_cluster": "False"}
