"""CloudFormation custom resource: delivers the app's dashboards and its metrics data source to an existing Amazon
Managed Grafana workspace.

CloudFormation has no resource for what lives inside Grafana, so this one-shot function does it over Grafana's HTTP
API, with a token of the workspace's own service account that lives for one run (15 minutes at most) and is
deleted before the function returns. The token is never returned to CloudFormation or logged.

Create and Update put the data source, the folder and every dashboard (by their fixed uids, overwriting what the
UI changed: the repository is the source, but never an object of the same uid that is not this deployment's);
Update also deletes the dashboards the new properties no longer list. Delete removes the dashboards, the folder, the
data source and, once they are gone, the service account, so `cdk destroy` leaves the workspace as it found it.
"""

import json
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

TOKEN_SECONDS = 900
# Every call fails fast, so the function answers CloudFormation well inside its timeout.
HTTP_TIMEOUT_SECONDS = 20
AWS_CONFIG = Config(connect_timeout=10, read_timeout=20, retries={"total_max_attempts": 3, "mode": "standard"})
# The Amazon Managed Service for Prometheus plugin: the type every dashboard panel names, AMG's AMP source from
# Grafana 12.
PLUGIN_TYPE = "grafana-amazonprometheus-datasource"
MIN_GRAFANA_MAJOR = 12


class GrafanaApi:
    def __init__(self, endpoint, token):
        self.base = f"https://{endpoint}"
        self.token = token

    def call(self, method, path, body=None, missing_ok=False):
        """The decoded JSON answer; None for a 404 when `missing_ok`."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310 - https
                text = response.read()
        except urllib.error.HTTPError as err:
            if err.code == 404 and missing_ok:
                return None
            raise RuntimeError(f"{method} {path}: HTTP {err.code} {err.read()[:300]!r}") from None
        return json.loads(text) if text else {}


def data_source_body(props):
    source = props["DataSource"]
    return {
        "uid": source["Uid"],
        "name": source["Name"],
        "type": PLUGIN_TYPE,
        "access": "proxy",
        "url": source["Url"],
        "isDefault": False,
        "jsonData": {
            "httpMethod": "POST",
            "sigV4Auth": True,
            # "Workspace IAM role" in AMG's UI: the workspace's own role signs, so no key is stored in Grafana.
            "sigV4AuthType": "ec2_iam_role",
            "sigV4Region": source["Region"],
            "sigv4Service": "aps",
        },
    }


def check_version(grafana_version):
    """The dashboards name the AMP plugin's data source type, which AMG offers from Grafana 12."""
    major = int(str(grafana_version).split(".")[0])
    if major < MIN_GRAFANA_MAJOR:
        raise RuntimeError(
            f"the workspace runs Grafana {grafana_version}; the dashboards need {MIN_GRAFANA_MAJOR} or later (the "
            "Amazon Managed Service for Prometheus plugin): upgrade the workspace's Grafana version"
        )


def check_plugin(api):
    """AMG offers the plugin from Grafana 12, but a workspace may still have to install it from its catalog."""
    if api.call("GET", f"/api/plugins/{PLUGIN_TYPE}/settings", missing_ok=True) is None:
        raise RuntimeError(
            f"the workspace has no {PLUGIN_TYPE} plugin: install Amazon Managed Service for Prometheus from the "
            "workspace's plugin catalog (Administration > Plugins), then deploy again"
        )


def refuse_foreign(kind, uid, found, ours):
    """Only what this deployment put there is overwritten or deleted: an object with our uid but not our name is
    someone else's."""
    if found is not None and not ours(found):
        raise RuntimeError(
            f"{kind} uid {uid} exists in the workspace and is not this deployment's: rename or remove it"
        )


def put_data_source(api, body):
    path = f"/api/datasources/uid/{body['uid']}"
    found = api.call("GET", path, missing_ok=True)
    refuse_foreign("data source", body["uid"], found, lambda f: f.get("name") == body["name"])
    if found is None:
        api.call("POST", "/api/datasources", body)
    else:
        api.call("PUT", path, body)


def put_folder(api, folder):
    path = f"/api/folders/{folder['Uid']}"
    found = api.call("GET", path, missing_ok=True)
    refuse_foreign("folder", folder["Uid"], found, lambda f: f.get("title") == folder["Title"])
    if found is None:
        api.call("POST", "/api/folders", {"uid": folder["Uid"], "title": folder["Title"]})


def put_dashboards(api, folder_uid, dashboards):
    for text in dashboards.values():
        dashboard = json.loads(text)
        found = api.call("GET", f"/api/dashboards/uid/{dashboard['uid']}", missing_ok=True)
        refuse_foreign(
            "dashboard", dashboard["uid"], found, lambda f: (f.get("meta") or {}).get("folderUid") == folder_uid
        )
        dashboard["id"] = None
        api.call(
            "POST",
            "/api/dashboards/db",
            {"dashboard": dashboard, "folderUid": folder_uid, "overwrite": True, "message": "cdk deploy"},
        )


