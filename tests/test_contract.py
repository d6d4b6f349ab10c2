"""The OpenAPI document is a contract a client can be generated from, without the code.

Explicit camelCase operation ids, described tags, servers, examples for every body and main
answer, enums for every closed set, 400 wherever a body is read, the partner protocol, and
the published problem types.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app.errors import PROBLEM_BASE, problem_types
from app.models import EventAction, TaskAction, TaskStatus
from app.openapi import render
from app.partners import PARTNERS, System
from app.protocol import PartnerAck, PartnerCallback, PartnerRequest, PortalNotification

DOC: dict[str, Any] = json.loads(render())
SCHEMAS: dict[str, Any] = DOC["components"]["schemas"]
OPERATIONS = [(path, method, op) for path, item in DOC["paths"].items()
              for method, op in item.items()]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_operation_has_an_explicit_camel_case_id() -> None:
    ids = [op["operationId"] for _p, _m, op in OPERATIONS]
    ids += [op["operationId"] for item in DOC["webhooks"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", operation_id), operation_id
    assert {"createRequest", "verifyRequest", "downloadResponse", "completeTask",
            "receivePartnerCallback"} <= set(ids)


def test_tags_are_described_and_servers_named() -> None:
    described = {tag["name"]: tag["description"] for tag in DOC["tags"]}
    assert all(described.values())
    for _path, _method, operation in OPERATIONS:
        assert set(operation["tags"]) <= set(described)
    assert [s["url"] for s in DOC["servers"]] == ["https://dsr.connect2ip.se",
                                                  "http://127.0.0.1:8000"]


def test_every_body_has_examples_and_documents_400_413_422() -> None:
    for path, method, operation in OPERATIONS:
        body = operation.get("requestBody")
        if body is None:
            continue
        schema = body["content"]["application/json"]["schema"]
        members = schema.get("oneOf") or [schema]
        for member in members:
            assert resolve(member).get("examples"), (method, path)
        for code in ("400", "413", "422"):
            assert code in operation["responses"], (method, path, code)


def test_main_answers_have_schemas_with_examples() -> None:
    for path, method, operation in OPERATIONS:
        for code, answer in operation["responses"].items():
            if not code.startswith("2") or "application/json" not in answer.get("content", {}):
                continue
            schema = answer["content"]["application/json"]["schema"]
            target = resolve(schema.get("items", schema))
            assert target.get("examples") or target.get("properties"), (method, path)
    for name in ("RequestOut", "RequestPage", "EventsOut", "LinkOut", "WebhookAck", "Problem",
                 "Readiness", "Health", "TaskOut", "NotificationOut"):
        assert SCHEMAS[name].get("examples"), name
    ready = DOC["paths"]["/readyz"]["get"]["responses"]
    for code in ("200", "503"):
        assert resolve(ready[code]["content"]["application/json"]["schema"])["properties"]


def _enum_of(model: str, field: str) -> list[str]:
    prop = SCHEMAS[model]["properties"][field]
    options = prop.get("anyOf", [prop])
    for option in options:
        target = resolve(option)
        if "enum" in target:
            return list(target["enum"])
    raise AssertionError(f"{model}.{field} is not an enum")


def test_closed_sets_are_enums() -> None:
    assert _enum_of("TaskOut", "system") == [s.value for s in System]
    assert _enum_of("TaskOut", "action") == [a.value for a in TaskAction]
    assert _enum_of("EventOut", "action") == [a.value for a in EventAction]
    assert "completed" in _enum_of("EventOut", "from_status")
    assert "completed" in _enum_of("EventOut", "to_status")
    assert set(_enum_of("LinkOut", "system")) == set(PARTNERS)
    assert _enum_of("WebhookAck", "status") == ["applied", "duplicate", "ignored"]
    assert "request.completed" in _enum_of("NotificationOut", "event")


def test_the_enums_cover_what_the_code_does() -> None:
    assert [s.value for s in System] == list(PARTNERS)
    from app.rights import actions as planned
    from app.services.lift import NOTICE_ACTION
    from app.services.requests import LIFT_ACTION
    from app.services.tasks import DEFERRED_ERASE

    actions = {action for _system, action in planned()}
    extras = {DEFERRED_ERASE, LIFT_ACTION, NOTICE_ACTION}
    assert actions | extras == {a.value for a in TaskAction}
    assert {f"task_{s.value}" for s in TaskStatus} <= {a.value for a in EventAction}


def test_a_generated_client_would_not_require_language() -> None:
    for name in ("AccessCreate", "ErasureCreate", "PortabilityCreate"):
        assert "language" not in SCHEMAS[name].get("required", [])
        assert "default" not in json.dumps(SCHEMAS[name]["properties"]["language"])


def test_problem_types_are_published() -> None:
    uris = SCHEMAS["Problem"]["properties"]["type"]["enum"]
    assert uris == [PROBLEM_BASE + kind.slug for kind in problem_types()]
    for kind in problem_types():
        row = f"| {kind.status} | `{PROBLEM_BASE}{kind.slug}` | {kind.meaning} |"
        assert row in DOC["info"]["description"] and row in SCHEMAS["Problem"]["description"]
    assert {"malformed-json", "invalid-cursor", "invalid-signature", "headers-too-large",
            "range-not-satisfiable"} <= {kind.slug for kind in problem_types()}


def test_the_partner_protocol_is_in_the_document() -> None:
    callback = DOC["paths"]["/v1/webhooks/{system}"]["post"]
    assert callback["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PartnerCallback"}
    headers = {p["name"] for p in callback["parameters"] if p["in"] == "header"}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert "bearer" not in callback["responses"]["401"]["description"].lower()
    assert "security" not in callback
    assert _enum_of("PartnerCallback", "request_status") == [
        "pending", "in_progress", "completed", "cancelled"]
    outgoing = DOC["webhooks"]
    assert set(outgoing) == {"partnerRequest", "portalNotification"}
    notification = outgoing["portalNotification"]["post"]
    assert {p["name"] for p in notification["parameters"]} == {
        "webhook-id", "webhook-timestamp", "webhook-signature"}
    request_body = outgoing["partnerRequest"]["post"]["requestBody"]["content"]
    assert request_body["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PartnerRequest"}


@pytest.mark.parametrize("path", ["/v1/requests/{request_id}/response"])
def test_download_documents_binary_ranges_and_head(path: str) -> None:
    item = DOC["paths"][path]
    assert item["get"]["responses"]["200"]["content"]["application/zip"]["schema"] == {
        "type": "string", "format": "binary"}
    assert {"206", "416", "410"} <= set(item["get"]["responses"])
    assert item["head"]["operationId"] == "checkResponse"


def test_the_protocol_models_match_what_the_code_sends() -> None:
    """The connectors' request bodies and the notifier's bodies validate against the schemas
    the document publishes (the sandbox's callbacks: tests/sandbox/test_protocol_schema.py)."""
    import uuid
    from datetime import UTC, datetime

    from app.connectors.base import Call
    from app.connectors.stadsnat import StadsnatConnector
    from app.models import DsrRequest, Notification, RequestType
    from app.notifications.outbox import body_of

    connector = StadsnatConnector.__new__(StadsnatConnector)
    for action, kind in (("export", RequestType.access), ("erase", RequestType.erasure),
                         ("rectify", RequestType.rectification),
                         ("restrict", RequestType.restriction)):
        call = Call(task_id=uuid.uuid4(), request_id=uuid.uuid4(), request_type=kind,
                    system="stadsnat", action=action, link="SN-440017",
                    callback_url="https://dsr.connect2ip.se/v1/webhooks/stadsnat",
                    changes={"address": "Storgatan 1"}, options={"grounds": "accuracy_contested"})
        body, _allow = connector.request_body(call)
        PartnerRequest.model_validate(body)
    PartnerAck.model_validate({"subject_request_id": "x", "request_status": "pending",
                               "controller_id": "connect2ip"})
    request = DsrRequest(id=uuid.uuid4(), type=RequestType.access, customer_number="C-1001")
    notification = Notification(request_id=request.id, event="request.completed",
                                payload={"request_id": str(request.id),
                                         "customer_number": "C-1001", "request_type": "access",
                                         "status": "completed", "response_url": "/v1/x"},
                                created_at=datetime.now(UTC))
    PortalNotification.model_validate_json(body_of(notification))
    PartnerCallback.model_validate(SCHEMAS["PartnerCallback"]["examples"][0])
