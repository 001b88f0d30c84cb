"""The GitHub workflows pass actionlint (ShellCheck on every `run:` script) and zizmor with no finding, pin every
action to a release commit, run exactly the README's commands, and give each job only the permissions it uses.
The `cdk diff` comment they post (scripts/pr_comment.py) always fits GitHub's limit and says what it cut."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from scripts.pr_comment import COMMENT_LIMIT, build_comment, comment_length, github_output
from tests.synth import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
PULL_REQUEST = WORKFLOWS / "pull-request.yml"
TOOLS = Path(sys.executable).parent
# A release commit, and the release it is, on the same line: `uses: owner/repo@<40 hex> # vX.Y.Z`.
PINNED_USES = re.compile(r"^\s*(?:- )?uses: (?P<action>[\w.-]+/[\w.-]+)@(?P<sha>[0-9a-f]{40}) # v\d+\.\d+\.\d+$")


def workflow_files(folder: Path = WORKFLOWS) -> list[Path]:
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def actionlint(files: list[Path]) -> subprocess.CompletedProcess:
    # ShellCheck from requirements-dev.txt, named explicitly so every machine checks the scripts alike; pyflakes
    # off, since no step runs Python inline.
    command = [TOOLS / "actionlint", "-no-color", "-shellcheck", TOOLS / "shellcheck", "-pyflakes=", *files]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def zizmor(folder: Path) -> subprocess.CompletedProcess:
    # pedantic: also the findings zizmor's default persona leaves out; offline: no GitHub API, so deterministic.
    command = [TOOLS / "zizmor", "--offline", "--persona=pedantic", "--no-progress", folder]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the bare key `on` as true.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def test_there_is_a_pull_request_workflow() -> None:
    assert workflow_files() == [PULL_REQUEST]


def test_actionlint_finds_nothing() -> None:
    result = actionlint(workflow_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing() -> None:
    result = zizmor(WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_both_report_a_planted_template_injection(tmp_path: Path) -> None:
    """The checks above can fail: a pull request's title expanded in a script is what they exist to catch."""
    planted = tmp_path / ".github" / "workflows"
    planted.mkdir(parents=True)
    text = PULL_REQUEST.read_text().replace(
        "run: ./scripts/synth.sh\n", 'run: echo "${{ github.event.pull_request.title }}" && ./scripts/synth.sh\n'
    )
    assert text != PULL_REQUEST.read_text()
    (planted / PULL_REQUEST.name).write_text(text)
    found = actionlint(workflow_files(planted))
    assert found.returncode != 0 and "potentially untrusted" in found.stdout, found.stdout + found.stderr
    found = zizmor(planted)
    assert found.returncode != 0 and "template-injection" in found.stdout, found.stdout + found.stderr


def test_every_action_is_pinned_to_one_release_commit() -> None:
    pins: dict[str, set[str]] = {}
    for path in workflow_files():
        for line in path.read_text().splitlines():
            if re.match(r"^\s*(?:- )?uses:", line):
                match = PINNED_USES.match(line)
                assert match, f"{path.name}: not pinned to a commit with its release in a comment: {line.strip()}"
                pins.setdefault(match["action"], set()).add(match["sha"])
    assert pins
    assert {action: shas for action, shas in pins.items() if len(shas) > 1} == {}


def readme_commands() -> set[str]:
    """The commands of the README's first code block: what a user runs, and so what CI must run."""
    block = re.search(r"```bash\n(.*?)```", (REPO_ROOT / "README.md").read_text(), re.DOTALL)
    assert block
    return {line.split("#")[0].strip() for line in block[1].splitlines() if line.strip()}


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def test_the_test_and_synth_jobs_run_exactly_the_readme_commands() -> None:
    workflow = load(PULL_REQUEST)
    assert readme_commands() == {"./scripts/synth.sh", "./scripts/test.sh"}
    ran = {step["run"] for job in ("test", "synth") for step in steps(workflow, job) if "run" in step}
    assert ran == readme_commands()


def test_it_runs_on_pull_requests_with_no_permission_by_default() -> None:
    workflow = load(PULL_REQUEST)
    # Never pull_request_target, which runs a fork's code with the base repository's token and secrets.
    assert workflow["on"] == {"pull_request": None}
    assert workflow["permissions"] == {}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert {name: job["permissions"] for name, job in workflow["jobs"].items()} == {
        "test": {"contents": "read"},
        "synth": {"contents": "read"},
        "diff": {"contents": "read", "id-token": "write"},
        "comment": {"pull-requests": "write"},
    }
    for name, job in workflow["jobs"].items():
        assert job["timeout-minutes"] <= 45, name
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name
    # The job that may write to the pull request checks out nothing and runs nothing of it.
    assert [step["uses"].split("@")[0] for step in steps(workflow, "comment")] == ["actions/github-script"]


