"""CloudFormation custom resource: writes a fresh Fernet key into a Secrets Manager secret.

Secrets Manager's own generator cannot produce a Fernet key (32 random bytes, url-safe base64 with its '='
padding), so this one-shot function does, inside AWS at deploy time. The key is never returned to
CloudFormation, logged or written anywhere but the secret.
"""

import base64
import json
import os
import urllib.request

import boto3


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def _respond(event, context, status, reason=""):
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or f"See CloudWatch log stream {context.log_stream_name}",
            "PhysicalResourceId": event.get("PhysicalResourceId") or event["ResourceProperties"]["SecretArn"],
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": True,
            "Data": {},
        }
    ).encode("utf-8")
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"content-type": "", "content-length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - CloudFormation's presigned URL
        response.read()


def handler(event, context):
    try:
        secret_arn = event["ResourceProperties"]["SecretArn"]
        previous_arn = (event.get("OldResourceProperties") or {}).get("SecretArn")
        # Create, or Update onto another secret: write a key. Same secret on Update, or Delete: keep what is there,
        # since a new key would make every encrypted connection and variable unreadable.
        if event["RequestType"] == "Create" or (event["RequestType"] == "Update" and previous_arn != secret_arn):
            boto3.client("secretsmanager").put_secret_value(SecretId=secret_arn, SecretString=_fernet_key())
            event["PhysicalResourceId"] = secret_arn
        _respond(event, context, "SUCCESS")
    except Exception as err:  # noqa: BLE001 - any failure must reach CloudFormation or the stack hangs for an hour
        print(f"failed: {type(err).__name__}: {err}")
        _respond(event, context, "FAILED", f"{type(err).__name__}: {err}")
