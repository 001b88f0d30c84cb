"""The `database` section: Airflow's metadata database on RDS for PostgreSQL (class, storage, availability).

It owns the checks within the section and the database's production rules. The PostgreSQL version lives in
versions.yaml (see versions.py).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from config.settings.base import ProductionProblem, StrictModel, instance_type_name


class DatabaseConfig(StrictModel):
    instance_class: str
    allocated_storage_gib: Annotated[int, Field(ge=20, le=65536)]
    max_allocated_storage_gib: Annotated[int, Field(ge=20, le=65536)]
    multi_az: bool
    backup_retention_days: Annotated[int, Field(ge=1, le=35)]
    deletion_protection: bool
    performance_insights: bool

    @field_validator("instance_class")
    @classmethod
    def _instance_class_name(cls, value: str) -> str:
        return instance_type_name(value, "an RDS instance class like 't4g.small' (without the 'db.' prefix)")

    @model_validator(mode="after")
    def _consistent(self) -> DatabaseConfig:
        if self.max_allocated_storage_gib < self.allocated_storage_gib:
            raise ValueError(
                f"max_allocated_storage_gib ({self.max_allocated_storage_gib}) "
                f"< allocated_storage_gib ({self.allocated_storage_gib})"
            )
        size = self.instance_class.split(".", 1)[1]
        if self.performance_insights and size in {"micro", "small"}:
            raise ValueError(
                f"performance_insights is not available on {self.instance_class}; "
                "use a medium or larger class or turn it off"
            )
        return self

    def production_problems(self) -> list[ProductionProblem]:
        """A production database survives an AZ, an accidental delete and a bad week."""
        problems = []
        if not self.multi_az:
            problems.append(("database.multi_az", "must be true in a production env"))
        if not self.deletion_protection:
            problems.append(("database.deletion_protection", "must be true in a production env"))
        if self.backup_retention_days < 7:
            problems.append(("database.backup_retention_days", "must be at least 7 in a production env"))
        return problems
