"""The deploy-time writer produces a valid Fernet key and never hands it back to CloudFormation."""

from __future__ import annotations

import base64
import json
import types

from constructs.data.airflow_secrets import FERNET_HANDLER_DIR
from tests.handlers import FakeResponse, load_handler


def _load_handler(monkeypatch, put_calls: list, responses: list):
    fake_boto3 = types.SimpleNamespace(
        client=lambda name: types.SimpleNamespace(put_secret_value=lambda **kw: put_calls.append(kw))
    )
    module = load_handler(monkeypatch, FERNET_HANDLER_DIR, modules={"boto3": fake_boto3})

    def fake_urlopen(request, timeout):
        responses.append(json.loads(request.data))
        return FakeResponse(b"")

    monkeypatch.setattr(module.urllib.request, "urlopen", fake_urlopen)
    return module


def _event(request_type: str, arn: str = "arn:secret:a", old_arn: str | None = None) -> dict:
    event = {
        "RequestType": request_type,
        "ResponseURL": "https://example.invalid/cfn",
        "StackId": "stack",
        "RequestId": "req",
        "LogicalResourceId": "FernetKeyValue",
        "ResourceProperties": {"SecretArn": arn},
    }
    if old_arn:
        event["OldResourceProperties"] = {"SecretArn": old_arn}
        event["PhysicalResourceId"] = old_arn
    return event


CONTEXT = types.SimpleNamespace(log_stream_name="stream")


def test_create_writes_a_valid_fernet_key_and_returns_no_data(monkeypatch) -> None:
    put_calls, responses = [], []
    handler = _load_handler(monkeypatch, put_calls, responses)
    handler.handler(_event("Create"), CONTEXT)
    (call,) = put_calls
    key = call["SecretString"]
    assert len(base64.urlsafe_b64decode(key.encode())) == 32 and len(key) == 44 and key.endswith("=")
    (response,) = responses
    assert response["Status"] == "SUCCESS" and response["Data"] == {} and response["NoEcho"] is True
    assert key not in json.dumps(response)


def test_keys_differ_between_creates(monkeypatch) -> None:
    put_calls, responses = [], []
    handler = _load_handler(monkeypatch, put_calls, responses)
    handler.handler(_event("Create"), CONTEXT)
    handler.handler(_event("Create"), CONTEXT)
    assert put_calls[0]["SecretString"] != put_calls[1]["SecretString"]


def test_update_of_the_same_secret_and_delete_keep_the_key(monkeypatch) -> None:
    put_calls, responses = [], []
    handler = _load_handler(monkeypatch, put_calls, responses)
    handler.handler(_event("Update", "arn:secret:a", old_arn="arn:secret:a"), CONTEXT)
    handler.handler(_event("Delete", "arn:secret:a", old_arn="arn:secret:a"), CONTEXT)
    assert put_calls == []
    assert [r["Status"] for r in responses] == ["SUCCESS", "SUCCESS"]


def test_failure_is_reported_to_cloudformation(monkeypatch) -> None:
    responses = []
    handler = _load_handler(monkeypatch, [], responses)
    monkeypatch.setattr(handler, "boto3", types.SimpleNamespace(client=lambda name: 1 / 0))
    handler.handler(_event("Create"), CONTEXT)
    assert responses[0]["Status"] == "FAILED" and "ZeroDivisionError" in responses[0]["Reason"]
