"""The `network` section: the VPC's CIDR, how many AZs it spans, NAT gateways and interface endpoints.

It owns its own checks (private, pod-sized CIDR; NAT gateways within the AZs) and its production rule.
Whether the named AZs belong to the region is checked by AppConfig, which knows the region.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from config.settings.base import PositiveInt, ProductionProblem, StrictModel, parse_network


class NetworkConfig(StrictModel):
    vpc_cidr: str
    az_count: Annotated[int, Field(ge=2, le=3)]
    # Explicit AZ names keep synth offline; when omitted they are <region>a, <region>b, <region>c.
    availability_zones: list[str] | None = None
    nat_gateways: PositiveInt
    interface_endpoints: bool

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr_is_private_and_sized(cls, value: str) -> str:
        network = parse_network(value)
        if not network.is_private:
            raise ValueError(f"{value} is not a private (RFC 1918) range")
        if not 16 <= network.prefixlen <= 18:
            raise ValueError(f"{value} must be a /16 to /18 so pod-sized private subnets fit")
        return value

    @model_validator(mode="after")
    def _nat_within_azs(self) -> NetworkConfig:
        if self.nat_gateways > self.az_count:
            raise ValueError(f"nat_gateways ({self.nat_gateways}) must not exceed az_count ({self.az_count})")
        if self.availability_zones is not None:
            if len(set(self.availability_zones)) != len(self.availability_zones):
                raise ValueError("availability_zones lists an AZ twice")
            if len(self.availability_zones) < self.az_count:
                raise ValueError(
                    f"availability_zones names {len(self.availability_zones)} AZs, "
                    f"fewer than az_count ({self.az_count})"
                )
        return self

    def production_problems(self) -> list[ProductionProblem]:
        """A production env loses egress with one AZ unless every AZ has its own NAT gateway."""
        problems = []
        if self.nat_gateways != self.az_count:
            problems.append(("network.nat_gateways", "must equal az_count in a production env"))
        return problems
