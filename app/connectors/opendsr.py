"""The OpenDSR-style partners (those that answer by webhook): hand a request over, hear back later.

Each action becomes one ``POST /requests`` keyed by the task's partner reference
(``subject_request_id``: the task id, ``.<round>`` after an agent's retry), which the partner
applies once however often it is sent. The answer comes by signed callback; if it
never comes, the dispatcher polls ``GET /requests/{id}``. Callback and poll carry the same
``result`` object, so both go through :func:`result_outcome`.

A partner's ``refused`` result becomes an ``Outcome`` with status ``failed`` (not an exception)
so that :meth:`OpenDsrConnector.parse_callback` can still say *which* task failed.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from app.connectors.base import (
    Call,
    Egress,
    Outcome,
    awaiting_callback,
    done,
    no_data,
    parse_partner_ref,
    retained,
    until_problem,
)
from app.connectors.common import (
    bearer,
    json_object,
    parse_retained,
    refuse_with_code,
    safe_text,
)
from app.connectors.config import PartnerSettings
from app.errors import PermanentError
from app.models import RequestType, TaskStatus

OUTCOMES = ("done", "no_data", "retained", "refused")
RUNNING = ("pending", "in_progress")


class OpenDsrConnector:
    """Shared client for the OpenDSR-style partners; subclasses name the system and actions."""

    system: ClassVar[str] = ""
    # action -> OpenDSR subject_request_type, or one of three kinds resolved per call:
    # "export" (access, or portability in a portability request), "unlist" (erasure, or
    # objection to direct marketing) and "number_porting" (portability with a receiving operator).
    actions: ClassVar[dict[str, str]] = {}

    def __init__(self, egress: Egress, config: PartnerSettings) -> None:
        self.egress = egress
        self.headers = bearer(config.api_key.get_secret_value() if config.api_key else None)

    async def execute(self, call: Call) -> Outcome:
        body, allow = self.request_body(call)
        response = await self.egress.request(
            "POST", "/requests", call=call, json=body, allow=allow, headers=self.headers
        )
        if response.status_code not in (200, 201, 202):
            raise refuse_with_code(response, self.system)
        answer = json_object(response, self.system)
        ref = answer.get("subject_request_id", call.partner_ref)
        if ref != call.partner_ref:
            raise PermanentError(f"{self.system} acknowledged another subject_request_id")
        return awaiting_callback(ref=ref, summary=f"Sent to {self.system}; waiting for its answer.")

    async def poll(self, call: Call) -> Outcome | None:
        """The partner's result, or None while it is still working on the request.

        A ``404`` means the partner never received the request (the hand-over was lost). Raising
        ``PermanentError`` would fail a task nothing is wrong with, and a ``TransientError``
        would only make the dispatcher poll again, so the request is sent again here (the
        partner applies a ``subject_request_id`` once) and the task keeps waiting (``None``).
        While the request is being cancelled or rejected (``resend_if_lost`` false) nothing is
        sent again: the task ends ``cancelled``, the partner never having had it.
        """
        ref = call.external_ref or call.partner_ref
        response = await self.egress.request("GET", f"/requests/{ref}", headers=self.headers)
        if response.status_code == 404:
            if not call.resend_if_lost:
                return Outcome(TaskStatus.cancelled,
                               f"{self.system} never received the request; nothing was done.")
            await self.execute(call)
            return None
        if response.status_code != 200:
            raise refuse_with_code(response, self.system)
        return status_outcome(json_object(response, self.system), self.system, call.partner_ref)

    def parse_callback(self, payload: dict[str, Any]) -> tuple[uuid.UUID, int, Outcome]:
        """The task id, dispatch round and outcome in a verified callback body.

        Raises ``PermanentError`` for a body that names no valid task reference. A body that
        names the task but is otherwise malformed also raises: the task then waits for a poll.
        A ``refused`` result is an ``Outcome`` with status ``failed`` and the reason as summary;
        a still-running status is an ``awaiting_callback`` outcome (nothing to record).
        """
        if not isinstance(payload, dict):
            raise PermanentError(f"{self.system} callback is not a JSON object")
        ref = payload.get("subject_request_id")
        parsed = parse_partner_ref(ref)
        if parsed is None:
            raise PermanentError(f"{self.system} callback has no valid subject_request_id")
        task_id, dispatch_round = parsed
        outcome = status_outcome(payload, self.system, str(ref))
        if outcome is None:
            return task_id, dispatch_round, awaiting_callback(
                str(ref), f"{self.system} is still working.")
        return task_id, dispatch_round, outcome

    # -- the request -----------------------------------------------------------------------

    def request_body(self, call: Call) -> tuple[dict[str, Any], list[str]]:
        """The ``POST /requests`` body and the values the egress check must let through."""
        kind = self.actions.get(call.action)
        if kind is None:
            raise PermanentError(f"{self.system} has no action {call.action!r}")
        if kind == "export":
            kind = "portability" if call.request_type is RequestType.portability else "access"
        extensions: dict[str, Any] = {}
        allow: list[str] = []
        if kind == "rectification":
            if not call.changes:
                raise PermanentError(f"{self.system} rectification has no changes")
            extensions["rectification"] = {"changes": dict(call.changes)}
            allow = list(call.changes.values())
        elif kind == "restriction":
            grounds = str(call.options.get("grounds") or "unspecified")
            extensions["restriction"] = {"grounds": grounds}
        elif kind == "lift_restriction":  # art. 18(3): the restriction is lifted
            kind = "restriction"
            extensions["restriction"] = {"lift": True}
        elif kind == "unlist":
            # Unlisting answers both erasure and objection to direct marketing.
            if call.request_type is RequestType.objection:
                kind = "objection"
                extensions["objection"] = {"processing": "direct_marketing"}
            else:
                kind = "erasure"
        elif kind == "number_porting":
            operator = call.options.get("receiving_operator")
            if not isinstance(operator, str) or not operator:
                raise PermanentError("number porting needs a receiving operator")
            kind = "portability"
            extensions["number_porting"] = {"receiving_operator": operator}
        body: dict[str, Any] = {
            "subject_request_id": call.partner_ref,
            "subject_request_type": kind,
            "submitted_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "subject_identities": [{
                "identity_type": "controller_customer_id", "identity_value": call.link,
                "identity_format": "raw",
            }],
            "status_callback_urls": [call.callback_url],
        }
        if extensions:
            body["extensions"] = extensions
        return body, allow


def status_outcome(body: dict[str, Any], system: str, ref: str) -> Outcome | None:
    """A status body (callback or poll answer) as an Outcome; None while still running.

    A completed body must name the subject it is about (``subject_identities``, as sent):
    the caller checks it against the link the task was sent with, so that a partner's answer
    about someone else never reaches this customer's records.
    """
    if body.get("subject_request_id", ref) != ref:
        raise PermanentError(f"{system} answered about another subject_request_id")
    status = body.get("request_status")
    if status in RUNNING:
        return None
    if status == "cancelled":
        return Outcome(TaskStatus.failed, f"{system} cancelled the request.")
    if status != "completed":
        raise PermanentError(f"{system} sent an unknown request_status")
    result = body.get("result")
    if not isinstance(result, dict):
        raise PermanentError(f"{system} sent a completed status without a result")
    outcome = result_outcome(result, system)
    return replace(outcome, subject=_subject(body, system))


def _subject(body: dict[str, Any], system: str) -> str:
    identities = body.get("subject_identities")
    values = {
        item.get("identity_value") for item in identities if isinstance(item, dict)
    } if isinstance(identities, list) else set()
    value = next(iter(values)) if len(values) == 1 else None
    if not isinstance(value, str):
        raise PermanentError(f"{system} answered without naming the subject it is about")
    return value


def result_outcome(result: dict[str, Any], system: str) -> Outcome:
    """A completed ``result`` object as an Outcome (``refused`` → status ``failed``)."""
    outcome = result.get("outcome")
    if outcome not in OUTCOMES:
        raise PermanentError(f"{system} sent an unknown result outcome")
    summary = safe_text(result.get("summary"), f"{system} reported {outcome}.")
    if outcome == "refused":
        reason = safe_text(result.get("reason"), "no reason given that could be shown")
        return Outcome(TaskStatus.failed, f"{system} refused the request: {reason}")
    if outcome == "no_data":
        return no_data(summary)
    data = result.get("data")
    if data is not None and not isinstance(data, dict):
        raise PermanentError(f"{system} sent result data that is not an object")
    if outcome == "retained":
        items = result.get("retained")
        if not isinstance(items, list) or not items:
            raise PermanentError(f"{system} reported retained data without listing it")
        kept = [parse_retained(item, system) for item in items]
        problem = next((found for found in map(until_problem, (i.until for i in kept)) if found),
                       None)
        if problem is not None:  # the task fails, named: not an error that leaves it waiting
            return Outcome(TaskStatus.failed, f"{system} answered with a retained item whose "
                           f"until date {problem}; the answer was refused and nothing of it "
                           "was kept.")
        return retained(summary, kept, data)
    return done(summary, data)

