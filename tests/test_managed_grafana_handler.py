"""The deploy-time delivery to Amazon Managed Grafana, against a stubbed AMG API and an in-memory Grafana: it puts
the data source, folder and dashboards, removes what it put there (and nothing else) on delete, refuses a Grafana
too old for the dashboards before touching the workspace, and never hands its token to CloudFormation."""

from __future__ import annotations

import io
import json
import types
import urllib.error

import pytest

from constructs.observability.managed_grafana import MANAGED_GRAFANA_HANDLER_DIR
from tests.handlers import FakeResponse, load_handler

WORKSPACE = "g-0123456789"
TOKEN_KEY = "glsa_not-a-real-token"


class ResourceNotFound(Exception):
    pass


class AccessDenied(Exception):
    pass


class FakeAmg:
    """The AMG API calls the handler makes, recording them."""

    exceptions = types.SimpleNamespace(ResourceNotFoundException=ResourceNotFound, AccessDeniedException=AccessDenied)

    def __init__(self, version: str = "12.4", exists: bool = True) -> None:
        self.version, self.exists = version, exists
        self.accounts: dict[str, str] = {}
        self.tokens: set[str] = set()
        self.calls: list[str] = []

    def describe_workspace(self, workspaceId):
        self.calls.append("describe_workspace")
        if not self.exists:
            raise ResourceNotFound(workspaceId)
        endpoint = f"{workspaceId}.grafana-workspace.us-west-2.amazonaws.com"
        return {"workspace": {"endpoint": endpoint, "grafanaVersion": self.version}}

    def list_workspace_service_accounts(self, workspaceId, **kwargs):
        return {"serviceAccounts": [{"id": i, "name": n} for n, i in self.accounts.items()]}

    def create_workspace_service_account(self, workspaceId, name, grafanaRole):
        self.calls.append(f"create_account {grafanaRole}")
        self.accounts[name] = f"sa-{len(self.accounts) + 1}"
        return {"id": self.accounts[name]}

    def delete_workspace_service_account(self, workspaceId, serviceAccountId):
        self.calls.append("delete_account")
        self.accounts = {n: i for n, i in self.accounts.items() if i != serviceAccountId}

    def create_workspace_service_account_token(self, workspaceId, serviceAccountId, name, secondsToLive):
        assert secondsToLive <= 900
        self.tokens.add("tok-1")
        return {"serviceAccountToken": {"id": "tok-1", "key": TOKEN_KEY}}

    def delete_workspace_service_account_token(self, workspaceId, serviceAccountId, tokenId):
        self.tokens.discard(tokenId)