def dashboard_uids(dashboards):
    return {json.loads(text)["uid"] for text in dashboards.values()}


def delete_all(api, props):
    for uid in sorted(dashboard_uids(props["Dashboards"])):
        api.call("DELETE", f"/api/dashboards/uid/{uid}", missing_ok=True)
    # Alert rules a user put in the folder go with it, as its dashboards do.
    api.call("DELETE", f"/api/folders/{props['Folder']['Uid']}?forceDeleteRules=true", missing_ok=True)
    api.call("DELETE", f"/api/datasources/uid/{props['DataSource']['Uid']}", missing_ok=True)


def health(api, uid):
    """The data source's own check (can the workspace's role query AMP?), as one line for the stack's output."""
    try:
        answer = api.call("GET", f"/api/datasources/uid/{uid}/health")
    except RuntimeError as err:
        return f"check failed: {err}"[:250]
    return f"{answer.get('status', '?')}: {answer.get('message', '')}"[:250]


def service_account_id(grafana, workspace_id, name):
    token = None
    while True:
        page = grafana.list_workspace_service_accounts(
            workspaceId=workspace_id, **({"nextToken": token} if token else {})
        )
        for account in page.get("serviceAccounts", []):
            if account["name"] == name:
                return account["id"]
        token = page.get("nextToken")
        if not token:
            break
    # Admin: creating a data source needs the organisation's admin role.
    return grafana.create_workspace_service_account(workspaceId=workspace_id, name=name, grafanaRole="ADMIN")["id"]


def run(event):
    props = event["ResourceProperties"]
    workspace_id = props["WorkspaceId"]
    grafana = boto3.client("grafana", config=AWS_CONFIG)
    deleting = event["RequestType"] == "Delete"
    try:
        workspace = grafana.describe_workspace(workspaceId=workspace_id)["workspace"]
    except (grafana.exceptions.ResourceNotFoundException, grafana.exceptions.AccessDeniedException) as err:
        # Deleting: the workspace is gone (and with it everything this put there), or this role never reached it
        # (a Create that failed so, now rolled back), so there is nothing to remove.
        if deleting:
            print(f"nothing to delete: {type(err).__name__}")
            return {}
        raise
    if not deleting:
        check_version(workspace["grafanaVersion"])
    # Deleting creates the account too if it is gone, so the cleanup can always run.
    account_id = service_account_id(grafana, workspace_id, props["ServiceAccountName"])
    token = grafana.create_workspace_service_account_token(
        workspaceId=workspace_id,
        serviceAccountId=account_id,
        name=f"cdk-{event['RequestId'][:60]}",
        secondsToLive=TOKEN_SECONDS,
    )["serviceAccountToken"]
    try:
        api = GrafanaApi(workspace["endpoint"], token["key"])
        if deleting:
            delete_all(api, props)
            data = {}
        else:
            check_plugin(api)
            put_data_source(api, data_source_body(props))
            put_folder(api, props["Folder"])
            put_dashboards(api, props["Folder"]["Uid"], props["Dashboards"])
            previous = (event.get("OldResourceProperties") or {}).get("Dashboards") or {}
            for uid in sorted(dashboard_uids(previous) - dashboard_uids(props["Dashboards"])):
                api.call("DELETE", f"/api/dashboards/uid/{uid}", missing_ok=True)
            data = {"DataSourceHealth": health(api, props["DataSource"]["Uid"])}
    finally:
        grafana.delete_workspace_service_account_token(
            workspaceId=workspace_id, serviceAccountId=account_id, tokenId=token["id"]
        )
    if deleting:
        # Only once everything it owned is gone: a failed delete keeps the account for the retry.
        grafana.delete_workspace_service_account(workspaceId=workspace_id, serviceAccountId=account_id)
    return data


def _respond(event, context, status, data, reason=""):
    props = event["ResourceProperties"]
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or f"See CloudWatch log stream {context.log_stream_name}",
            # A new workspace or folder is a new resource: CloudFormation then deletes the old one's content.
            "PhysicalResourceId": f"{props['WorkspaceId']}/{props['Folder']['Uid']}",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode("utf-8")
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"content-type": "", "content-length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - CloudFormation's presigned URL
        response.read()


def handler(event, context):
    try:
        data = run(event)
        _respond(event, context, "SUCCESS", data)
    except Exception as err:  # noqa: BLE001 - any failure must reach CloudFormation or the stack hangs for an hour
        print(f"failed: {type(err).__name__}: {err}")
        _respond(event, context, "FAILED", {}, f"{type(err).__name__}: {err}"[:500])
