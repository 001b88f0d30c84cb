"""Bad `database` and `logging` input (config/settings/data.py, logging.py) stops synth with one clear line.

Their production rules are in test_config_app.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config_edits import config_error, delete_key, set_key

DATA_BAD_INPUTS = [
    # (env, edit, expected message fragment)
    ("dev", delete_key("database.instance_class"), "dev.yaml: database.instance_class: is required"),
    (
        "dev",
        set_key("database.instance_class", "db.t4g.small"),
        "dev.yaml: database.instance_class: 'db.t4g.small' is not an RDS instance class like 't4g.small' "
        "(without the 'db.' prefix)",
    ),
    (
        "dev",
        set_key("database.max_allocated_storage_gib", 10),
        "dev.yaml: database.max_allocated_storage_gib: Input should be greater than or equal to 20 (got 10)",
    ),
    (
        "prod",
        set_key("database.max_allocated_storage_gib", 30),
        "prod.yaml: database: max_allocated_storage_gib (30) < allocated_storage_gib (50)",
    ),
    (
        "dev",
        set_key("database.performance_insights", True),
        "dev.yaml: database: performance_insights is not available on t4g.micro",
    ),
    # ---- logging ----
    ("dev", set_key("logging.retention_days", 10), "dev.yaml: logging.retention_days: Input should be 1, 3, 5, 7, 14"),
]


@pytest.mark.parametrize(("env", "edit", "expected"), DATA_BAD_INPUTS, ids=[case[2][:60] for case in DATA_BAD_INPUTS])
def test_bad_database_or_logging_config_is_one_clear_line(tmp_path: Path, env: str, edit, expected: str) -> None:
    message = config_error(env, edit, tmp_path=tmp_path)
    assert expected in message
    assert "\n" not in message
