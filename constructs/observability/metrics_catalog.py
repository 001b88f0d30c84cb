"""`observability/metrics.yaml` as data: the exporters the Prometheus agent scrapes and the metric names it keeps.

The file is the one list of names the rules and dashboards may use; a malformed file is a ConfigError (one line),
as a malformed helm_values file is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.settings import ConfigError

METRICS_FILE = Path(__file__).resolve().parents[2] / "observability" / "metrics.yaml"

# The series a metric of each type is exposed as, besides its own name.
SERIES_SUFFIXES = {
    "counter": (),
    "gauge": (),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metric(_Strict):
    name: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    type: Literal["counter", "gauge", "histogram", "summary"]
    # For metrics translated from another system (Airflow's StatsD): the name there.
    from_: str | None = Field(default=None, alias="from")

    @property
    def series(self) -> tuple[str, ...]:
        return (self.name, *(self.name + suffix for suffix in SERIES_SUFFIXES[self.type]))


class PodScrape(_Strict):
    """An exporter's pods: those of `namespace` with `pod_labels`, on their container port `port`."""

    namespace: str
    pod_labels: dict[str, str] = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    # For exporters that report on other pods (OpenCost): keep their namespace/pod labels over the target's.
    honor_labels: bool = False


class KubeletScrape(_Strict):
    """Every node's kubelet, on its HTTPS port, at `kubelet_path` (e.g. /metrics/cadvisor)."""

    kubelet_path: str = Field(pattern=r"^/metrics(/[a-z]+)?$")


class DropRule(_Strict):
    """Series to drop although their name is kept: label -> regex, all of which must match (an empty regex matches
    a missing label)."""

    labels: dict[str, str] = Field(min_length=1)


# What an exporter is deployed with, besides the metrics workspace.
Component = Literal["spark_operator", "opencost"]


class Exporter(_Strict):
    source: str
    scrape: PodScrape | KubeletScrape
    # Scraped only where this component is deployed.
    needs: Component | None = None
    # Instead of the env's metrics.scrape_interval, for exporters whose reader needs fewer samples.
    scrape_interval: str | None = Field(default=None, pattern=r"^[1-9][0-9]*(s|m)$")
    metrics: list[Metric] = Field(min_length=1)
    drop: list[DropRule] = []

    def interval(self, default: str) -> str:
        """How often the agent scrapes it: its own interval, else the env's."""
        return self.scrape_interval or default


class _Catalog(_Strict):
    exporters: dict[str, Exporter]


@dataclass(frozen=True)
class MetricsCatalog:
    exporters: dict[str, Exporter]

    def deployed(self, components: Mapping[str, bool]) -> dict[str, Exporter]:
        """The exporters of the components deployed (`components`: component -> deployed)."""
        return {
            name: exporter
            for name, exporter in self.exporters.items()
            if exporter.needs is None or components[exporter.needs]
        }

    def series(self) -> set[str]:
        """Every series name the agent keeps (plus `up`, which Prometheus writes for each target)."""
        return {"up", *(name for exporter in self.exporters.values() for m in exporter.metrics for name in m.series)}

    @staticmethod
    def keep_regex(exporter: Exporter) -> str:
        """The `__name__` regex that keeps exactly `exporter`'s series."""
        return "|".join(sorted(re.escape(name) for m in exporter.metrics for name in m.series))


def load_metrics_catalog(path: Path = METRICS_FILE) -> MetricsCatalog:
    label = f"observability/{path.name}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        catalog = _Catalog.model_validate(raw)
    except FileNotFoundError:
        raise ConfigError(f"{label}: no such file (the metrics the agent keeps are listed there)") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{label}: is not valid YAML ({getattr(err, 'problem', err)})") from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{label}: {where}: {first['msg']}") from None
    return MetricsCatalog(exporters=dict(catalog.exporters))
