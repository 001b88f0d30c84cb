"""The `airflow` section: how many replicas the Airflow components run, how users reach the UI, where DAGs come from.

It owns the checks within the section (a certificate needs the host it covers; git-sync needs its repository) and
Airflow's production rules. Checks against the app root (the certificate's region, the CIDRs an internet-facing
ALB admits) live in app.py, which sees both.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from config.settings.base import Duration, K8sName, ProductionProblem, StrictModel

ACM_CERTIFICATE_ARN = r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$"
DNS_NAME = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class IngressConfig(StrictModel):
    # internal: reachable from the VPC (and networks routed into it) only. internet-facing: admits only the
    # app's allowed_ingress_cidrs and needs a certificate, so no password crosses the internet in clear text.
    scheme: Literal["internal", "internet-facing"]
    # An ACM certificate in the app's region: the ALB then serves HTTPS on 443 and redirects 80 to it.
    certificate_arn: Annotated[str, Field(pattern=ACM_CERTIFICATE_ARN)] | None = None
    # The DNS name users open (one the certificate covers); Airflow's [api] base_url is built from it.
    host: Annotated[str, Field(pattern=DNS_NAME, max_length=253)] | None = None

    @model_validator(mode="after")
    def _certificate_has_host(self) -> IngressConfig:
        if self.certificate_arn is not None and self.host is None:
            raise ValueError("certificate_arn needs host: the DNS name the certificate covers, which users open")
        if self.scheme == "internet-facing" and self.certificate_arn is None:
            raise ValueError(
                "an internet-facing ALB needs certificate_arn (and host): logins must not cross the internet "
                "over plain HTTP"
            )
        return self

    @property
    def base_url(self) -> str | None:
        """Airflow's [api] base_url: only when users open a known HTTPS name; otherwise Airflow's own default."""
        return f"https://{self.host}" if self.certificate_arn is not None else None


class GitSyncConfig(StrictModel):
    # A repository the cluster can clone anonymously over HTTPS (private repositories need a credentials secret).
    repository: Annotated[str, Field(pattern=r"^https://[^\s]+$")]
    branch: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._/-]+$")]
    # The folder of the repository that holds the DAGs ("" for its root).
    sub_path: Annotated[str, Field(pattern=r"^([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$")] = ""
    period: Duration = "60s"


class DagsConfig(StrictModel):
    # deploy: `cdk deploy` puts this repository's dags/ on the DAG volume (atomically, deleted files disappear).
    # git_sync: a git-sync sidecar keeps the same volume in step with a branch instead.
    source: Literal["deploy", "git_sync"]
    git_sync: GitSyncConfig | None = None

    @model_validator(mode="after")
    def _git_sync_when_chosen(self) -> DagsConfig:
        if self.source == "git_sync" and self.git_sync is None:
            raise ValueError("source git_sync needs a git_sync section (repository, branch)")
        if self.source == "deploy" and self.git_sync is not None:
            raise ValueError("git_sync is set but source is deploy; set source: git_sync or remove git_sync")
        return self


class AirflowConfig(StrictModel):
    # Each api-server replica is a uvicorn process holding about 1-2 GiB; two survive a node drain.
    api_server_replicas: Annotated[int, Field(ge=1, le=10)]
    # Airflow 3 schedulers run active-active on the metadata DB's row locks.
    scheduler_replicas: Annotated[int, Field(ge=1, le=5)]
    # The Karpenter NodePool (cluster.karpenter.node_pools) KubernetesExecutor task pods are placed on.
    task_node_pool: K8sName
    ingress: IngressConfig
    dags: DagsConfig

    def production_problems(self) -> list[ProductionProblem]:
        """A production Airflow keeps its UI and its scheduling through a node drain."""
        problems = []
        if self.api_server_replicas < 2:
            problems.append(("airflow.api_server_replicas", "must be at least 2 in a production env"))
        if self.scheduler_replicas < 2:
            problems.append(("airflow.scheduler_replicas", "must be at least 2 in a production env"))
        return problems
