"""The `logging` section: how long CloudWatch keeps logs and when Airflow's task logs expire.

It owns the retention choices CloudWatch accepts and the production rule on retention.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from config.settings.base import ProductionProblem, StrictModel

# A year of logs: what production must keep, and what the Control Tower retention control asks of every log group.
ONE_YEAR_DAYS = 365


class LoggingConfig(StrictModel):
    # CloudWatch Logs retention must be one of the values the service accepts.
    retention_days: Literal[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
    ]
    airflow_log_expiry_days: Annotated[int, Field(ge=1, le=3650)]

    def production_problems(self) -> list[ProductionProblem]:
        """A production env keeps its logs for at least a year."""
        problems = []
        if self.retention_days < ONE_YEAR_DAYS:
            problems.append(("logging.retention_days", "must be at least 365 in a production env"))
        return problems
