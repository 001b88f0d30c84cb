"""Builds the pull-request comment of the `cdk diff` job: per env, `./scripts/synth.sh <env>`'s summary (with the
deploy plan it prints) and the `cdk diff` against what is deployed, cut to fit GitHub's comment limit.

The workflow leaves one folder per env under --results: summary.txt, synth.log and synth.status from the synth,
diff.txt and diff.status from `cdk diff` (absent when the synth failed). The body starts with --marker, the hidden
line by which the next run finds this comment to update it in place.
"""

from __future__ import annotations

import argparse
import re
import secrets
from pathlib import Path

# GitHub refuses a longer comment body ("maximum is 65536 characters").
COMMENT_LIMIT = 65_536
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STACKS_WITH_DIFFERENCES = re.compile(r"Number of stacks with differences: (\d+)")


def comment_length(text: str) -> int:
    """Length in UTF-16 code units (an emoji counts 2), which is never less than the characters GitHub counts."""
    return len(text.encode("utf-16-le")) // 2


class Output:
    """A command's output, shown as a code block that may be cut to fit."""

    def __init__(self, text: str) -> None:
        self.text = ANSI_ESCAPE.sub("", text).rstrip("\n") + "\n"
        self.length = comment_length(self.text)
        # Longer than any backtick run inside, so no output can close its block early.
        self.fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", self.text)), default=0))

    def frame_length(self, note: str) -> int:
        """What the block adds around the text it keeps, at most: its fences and its cut note."""
        return comment_length(f"{self.fence}text\n{self.fence}\n") + comment_length(self._note(note, self.length))

    def render(self, keep: int, note: str) -> str:
        shown = self.text if self.length <= keep else self._cut(keep)
        block = f"{self.fence}text\n{shown}{self.fence}\n"
        return block + (self._note(note, comment_length(shown)) if shown != self.text else "")

    def _note(self, note: str, shown: int) -> str:
        return note.format(shown=shown, total=self.length) + "\n"

    def _cut(self, units: int) -> str:
        """The longest start of the text of at most `units` UTF-16 code units, ending at a line break if it has one."""
        head = self.text.encode("utf-16-le")[: units * 2].decode("utf-16-le", errors="ignore")
        return head[: head.rfind("\n") + 1] or head


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def _status(path: Path) -> str | None:
    """A step's exit status, or None when the step did not run."""
    return _read(path).strip() or None


def env_section(results: Path, env: str) -> list[str | Output]:
    """The heading and outputs of one env, from the files the workflow left in results/<env>/."""
    folder = results / env
    synth_status = _status(folder / "synth.status")
    if synth_status != "0":
        outcome = "synth did not run" if synth_status is None else f"synth failed (exit {synth_status})"
        return [f"#### {env}: {outcome}\n", Output(_read(folder / "synth.log"))]
    diff = _read(folder / "diff.txt")
    diff_status = _status(folder / "diff.status")
    counted = STACKS_WITH_DIFFERENCES.search(diff)
    if diff_status is None:
        outcome = "`cdk diff` did not run (no credentials? see the workflow run)"
    elif diff_status != "0":
        outcome = f"`cdk diff` failed (exit {diff_status})"
    elif counted is None:
        outcome = "`cdk diff` printed no count of stacks with differences"
    else:
        outcome = "no differences" if counted[1] == "0" else f"{counted[1]} stack(s) with differences"
    return [
        f"#### {env}: {outcome}\n",
        f"`./scripts/synth.sh {env}` (summary and deploy plan):\n",
        Output(_read(folder / "summary.txt")),
        f"`cdk diff` of {env}:\n",
        Output(diff),
    ]


def build_comment(*, results: Path, envs: list[str], marker: str, run_url: str, commit: str) -> str:
    """The comment body, at most COMMENT_LIMIT long. When the outputs do not fit, each gets an equal share of the
    room left, and what a short one does not use goes to the longer ones."""
    parts: list[str | Output] = [
        f"{marker}\n### `cdk diff` against the deployed envs\n",
        f"Commit `{commit[:12]}`, [workflow run]({run_url}). Templates are compared through the read-only CDK "
        "lookup role (`cdk diff --method template`, no change set): a replacement shown is CloudFormation's rule "
        "for that property, not a change set's answer.\n",
    ]
    for env in envs:
        parts += env_section(results, env)
    note = (
        f"*Cut to fit GitHub's {COMMENT_LIMIT:,}-character comment limit: {{shown:,}} of {{total:,}} characters "
        f"shown. The whole output is in the [workflow run]({run_url})'s log.*"
    )
    outputs = sorted((part for part in parts if isinstance(part, Output)), key=lambda output: output.length)
    fixed = sum(comment_length(part) for part in parts if isinstance(part, str)) + len(parts) - 1
    room = COMMENT_LIMIT - fixed - sum(output.frame_length(note) for output in outputs)
    keep: dict[int, int] = {}
    for index, output in enumerate(outputs):
        keep[id(output)] = min(output.length, max(0, room) // (len(outputs) - index))
        room -= keep[id(output)]
    body = "\n".join(part if isinstance(part, str) else part.render(keep[id(part)], note) for part in parts)
    assert comment_length(body) <= COMMENT_LIMIT, comment_length(body)
    return body


def github_output(name: str, value: str) -> str:
    """`name` set to the multi-line `value` in $GITHUB_OUTPUT's syntax, with a delimiter `value` cannot contain."""
    delimiter = f"EOF-{secrets.token_hex(16)}"
    assert delimiter not in value
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("envs", nargs="+")
    parser.add_argument("--results", required=True, type=Path)
    parser.add_argument("--marker", required=True)
    parser.add_argument("--run-url", required=True)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--github-output", type=Path, help="also append the body, as output `comment`, to this file")
    args = parser.parse_args()
    body = build_comment(
        results=args.results, envs=args.envs, marker=args.marker, run_url=args.run_url, commit=args.commit
    )
    print(body)
    if args.github_output:
        with args.github_output.open("a", encoding="utf-8") as handle:
            handle.write(github_output("comment", body))


if __name__ == "__main__":
    main()
