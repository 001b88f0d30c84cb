"""Upstream IAM policy documents kept as data files, with their `${...}` placeholders filled in."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aws_cdk import aws_iam as iam

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def load_policy_file(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def fill_placeholders(document: Any, values: dict[str, str]) -> Any:
    """Replace every `${Name}` in keys and values; a placeholder without a value is a bug, so it fails loudly."""

    def fill(text: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise KeyError(f"policy placeholder ${{{name}}} has no value")
            return values[name]

        return _PLACEHOLDER.sub(substitute, text)

    if isinstance(document, dict):
        return {fill(key): fill_placeholders(value, values) for key, value in document.items()}
    if isinstance(document, list):
        return [fill_placeholders(item, values) for item in document]
    if isinstance(document, str):
        return fill(document)
    return document


def policy_document(document: Any, values: dict[str, str]) -> iam.PolicyDocument:
    return iam.PolicyDocument.from_json(fill_placeholders(document, values))