class FakeGrafana:
    """Grafana's plugin, folder, data source and dashboard API, in memory, answering GETs in Grafana's shapes."""

    def __init__(self, plugin: bool = True) -> None:
        self.objects: dict[str, dict] = {}
        self.plugin = plugin
        # Deletes under this path fail with a 500, as a locked database would.
        self.failing_deletes: str | None = None

    def __call__(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        path = path.split("?", 1)[0]
        if method == "DELETE" and self.failing_deletes and path.startswith(self.failing_deletes):
            return 500, {"message": "database is locked"}
        if path.endswith("/health"):
            return 200, {"status": "OK", "message": "Successfully queried the Prometheus API."}
        if path == "/api/plugins/grafana-amazonprometheus-datasource/settings":
            return (200, {"id": "grafana-amazonprometheus-datasource"}) if self.plugin else (404, {})
        if method == "POST" and path == "/api/datasources":
            return self._put(f"/api/datasources/uid/{body['uid']}", body)
        if method == "POST" and path == "/api/folders":
            return self._put(f"/api/folders/{body['uid']}", body)
        if method == "POST" and path == "/api/dashboards/db":
            assert body["overwrite"] is True and body["dashboard"]["id"] is None
            stored = {"dashboard": body["dashboard"], "meta": {"folderUid": body["folderUid"]}}
            return self._put(f"/api/dashboards/uid/{body['dashboard']['uid']}", stored)
        if method == "PUT":
            return self._put(path, body)
        if path not in self.objects:
            return 404, {"message": "not found"}
        if method == "DELETE":
            del self.objects[path]
            return 200, {}
        return 200, self.objects[path]

    def _put(self, path: str, body: dict) -> tuple[int, dict]:
        self.objects[path] = body
        return 200, {}


def _load(monkeypatch, amg: FakeAmg, grafana: FakeGrafana, responses: list):
    botocore_config = types.SimpleNamespace(Config=lambda **kwargs: kwargs)
    module = load_handler(
        monkeypatch,
        MANAGED_GRAFANA_HANDLER_DIR,
        modules={
            "botocore": types.SimpleNamespace(config=botocore_config),
            "botocore.config": botocore_config,
            "boto3": types.SimpleNamespace(client=lambda name, config: amg),
        },
    )

    def fake_urlopen(request, timeout):
        url = request.full_url
        if url.startswith("https://cloudformation.invalid/"):
            responses.append(json.loads(request.data))
            return FakeResponse(b"")
        assert url.startswith(f"https://{WORKSPACE}.grafana-workspace.us-west-2.amazonaws.com/"), url
        assert request.get_header("Authorization") == f"Bearer {TOKEN_KEY}"
        path = url.split(".amazonaws.com", 1)[1]
        status, answer = grafana(request.get_method(), path, json.loads(request.data) if request.data else None)
        if status >= 400:
            raise urllib.error.HTTPError(url, status, "error", {}, io.BytesIO(json.dumps(answer).encode()))
        return FakeResponse(json.dumps(answer).encode())

    monkeypatch.setattr(module.urllib.request, "urlopen", fake_urlopen)
    return module


def _dashboard(uid: str) -> str:
    return json.dumps({"uid": uid, "title": uid, "panels": []})


def _properties(*dashboards: str) -> dict:
    return {
        "WorkspaceId": WORKSPACE,
        "ServiceAccountName": "airflow-dev-dashboards",
        "DataSource": {
            "Uid": "airflow-dev-amp",
            "Name": "Amazon Managed Prometheus (airflow-dev)",
            "Url": "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/",
            "Region": "us-west-2",
        },
        "Folder": {"Uid": "airflow-dev", "Title": "Airflow on EKS (airflow-dev)"},
        "Dashboards": {name: _dashboard(f"airflow-dev-{name}") for name in dashboards},
    }


def _event(request_type: str, properties: dict, old: dict | None = None) -> dict:
    event = {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation.invalid/response",
        "StackId": "stack",
        "RequestId": "0f1e2d3c-request",
        "LogicalResourceId": "ManagedGrafanaDashboards",
        "ResourceProperties": properties,
    }
    if old is not None:
        event["OldResourceProperties"] = old
    return event


CONTEXT = types.SimpleNamespace(log_stream_name="stream")


@pytest.fixture
def world(monkeypatch):
    amg, grafana, responses = FakeAmg(), FakeGrafana(), []
    return amg, grafana, responses, _load(monkeypatch, amg, grafana, responses)


def test_create_puts_the_source_folder_and_dashboards_and_reports_the_source_health(world) -> None:
    amg, grafana, responses, handler = world
    handler.handler(_event("Create", _properties("airflow", "karpenter")), CONTEXT)
    (response,) = responses
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"] == f"{WORKSPACE}/airflow-dev"
    assert response["Data"] == {"DataSourceHealth": "OK: Successfully queried the Prometheus API."}
    assert set(grafana.objects) == {
        "/api/datasources/uid/airflow-dev-amp",
        "/api/folders/airflow-dev",
        "/api/dashboards/uid/airflow-dev-airflow",
        "/api/dashboards/uid/airflow-dev-karpenter",
    }
    source = grafana.objects["/api/datasources/uid/airflow-dev-amp"]
    assert source["type"] == "grafana-amazonprometheus-datasource"
    # Signed by the workspace's own role: no key is stored in Grafana.
    assert source["jsonData"]["sigV4AuthType"] == "ec2_iam_role" and "secureJsonData" not in source
    assert grafana.objects["/api/dashboards/uid/airflow-dev-airflow"]["meta"]["folderUid"] == "airflow-dev"
    assert amg.calls.count("create_account ADMIN") == 1
    assert amg.tokens == set(), "the run's token is deleted before it returns"
    assert TOKEN_KEY not in json.dumps(responses)


def test_update_overwrites_and_removes_only_the_dashboards_no_longer_listed(world) -> None:
    amg, grafana, responses, handler = world
    handler.handler(_event("Create", _properties("airflow", "karpenter", "spark")), CONTEXT)
    grafana.objects["/api/dashboards/uid/someone-elses"] = {"dashboard": {"uid": "someone-elses"}, "meta": {}}
    handler.handler(
        _event("Update", _properties("airflow", "karpenter"), old=_properties("airflow", "karpenter", "spark")),
        CONTEXT,
    )
    assert [r["Status"] for r in responses] == ["SUCCESS", "SUCCESS"]
    dashboards = {path for path in grafana.objects if path.startswith("/api/dashboards/")}
    assert dashboards == {
        "/api/dashboards/uid/airflow-dev-airflow",
        "/api/dashboards/uid/airflow-dev-karpenter",
        "/api/dashboards/uid/someone-elses",
    }
    assert amg.calls.count("create_account ADMIN") == 1, "the service account is reused"


def test_delete_leaves_the_workspace_as_it_found_it(world) -> None:
    amg, grafana, responses, handler = world
    grafana.objects["/api/dashboards/uid/someone-elses"] = {"dashboard": {"uid": "someone-elses"}, "meta": {}}
    handler.handler(_event("Create", _properties("airflow")), CONTEXT)
    handler.handler(_event("Delete", _properties("airflow")), CONTEXT)
    assert [r["Status"] for r in responses] == ["SUCCESS", "SUCCESS"]
    assert set(grafana.objects) == {"/api/dashboards/uid/someone-elses"}
    assert amg.accounts == {} and amg.tokens == set()


def test_a_grafana_older_than_12_is_refused_before_anything_is_created(monkeypatch) -> None:
    amg, grafana, responses = FakeAmg(version="10.4"), FakeGrafana(), []
    handler = _load(monkeypatch, amg, grafana, responses)
    handler.handler(_event("Create", _properties("airflow")), CONTEXT)
    (response,) = responses
    assert response["Status"] == "FAILED"
    assert "Grafana 10.4" in response["Reason"] and "12 or later" in response["Reason"]
    assert amg.accounts == {} and grafana.objects == {}


def test_deleting_after_the_workspace_is_gone_succeeds(monkeypatch) -> None:
    amg, grafana, responses = FakeAmg(exists=False), FakeGrafana(), []
    handler = _load(monkeypatch, amg, grafana, responses)
    handler.handler(_event("Delete", _properties("airflow")), CONTEXT)
    assert [r["Status"] for r in responses] == ["SUCCESS"]
    # Creating in a workspace that does not exist fails the deploy, naming the error.
    handler.handler(_event("Create", _properties("airflow")), CONTEXT)
    assert responses[-1]["Status"] == "FAILED" and "ResourceNotFound" in responses[-1]["Reason"]


def test_objects_of_the_same_uid_that_are_not_this_deployments_are_left_alone(world) -> None:
    amg, grafana, responses, handler = world
    theirs = {"uid": "airflow-dev", "title": "Team dashboards"}
    grafana.objects["/api/folders/airflow-dev"] = theirs
    handler.handler(_event("Create", _properties("airflow")), CONTEXT)
    assert responses[-1]["Status"] == "FAILED"
    assert "folder uid airflow-dev exists in the workspace and is not this deployment's" in responses[-1]["Reason"]
    assert grafana.objects["/api/folders/airflow-dev"] is theirs
    assert "/api/dashboards/uid/airflow-dev-airflow" not in grafana.objects
    assert amg.tokens == set()


def test_a_workspace_without_the_amp_plugin_fails_with_what_to_install(monkeypatch) -> None:
    amg, grafana, responses = FakeAmg(), FakeGrafana(plugin=False), []
    handler = _load(monkeypatch, amg, grafana, responses)
    handler.handler(_event("Create", _properties("airflow")), CONTEXT)
    assert responses[-1]["Status"] == "FAILED" and "plugin catalog" in responses[-1]["Reason"]
    assert grafana.objects == {}


def test_a_failed_delete_keeps_the_service_account_so_a_retry_can_finish(world) -> None:
    amg, grafana, responses, handler = world
    handler.handler(_event("Create", _properties("airflow")), CONTEXT)
    grafana.failing_deletes = "/api/folders/"
    handler.handler(_event("Delete", _properties("airflow")), CONTEXT)
    assert responses[-1]["Status"] == "FAILED"
    assert list(amg.accounts) == ["airflow-dev-dashboards"] and amg.tokens == set()
    grafana.failing_deletes = None
    handler.handler(_event("Delete", _properties("airflow")), CONTEXT)
    assert responses[-1]["Status"] == "SUCCESS"
    assert grafana.objects == {} and amg.accounts == {}


def test_deleting_what_this_role_never_reached_succeeds(monkeypatch) -> None:
    amg, grafana, responses = FakeAmg(), FakeGrafana(), []

    def denied(workspaceId):
        raise AccessDenied(workspaceId)

    amg.describe_workspace = denied
    handler = _load(monkeypatch, amg, grafana, responses)
    handler.handler(_event("Delete", _properties("airflow")), CONTEXT)
    assert [r["Status"] for r in responses] == ["SUCCESS"]
