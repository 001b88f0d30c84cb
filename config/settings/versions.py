"""`versions.yaml`: every version the app deploys (CDK, Kubernetes, PostgreSQL, EKS add-ons, Helm charts, AMI).

It owns the checks within that file, such as the Karpenter CRD chart matching the controller chart.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from config.settings.base import ConfigKeyError, StrictModel


class KubernetesVersions(StrictModel):
    supported: Annotated[list[str], Field(min_length=1)]


class PostgresVersion(StrictModel):
    full: Annotated[str, Field(pattern=r"^\d+\.\d+$")]
    major: Annotated[str, Field(pattern=r"^\d+$")]

    @model_validator(mode="after")
    def _full_matches_major(self) -> PostgresVersion:
        if self.full.split(".")[0] != self.major:
            raise ValueError(f"full version {self.full} is not of major {self.major}")
        return self


class HelmChartVersion(StrictModel):
    repository: Annotated[str, Field(pattern=r"^(https|oci)://")]
    chart: str
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]

    @model_validator(mode="after")
    def _oci_names_chart(self) -> HelmChartVersion:
        # For OCI, Helm pulls `repository` itself: the chart is its last path segment.
        if self.repository.startswith("oci://") and not self.repository.endswith(f"/{self.chart}"):
            raise ConfigKeyError("repository", f"an OCI repository must end with the chart name /{self.chart}")
        return self


class HelmCharts(StrictModel):
    karpenter_crd: HelmChartVersion
    karpenter: HelmChartVersion
    aws_load_balancer_controller: HelmChartVersion
    external_secrets: HelmChartVersion
    airflow: HelmChartVersion
    spark_operator: HelmChartVersion
    aws_for_fluent_bit: HelmChartVersion
    cluster_autoscaler: HelmChartVersion
    grafana: HelmChartVersion
    opencost: HelmChartVersion

    @model_validator(mode="after")
    def _karpenter_crds_match(self) -> HelmCharts:
        if self.karpenter_crd.version != self.karpenter.version:
            raise ConfigKeyError(
                "karpenter_crd.version",
                f"{self.karpenter_crd.version} differs from karpenter.version {self.karpenter.version}; "
                "the CRDs must match the controller",
            )
        return self


class AirflowVersion(StrictModel):
    """The Airflow release the chart runs: its airflowVersion and the official image's tag, kept together."""

    version: Annotated[str, Field(pattern=r"^3\.\d+\.\d+$")]
    image_repository: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9./_-]*$")]
    image_tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]

    @model_validator(mode="after")
    def _tag_matches_version(self) -> AirflowVersion:
        # The chart renders config and migrations for airflowVersion; an image of another release breaks both.
        if self.image_tag != self.version and not self.image_tag.startswith(f"{self.version}-"):
            raise ConfigKeyError("image_tag", f"{self.image_tag!r} is not an image of Airflow {self.version}")
        return self


class SparkVersion(StrictModel):
    """The Spark the example jobs and the History Server run: the official image, the architectures it is built
    for, and the S3A connector matching its Hadoop (the image has no S3 support of its own)."""

    version: Annotated[str, Field(pattern=r"^4\.\d+\.\d+$")]
    image_repository: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9./_-]*$")]
    image_tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    architectures: Annotated[list[Literal["amd64", "arm64"]], Field(min_length=1)]
    # hadoop-client-* in the Spark distribution: hadoop-aws must be the same release.
    hadoop_version: Annotated[str, Field(pattern=r"^3\.\d+\.\d+$")]
    # The AWS SDK v2 bundle that hadoop-aws <hadoop_version> is built against (hadoop-project/pom.xml).
    aws_sdk_bundle_version: Annotated[str, Field(pattern=r"^2\.\d+\.\d+$")]

    @model_validator(mode="after")
    def _tag_matches_version(self) -> SparkVersion:
        if not self.image_tag.startswith(f"{self.version}-") and self.image_tag != self.version:
            raise ConfigKeyError("image_tag", f"{self.image_tag!r} is not an image of Spark {self.version}")
        return self

    @property
    def image(self) -> str:
        return f"{self.image_repository}:{self.image_tag}"


class GrafanaPlugins(StrictModel):
    """Grafana plugins the app installs, by their grafana.com version."""

    amazon_prometheus: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]


class ImageVersion(StrictModel):
    """A container image the app runs from its own manifests (not a chart's default image)."""

    image_repository: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9./_-]*$")]
    image_tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]

    @property
    def image(self) -> str:
        return f"{self.image_repository}:{self.image_tag}"


# "default": the version EKS marks default for the cluster's Kubernetes minor, fixed when the add-on is created.
AddonVersion = Annotated[str, Field(pattern=r"^(default|v\d+\.\d+\.\d+-eksbuild\.\d+)$")]


class Versions(StrictModel):
    """`versions.yaml`: every version the app deploys, in one place."""

    aws_cdk_lib: str
    cdk_cli: str
    kubernetes: KubernetesVersions
    postgres: PostgresVersion
    eks_addons: dict[str, AddonVersion]
    helm_charts: HelmCharts
    airflow: AirflowVersion
    spark: SparkVersion
    prometheus: ImageVersion
    aws_sigv4_proxy: ImageVersion
    grafana_plugins: GrafanaPlugins
    # Karpenter's EC2NodeClass AMI alias: al2023@latest or a pinned release such as al2023@v20261101.
    karpenter_ami_alias: Annotated[str, Field(pattern=r"^al2023@(latest|v\d{8})$")]
