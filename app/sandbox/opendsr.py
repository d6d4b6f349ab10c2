"""What the three OpenDSR-style partners share: the request API, the job and its callback.

A partner accepts a request at once (``202``), works on it in the background for
``delay_ms``, records the result (readable with ``GET /requests/{id}``) and then calls back.
Each partner only decides what its records say for each request type (:class:`Partner`); the
protocol around it is here, so the three cannot drift apart.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from app.sandbox.callbacks import deliver
from app.sandbox.faults import gate
from app.sandbox.http import Answer, api_key_check, error_response, read_model
from app.sandbox.models import PartnerJob, iso
from app.sandbox.state import SandboxState

CONTROLLER_ID = "connect2ip"
# An active contract is not an art. 17(3) exception: while it runs, no art. 17(1) ground
# applies to the data it needs, which is processed under art. 6(1)(b).
CONTRACT_BASIS = "GDPR art. 6(1)(b): the contract is in force, so no art. 17(1) ground applies"
RequestType = Literal[
    "access", "erasure", "portability", "rectification", "restriction", "objection"
]

log = logging.getLogger("app.sandbox.opendsr")


class Identity(BaseModel):
    identity_type: str = Field(min_length=1)
    identity_value: str = Field(min_length=1)
    identity_format: str = "raw"


class DsrRequest(BaseModel):
    subject_request_id: str = Field(min_length=1, max_length=200)
    subject_request_type: RequestType
    submitted_time: datetime
    subject_identities: list[Identity] = Field(min_length=1)
    status_callback_urls: list[str] = Field(min_length=1)
    extensions: dict[str, Any] = Field(default_factory=dict)

    @field_validator("status_callback_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        if not all(url.startswith(("http://", "https://")) for url in urls):
            raise ValueError("must be http(s) URLs")
        return urls


def result(
    outcome: str, summary: str, *, data: dict[str, Any] | None = None,
    retained: list[dict[str, Any]] | None = None, reason: str | None = None,
) -> dict[str, Any]:
    """A job's result as the callback carries it (the summary never names the person)."""
    body: dict[str, Any] = {"outcome": outcome, "summary": summary, "retained": retained or []}
    if data is not None:
        body["data"] = data
    if reason is not None:
        body["reason"] = reason
    return body


def extension(job: PartnerJob, name: str) -> dict[str, Any]:
    value = job.extensions.get(name)
    return value if isinstance(value, dict) else {}


class Partner(ABC):
    """One asynchronous partner: its records and what it does for each request type."""

    system: ClassVar[str]
    holds_fields: ClassVar[tuple[str, ...]] = ()  # rectifiable fields it holds

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    @abstractmethod
    def holds(self, link: str) -> bool: ...

    @abstractmethod
    def access(self, job: PartnerJob) -> dict[str, Any]: ...

    @abstractmethod
    def erasure(self, job: PartnerJob) -> dict[str, Any]: ...

    @abstractmethod
    def restriction(self, job: PartnerJob) -> dict[str, Any]: ...

    def portability(self, job: PartnerJob) -> dict[str, Any]:
        return self.access(job)

    def objection(self, job: PartnerJob) -> dict[str, Any]:
        return result("done", "The partner does not use the data for direct marketing or "
                              "on legitimate interest; nothing to stop.")

    def rectification(self, job: PartnerJob) -> dict[str, Any]:
        changes = extension(job, "rectification").get("changes") or {}
        held = {f: v for f, v in changes.items() if f in self.holds_fields}
        if not held:
            return result("done", "None of the changed fields is held here; nothing updated.")
        self.update(job.link, held)
        return result("done", "Updated: " + ", ".join(sorted(held)) + ".")

    def update(self, link: str, changes: dict[str, str]) -> None:
        """Apply rectified values; every partner with ``holds_fields`` overrides it."""
        raise NotImplementedError(f"{self.system} holds no rectifiable fields")

    def lift(self, job: PartnerJob) -> dict[str, Any]:
        """Art. 18(3): the restriction is lifted (``extensions.restriction.lift``)."""
        record = self.record(job.link)
        record.restricted = False
        return result("done", "Restriction lifted: the record is in use again.")

    def record(self, link: str) -> Any:
        """The partner's record for a link (those that support lifting override it)."""
        raise NotImplementedError(f"{self.system} cannot lift a restriction")

    def process(self, job: PartnerJob) -> dict[str, Any]:
        if not self.holds(job.link):
            return result("no_data", "The partner holds no data about this subject.")
        if job.request_type == "restriction" and extension(job, "restriction").get("lift"):
            return self.lift(job)
        handler = getattr(self, job.request_type)
        outcome: dict[str, Any] = handler(job)
        return outcome


