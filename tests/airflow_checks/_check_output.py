"""How every check script answers: one JSON document on stdout, everything else on stderr.

Airflow logs (and a DAG's tasks print) to stdout, so a script moves file descriptor 1 onto stderr before it imports
Airflow and writes its answer to a duplicate of the original stdout. Forked task processes inherit the redirected
descriptor, so nothing they print can corrupt the answer.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


class JsonAnswer:
    """Call `JsonAnswer()` first thing in a check script, then `.send(document)` once at the end."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._answer_fd = os.dup(1)
        os.dup2(2, 1)

    def send(self, document: Any) -> None:
        sys.stdout.flush()
        with os.fdopen(self._answer_fd, "w") as answer:
            json.dump(document, answer, indent=1, sort_keys=True, default=str)
            answer.write("\n")