def test_the_diff_runs_only_for_this_repositorys_branches_once_a_role_is_named() -> None:
    diff = load(PULL_REQUEST)["jobs"]["diff"]
    # Dependabot's runs get no OIDC token or write token of their own: its pull requests skip the diff.
    assert diff["if"] == (
        "vars.CDK_DIFF_ROLE_ARN != '' && github.event.pull_request.head.repo.full_name == github.repository &&"
        " github.actor != 'dependabot[bot]'"
    )
    (credentials,) = (s for s in diff["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    assert credentials["with"]["role-to-assume"] == "${{ vars.CDK_DIFF_ROLE_ARN }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials["with"])
    # Each env is synthesized once, before the diff reads its assembly.
    names = [step.get("name") or step["uses"] for step in diff["steps"]]
    assert names.index("./scripts/synth.sh per env") < names.index(credentials["uses"])


def test_the_diff_needs_only_the_lookup_role() -> None:
    """`--method template` reads deployed templates through the lookup role, the one role ci_diff_role.py lets it
    assume; a change set (the CLI's default) would need the deploy role."""
    (diff_step,) = (s for s in steps(load(PULL_REQUEST), "diff") if "cdk diff" in s.get("run", ""))
    (command,) = re.findall(r"node_modules/.bin/cdk diff [^>]*", diff_step["run"].replace("\\\n", " "))
    assert "--method template" in command and "--change-set" not in command
    assert '--app "cdk.out/$env"' in command  # the assembly synth.sh wrote and checked, not a second synth


def test_setup_node_installs_the_pinned_node() -> None:
    node = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["node"]
    workflow = load(PULL_REQUEST)
    versions = {
        step["with"]["node-version"]
        for job in workflow["jobs"]
        for step in steps(workflow, job)
        if step.get("uses", "").startswith("actions/setup-node@")
    }
    assert versions == {node}


# ---- the comment ----

MARKER = "<!-- test marker -->"
RUN_URL = "https://github.com/example-org/airflow-on-eks/actions/runs/1"


def results(tmp_path: Path, env: str, *, summary: str, diff: str | None, synth_status: int = 0) -> Path:
    folder = tmp_path / env
    folder.mkdir(parents=True)
    (folder / "summary.txt").write_text(summary)
    (folder / "synth.log").write_text("error: dev.yaml: network: nat_gateways (3) must not exceed az_count (2)\n")
    (folder / "synth.status").write_text(f"{synth_status}\n")
    if diff is not None:
        (folder / "diff.txt").write_text(diff)
        (folder / "diff.status").write_text("0\n")
    return tmp_path


def comment(tmp_path: Path, *envs: str) -> str:
    return build_comment(results=tmp_path, envs=list(envs), marker=MARKER, run_url=RUN_URL, commit="0123456789abcdef")


def test_a_small_comment_holds_every_output_whole(tmp_path: Path) -> None:
    results(
        tmp_path,
        "dev",
        summary="env dev: synthesized in 20.1s\n",
        diff="Stack airflow-dev-network\nThere were no differences\n\n\u2728  Number of stacks with differences: 0\n",
    )
    results(tmp_path, "prod", summary="env prod: synthesized\n", diff=None, synth_status=1)
    body = comment(tmp_path, "dev", "prod")
    assert body.startswith(MARKER + "\n")
    assert "#### dev: no differences" in body and "env dev: synthesized in 20.1s" in body
    assert "There were no differences" in body
    assert "#### prod: synth failed (exit 1)" in body and "nat_gateways (3) must not exceed" in body
    assert "Cut to fit" not in body


def test_a_long_diff_is_cut_to_the_limit_with_a_note(tmp_path: Path) -> None:
    lines = [f"[~] AWS::IAM::Role Role{i} \U0001f6a8 replaced" for i in range(5000)]  # an emoji: 2 code units
    diff = "\n".join(lines) + "\n\n\u2728  Number of stacks with differences: 6\n"
    results(tmp_path, "dev", summary="env dev: deploy plan ...\n", diff=diff)
    results(tmp_path, "prod", summary="env prod: deploy plan ...\n", diff=diff)
    body = comment(tmp_path, "dev", "prod")
    assert COMMENT_LIMIT - 2000 < comment_length(body) <= COMMENT_LIMIT
    assert body.count("Cut to fit GitHub's 65,536-character comment limit") == 2
    # Both diffs get the same room, each summary stays whole, and a cut falls at a line break.
    assert body.count("env dev: deploy plan") == body.count("env prod: deploy plan") == 1
    assert "#### dev: 6 stack(s) with differences" in body
    assert f"{lines[0]}\n" in body and f"{lines[-1]}\n" not in body
    assert re.search(r"replaced\n```\n\*Cut to fit", body)


def test_an_output_cannot_close_its_code_block(tmp_path: Path) -> None:
    results(tmp_path, "dev", summary="```\n# not a heading\n", diff="Number of stacks with differences: 1\n")
    body = comment(tmp_path, "dev")
    assert "````text\n```\n# not a heading\n````" in body


def test_the_github_output_delimiter_is_not_in_the_body() -> None:
    text = github_output("comment", "line one\nEOF\nline three")
    name, delimiter = text.splitlines()[0].split("<<")
    assert name == "comment" and text.endswith(f"\n{delimiter}\n")
    assert text.splitlines()[1:-1] == ["line one", "EOF", "line three"]


def test_the_comment_builder_runs_as_the_workflow_calls_it(tmp_path: Path) -> None:
    results(tmp_path / "results", "dev", summary="env dev\n", diff="Number of stacks with differences: 0\n")
    output = tmp_path / "github_output"
    command = [
        sys.executable,
        "scripts/pr_comment.py",
        "dev",
        "--results",
        tmp_path / "results",
        "--marker",
        MARKER,
        "--run-url",
        RUN_URL,
        "--commit",
        "0123456789abcdef",
        "--github-output",
        output,
    ]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert output.read_text().startswith("comment<<EOF-") and MARKER in output.read_text()