def _check_extensions(body: DsrRequest, system: str) -> None:
    if body.subject_request_type == "rectification":
        rect = body.extensions.get("rectification")
        changes = rect.get("changes") if isinstance(rect, dict) else None
        if not isinstance(changes, dict) or not changes or not all(
            isinstance(v, str) for v in changes.values()
        ):
            raise Answer(error_response(system, 400, "invalid_request",
                                        "extensions.rectification.changes must map fields "
                                        "to new values"))
    porting = body.extensions.get("number_porting")
    if porting is not None and not (
        isinstance(porting, dict) and isinstance(porting.get("receiving_operator"), str)
        and porting["receiving_operator"].strip()
    ):
        raise Answer(error_response(system, 400, "invalid_request",
                                    "extensions.number_porting.receiving_operator is required"))


async def run_job(state: SandboxState, partner: Partner, job: PartnerJob) -> None:
    """Work for the configured delay, record the result, then call back (unless lost)."""
    job.status = "in_progress"
    if state.delay_ms:
        await asyncio.sleep(state.delay_ms / 1000)
    job.result = partner.process(job)
    job.status = "completed"
    log.info("sandbox job completed", extra={
        "system": job.system, "subject_request_id": job.subject_request_id,
        "request_type": job.request_type, "outcome": job.result["outcome"],
    })
    if job.lose_callback:
        log.info("sandbox fault injected", extra={
            "system": job.system, "fault": "lost_callback",
            "subject_request_id": job.subject_request_id,
        })
        return
    payload = {"subject_request_id": job.subject_request_id, "request_status": "completed",
               "subject_identities": job.identities, "result": job.result}
    job.callback_status = await deliver(state, job.system, job.callback_url, payload)


def build_router(state: SandboxState, partner: Partner) -> APIRouter:
    system = partner.system
    router = APIRouter(
        tags=[f"sandbox: {system}"],
        dependencies=[Depends(gate(state, system, delay=False)),
                      Depends(api_key_check(state, system))],
    )

    @router.post("/requests", status_code=202)
    async def submit(request: Request) -> JSONResponse:
        body = await read_model(request, DsrRequest, system)
        existing = state.jobs.get((system, body.subject_request_id))
        if existing is not None:
            return JSONResponse(existing.accepted, status_code=202)
        _check_extensions(body, system)
        now = datetime.now(UTC).replace(microsecond=0)
        accepted = {
            "subject_request_id": body.subject_request_id, "controller_id": CONTROLLER_ID,
            "received_time": iso(now),
            "expected_completion_time": iso(now + timedelta(milliseconds=state.delay_ms)),
            "request_status": "pending",
        }
        job = PartnerJob(
            system=system, subject_request_id=body.subject_request_id,
            request_type=body.subject_request_type,
            link=body.subject_identities[0].identity_value, extensions=body.extensions,
            identities=[identity.model_dump() for identity in body.subject_identities],
            callback_url=body.status_callback_urls[0], accepted=accepted,
            lose_callback=state.faults.hits(system, "lost_callback", state.rng),
        )
        state.jobs[(system, job.subject_request_id)] = job
        state.spawn(run_job(state, partner, job))
        return JSONResponse(accepted, status_code=202)

    @router.get("/requests/{subject_request_id}")
    async def status(subject_request_id: str) -> JSONResponse:
        job = state.jobs.get((system, subject_request_id))
        if job is None:
            raise Answer(error_response(system, 404, "not_found",
                                        "No request with this subject_request_id was received."))
        body: dict[str, Any] = {"subject_request_id": job.subject_request_id,
                                "request_status": job.status,
                                "subject_identities": job.identities}
        if job.result is not None:
            body["result"] = job.result
        return JSONResponse(body)

    return router
