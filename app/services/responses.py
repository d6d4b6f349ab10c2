"""The electronic-format response: built once, stored encrypted, downloaded, then purged.

A finished request (``completed``, ``rejected`` or ``cancelled``) gets one package. It is
built once — by the worker (:func:`build_pending`) soon after the request turns final, or on
the first download if no worker got there first — into a temporary zip file, and then stored
in the database in
~1 MiB Fernet-encrypted chunks (``response_chunk``) with its SHA-256 (``response_package``).

Why stored rather than rebuilt on demand: the SHA-256 the request record carries must stay
true for the file the customer has; partners' data changes after the answer (a rebuilt
package would differ from what was given); and one shared database serves any number of API
processes, none of which may rely on a local file. The package is encrypted at rest with the
service's data key, like the partner answers it replaces: once it is stored, the request's
``task_result`` rows are deleted (the package is now the only copy).

After ``DSR_RESPONSE_RETENTION_DAYS`` (default 30) :func:`purge_expired` deletes the chunks but
keeps the ``response_package`` row (SHA-256, size, ``purged_at``): the request still shows
that a response was given and what it was; a download then answers 410 Gone.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app import __version__
from app.connectors.catalog import SYSTEMS
from app.db import reading, unit_of_work, utcnow
from app.errors import InvalidState, NotReady
from app.models import (
    AuditEvent,
    DsrRequest,
    Link,
    RequestStatus,
    RequestType,
    ResponseChunk,
    ResponsePackage,
    Task,
    TaskResult,
)
from app.rights.facts import CaseRecord, EventFact
from app.services import audit, lifecycle, lift
from app.services.package_content import (
    CallPages,
    PackageError,
    PackageInputs,
    RequestFacts,
    SystemResult,
    write_contents,
)
from app.services.packages import READ_BYTES, BuiltPackage, PackageWriter
from app.services.tasks import lock_request
from app.services.vault import Vault
from app.settings import Settings

log = logging.getLogger("app.responses")
ANSWERED = lifecycle.ANSWERED
BUILDER = ("response-builder", "system")
CHUNK_BYTES = READ_BYTES  # 1 MiB of zip per encrypted chunk


def response_path(request_id: uuid.UUID) -> str:
    return f"/v1/requests/{request_id}/response"


def response_info(
    request: DsrRequest, package: ResponsePackage | None
) -> tuple[dict[str, Any] | None, str | None]:
    """What the request resource says about its response: (info, download URL or None)."""
    info = None
    if package is not None:
        info = {"sha256": package.sha256, "size": package.size,
                "created_at": package.created_at, "expires_at": package.expires_at,
                "purged_at": package.purged_at}
    available = request.status in ANSWERED and (package is None or downloadable(package))
    return info, (response_path(request.id) if available else None)


def downloadable(package: ResponsePackage, now: datetime | None = None) -> bool:
    """Whether a package may still be given out: not purged and not past its expiry (which
    housekeeping only later acts on)."""
    return package.purged_at is None and package.expires_at > (now or utcnow())


_PACKAGES_OF = select(ResponsePackage).where(
    col(ResponsePackage.request_id).in_(bindparam("ids", expanding=True)))


async def packages_for(
    session: AsyncSession, request_ids: list[uuid.UUID]
) -> dict[uuid.UUID, ResponsePackage]:
    if not request_ids:
        return {}
    rows = await session.scalars(_PACKAGES_OF, {"ids": request_ids})
    return {row.request_id: row for row in rows}


def call_pages_of(connectors: Mapping[str, Any]) -> CallPages | None:
    pages: CallPages | None = getattr(connectors.get("crm"), "iter_call_history", None)
    return pages


# -- building -----------------------------------------------------------------------------------


_TASKS_OF = select(Task).where(col(Task.request_id).in_(bindparam("ids", expanding=True)))
_RESULTS_OF = select(TaskResult).where(
    col(TaskResult.request_id).in_(bindparam("ids", expanding=True)))
_LINKS_OF = select(Link).where(
    col(Link.customer_number).in_(bindparam("customers", expanding=True)))
_REQUESTS_OF = select(DsrRequest).where(col(DsrRequest.id).in_(bindparam("ids", expanding=True)))
# The trail's events a letter's claims rest on (the (request_id, seq) unique index).
_EVENTS_OF = sa_select(col(AuditEvent.request_id), col(AuditEvent.seq), col(AuditEvent.action),
                       col(AuditEvent.at), col(AuditEvent.data)).where(
    col(AuditEvent.request_id).in_(bindparam("ids", expanding=True)))
# The service's own case records about the customers (the customer_number index).
_CASES_OF = sa_select(col(DsrRequest.id), col(DsrRequest.customer_number), col(DsrRequest.type),
                      col(DsrRequest.status), col(DsrRequest.channel),
                      col(DsrRequest.received_at), col(DsrRequest.finished_at),
                      col(DsrRequest.details)).where(
    col(DsrRequest.customer_number).in_(bindparam("customers", expanding=True)))
_LOCK_REQUESTS = _REQUESTS_OF.order_by(col(DsrRequest.id)).with_for_update()


async def load_inputs(
    session: AsyncSession, request: DsrRequest, vault: Vault, *,
    lift_notice_s: float | None = None,
) -> PackageInputs:
    """A plain snapshot of everything the package needs, partner data decrypted.
    ``lift_notice_s``: the notice period a lift letter built now states (DSR_LIFT_NOTICE_S)."""
    return (await load_inputs_of(session, [request], vault,
                                 lift_notice_s=lift_notice_s))[request.id]


async def load_inputs_of(
    session: AsyncSession, requests: list[DsrRequest], vault: Vault, *,
    lift_notice_s: float | None = None,
) -> dict[uuid.UUID, PackageInputs]:
    """:func:`load_inputs` of several requests, in three queries whatever their number."""
    ids = [request.id for request in requests]
    tasks: dict[uuid.UUID, list[Task]] = {request_id: [] for request_id in ids}
    for task in await session.scalars(_TASKS_OF, {"ids": ids}):
        tasks[task.request_id].append(task)
    results = {row.task_id: row for row in await session.scalars(_RESULTS_OF, {"ids": ids})}
    links: dict[str, dict[str, str]] = {request.customer_number: {} for request in requests}
    for link in await session.scalars(_LINKS_OF, {"customers": sorted(links)}):
        links[link.customer_number][link.system] = link.external_id
    events: dict[uuid.UUID, list[EventFact]] = {request_id: [] for request_id in ids}
    for row in await session.execute(_EVENTS_OF, {"ids": ids}):
        task_id = (row.data or {}).get("task_id")
        events[row.request_id].append(EventFact(row.seq, row.action, row.at,
                                                str(task_id) if task_id else None))
    cases = await _case_records(session, [r for r in requests
                                          if r.type is RequestType.access])
    return {request.id: _inputs(request, tasks[request.id], results,
                                links[request.customer_number], vault, lift_notice_s,
                                events=events[request.id],
                                cases=cases.get(request.customer_number, []))
            for request in requests}


async def _case_records(
    session: AsyncSession, requests: list[DsrRequest],
) -> dict[str, list[CaseRecord]]:
    """Art. 15: the service's own records about each customer of an access request."""
    if not requests:
        return {}
    found: dict[str, list[CaseRecord]] = {}
    customers = sorted({r.customer_number for r in requests})
    for row in await session.execute(_CASES_OF, {"customers": customers}):
        details = row.details or {}
        found.setdefault(row.customer_number, []).append(CaseRecord(
            id=str(row.id), type=str(getattr(row.type, "value", row.type)),
            status=str(getattr(row.status, "value", row.status)),
            channel=str(getattr(row.channel, "value", row.channel)),
            received_at=row.received_at, finished_at=row.finished_at,
            grounds=str(details["grounds"]) if isinstance(details.get("grounds"), str)
            and details.get("grounds") != "retention_policy" else None))
    for records in found.values():
        records.sort(key=lambda record: record.received_at)
    return found


def _inputs(request: DsrRequest, tasks: list[Task], results: dict[uuid.UUID, TaskResult],
            links: dict[str, str], vault: Vault,
            lift_notice_s: float | None = None, *, events: list[EventFact] | None = None,
            cases: list[CaseRecord] | None = None) -> PackageInputs:
    order = {name: i for i, name in enumerate(SYSTEMS)}
    tasks = sorted(tasks, key=lambda task: (order.get(task.system, len(order)), task.action))
    systems = []
    for task in tasks:
        spec = SYSTEMS.get(task.system)
        outcome = task.outcome or {}
        row = results.get(task.id)
        systems.append(SystemResult(
            system=task.system, title=spec.title if spec else task.system,
            key=spec.key if spec else "", action=task.action, status=task.status.value,
            summary=str(outcome.get("summary") or ""), finished_at=task.finished_at,
            retained=list(outcome.get("retained") or (task.params or {}).get("items") or []),
            data=vault.open(row.ciphertext) if row is not None else None,
            uncertain=bool(outcome.get("uncertain")),
            scheduled_for=task.scheduled_for, code=outcome.get("code"),
            params=dict(outcome.get("params") or {}), id=str(task.id),
        ))
    facts = RequestFacts(
        id=str(request.id), type=request.type.value, status=request.status.value,
        customer_number=request.customer_number, language=request.language.value,
        received_at=request.received_at, finished_at=request.finished_at,
        details=dict(request.details), note=request.note,
        reject_reason=request.reject_reason.value if request.reject_reason else None,
        extension={"months": request.extended_months, "reason": request.extension_reason,
                   "due_at": request.due_at.isoformat()} if request.extended_months else None,
        # reason, requested_at, notice_delivered_at, lift_from, notice_period_s (services.lift)
        lift=lift.facts(request, tasks, lift_notice_s) if request.lift_reason else None,
        channel=request.channel.value, verified=request.verified_at is not None,
        events=tuple(sorted(events or [], key=lambda event: event.seq)),
    )
    return PackageInputs(facts, systems, dict(links), case_records=list(cases or []))


async def build_zip(
    inputs: PackageInputs, *, call_pages: CallPages | None, settings: Settings,
    now: datetime | None = None,
) -> BuiltPackage:
    """The package as a temporary zip file (the caller stores or discards it)."""
    generated_at = (now or utcnow()).replace(microsecond=0)
    inputs = dataclasses.replace(inputs, settings={
        **inputs.settings, "case_retention_days": settings.case_retention_days})
    writer = PackageWriter(generated_at)
    try:
        await write_contents(inputs, writer, generated_at=generated_at, call_pages=call_pages,
                             report_rows=settings.response_report_rows,
                             retention_days=settings.response_retention_days)
    except BaseException:
        writer.abort()
        raise
    req = inputs.request
    return writer.finish({
        "format": "connect2ip-dsr-manifest/1", "request_id": req.id, "request_type": req.type,
        "outcome": req.status, "customer_number": req.customer_number,
        "language": req.language, "generated_at": generated_at.isoformat().replace(
            "+00:00", "Z"),
        "service": {"name": "connect2ip-dsr", "version": __version__},
        "hash_algorithm": "SHA-256",
    })


async def store(
    session: AsyncSession, request: DsrRequest, built: BuiltPackage, *, vault: Vault,
    retention_days: int, now: datetime | None = None,
) -> ResponsePackage:
    """Store a built zip encrypted in chunks (caller holds the request's row lock)."""
    now = now or utcnow()
    package = ResponsePackage(
        request_id=request.id, sha256=built.sha256, size=built.size,
        files=[f.as_dict() for f in built.files], created_at=now,
        expires_at=now + timedelta(days=retention_days),
    )
    session.add(package)
    await session.flush()
    seq = 0
    with built.path.open("rb") as handle:
        while piece := handle.read(CHUNK_BYTES):
            await session.execute(insert(ResponseChunk).values(
                request_id=request.id, seq=seq, ciphertext=vault.seal_bytes(piece)))
            seq += 1
    package.chunks = seq
    request.answer_pending = False
    await session.execute(delete(TaskResult).where(col(TaskResult.request_id) == request.id))
    await audit.record(
        session, request=request, actor=BUILDER[0], actor_role=BUILDER[1],
        action="response_built", from_status=request.status.value,
        to_status=request.status.value, at=now,
        data={"sha256": built.sha256, "size": built.size,
              "files": [f.name for f in built.files],
              "expires_at": package.expires_at.isoformat()},
    )
    return package


async def supersede(session: AsyncSession, request: DsrRequest) -> None:
    """Drop the stored answer so a new one is built (the request was reopened, e.g. to lift a
    restriction). Its SHA-256 stays on the audit trail: the copy the customer has remains
    verifiable against it."""
    package = await session.get(ResponsePackage, request.id)
    if package is None:
        return
    await audit.record(
        session, request=request, actor=BUILDER[0], actor_role=BUILDER[1],
        action="response_superseded", from_status=request.status.value,
        to_status=request.status.value, data={"sha256": package.sha256, "size": package.size},
    )
    await session.execute(delete(ResponseChunk).where(col(ResponseChunk.request_id) == request.id))
    await session.delete(package)
    await session.flush()


# What a build is the answer of: a final request as it finished, or a restriction's notice
# letter for the lift asked for then (services.lift); a store checks it again under lock.
Mark = tuple[str, datetime | None]


def answer_mark(request: DsrRequest) -> Mark | None:
    """The answer due for ``request`` now, or None: none is (it is not finished)."""
    if request.status in ANSWERED:
        return ("final", request.finished_at)
    if lift.lifting(request):
        return ("lift", request.lift_requested_at)
    return None


async def ensure_package(
    sessionmaker: async_sessionmaker[AsyncSession], request_id: uuid.UUID, *,
    connectors: Mapping[str, Any], vault: Vault, settings: Settings,
) -> ResponsePackage:
    """The request's package, building and storing it first if there is none yet.

    The build runs outside any transaction (it may take a while and call the register); the
    store re-checks under the request's row lock, so two builders racing store one package.
    Raises :class:`NotReady` when the package cannot be built now (a partner unreachable).
    """
    async with reading(sessionmaker) as session:
        existing = await session.get(ResponsePackage, request_id)
        if existing is not None:
            return existing
        request = await session.get(DsrRequest, request_id)
        answered_at = answer_mark(request) if request is not None else None
        if request is None or answered_at is None:
            raise InvalidState("The response is produced when the request is finished.")
        inputs = await load_inputs(session, request, vault,
                                   lift_notice_s=settings.lift_notice_s)
    built = await _build(inputs, request_id, connectors=connectors, settings=settings)
    if built is None:
        raise NotReady("The response could not be prepared just now; try again shortly.")
    try:
        package = await _store_alone(sessionmaker, request_id, built, answered_at, vault=vault,
                                     settings=settings)
    finally:
        built.discard()
    if package is None:
        raise NotReady("The request changed while its response was being prepared.")
    return package


async def _build(
    inputs: PackageInputs, request_id: uuid.UUID, *, connectors: Mapping[str, Any],
    settings: Settings,
) -> BuiltPackage | None:
    """The zip, or None (logged) when it cannot be built now (a partner unreachable)."""
    try:
        return await build_zip(inputs, call_pages=call_pages_of(connectors), settings=settings)
    except PackageError as exc:
        log.warning("response package not built", extra={
            "dsr_request_id": str(request_id), "reason": str(exc)})
        return None


async def _store_locked(
    session: AsyncSession, locked: DsrRequest, existing: ResponsePackage | None,
    built: BuiltPackage, answered_at: Mark, *, vault: Vault, settings: Settings,
) -> ResponsePackage | None:
    """Store ``built`` as the answer of ``locked`` (row-locked, with its stored package if any
    read under that lock); None if the request changed since its inputs were read."""
    if existing is not None:
        locked.answer_pending = False  # another builder stored it meanwhile
        return existing
    if answer_mark(locked) != answered_at:
        # reopened while this was built (a restriction being lifted): the answer it would
        # store is no longer the answer; the next build makes the right one
        return None
    package = await store(session, locked, built, vault=vault,
                          retention_days=settings.response_retention_days)
    if answered_at[0] == "lift":  # art. 18(3): the letter exists, the customer is told now
        await lift.letter_stored(session, locked, package, settings=settings)
    return package


async def _store_alone(
    sessionmaker: async_sessionmaker[AsyncSession], request_id: uuid.UUID, built: BuiltPackage,
    answered_at: Mark, *, vault: Vault, settings: Settings,
) -> ResponsePackage | None:
    """:func:`_store_locked` in a transaction of its own, the request locked first."""
    async with unit_of_work(sessionmaker) as session:
        locked = await lock_request(session, request_id)
        existing = await session.get(ResponsePackage, request_id)
        package = await _store_locked(session, locked, existing, built, answered_at,
                                      vault=vault, settings=settings)
    if package is not None and package is not existing:
        _stored(package)
    return package


def _stored(package: ResponsePackage) -> None:
    log.info("response package stored", extra={
        "dsr_request_id": str(package.request_id), "size": package.size,
        "chunks": package.chunks})


# Answers due: requests flagged when they became final, not yet stored. The flag is walked
# through its index, so the query costs what is pending, not the whole history: the old
# anti-join of every final request with the packages took 200-240 ms with 100,000 answered
# requests on SQLite, on the event loop, on every idle round of every worker (2 s). The
# package check stays: a request final again after a spell of scheduled work keeps its stored
# answer, and is not built twice.
def _pending(*columns: Any) -> Any:
    return (select(*columns)
            .outerjoin(ResponsePackage, col(ResponsePackage.request_id) == col(DsrRequest.id))
            .where(col(DsrRequest.answer_pending).is_(True))
            .where(col(DsrRequest.status).in_([s.value for s in ANSWERED]))
            .where(col(ResponsePackage.request_id).is_(None))
            .order_by(col(DsrRequest.finished_at)).limit(bindparam("limit")))


_PENDING = _pending(DsrRequest.id)
# Those that became final at ``before`` or earlier (the ones that have waited long enough).
_PENDING_BEFORE = _PENDING.where(col(DsrRequest.finished_at) <= bindparam("before"))
# When the first of those that became final after ``after`` did.
_NEXT_PENDING = _pending(DsrRequest.finished_at).where(
    col(DsrRequest.finished_at) > bindparam("after"))
# Restrictions being lifted whose notice letter is to be built (services.lift): pending but
# not final, so ``finished_at`` is null. Built first and never put off: no system lifts
# anything before the letter is stored. The same index, its null ``finished_at`` end.
_LIFT_LETTERS = (
    select(DsrRequest.id)
    .outerjoin(ResponsePackage, col(ResponsePackage.request_id) == col(DsrRequest.id))
    .where(col(DsrRequest.answer_pending).is_(True), col(DsrRequest.finished_at).is_(None),
           col(DsrRequest.lift_requested_at).is_not(None),
           col(DsrRequest.status).in_([s.value for s in lifecycle.ACTIVE]),
           col(ResponsePackage.request_id).is_(None))
    .limit(bindparam("limit")))


async def build_pending(
    sessionmaker: async_sessionmaker[AsyncSession], *, connectors: Mapping[str, Any],
    vault: Vault, settings: Settings, limit: int = 10, finished_before: datetime | None = None,
    keep_going: Callable[[], bool] | None = None,
) -> int:
    """Build the packages of answered requests that have none yet (run by the worker); with
    ``finished_before``, only of those that became final by then, oldest first. When
    ``keep_going()`` turns false, no further zip is started: those built are stored, the rest
    stay pending.

    Their inputs are read in one transaction and the packages stored in another, as
    :func:`ensure_package` does for one: built one by one, each answer's reads and its store
    (two transactions, six queries) cost as much as building its zip. If the batch cannot be
    stored, each package is stored alone, so one that cannot be stored holds back none of the
    others.
    Returns how many were stored; a request whose package cannot be built now is left for
    the next round (or the first download).
    """
    async with reading(sessionmaker) as session:
        ids = list(await session.scalars(_LIFT_LETTERS, {"limit": limit}))
        if finished_before is None:
            ids += await session.scalars(_PENDING, {"limit": limit - len(ids)})
        else:
            ids += await session.scalars(
                _PENDING_BEFORE, {"limit": limit - len(ids), "before": finished_before})
        marks = {request.id: (request, answer_mark(request)) for request in
                 await session.scalars(_REQUESTS_OF, {"ids": ids})} if ids else {}
        answered_at = {request_id: mark for request_id, (_request, mark) in marks.items()
                       if mark is not None}
        requests = [request for request, mark in marks.values() if mark is not None]
        if not requests:
            return 0
        inputs = await load_inputs_of(session, requests, vault,
                                      lift_notice_s=settings.lift_notice_s)
    built: dict[uuid.UUID, BuiltPackage] = {}
    try:
        for request_id, request_inputs in inputs.items():
            if built and keep_going is not None and not keep_going():
                break
            package = await _build(request_inputs, request_id, connectors=connectors,
                                   settings=settings)
            if package is not None:
                built[request_id] = package
        if len(built) > 1:
            try:
                return await _store_all(sessionmaker, built, answered_at, vault=vault,
                                        settings=settings)
            except Exception:  # noqa: S110 - stored one by one below, where errors tell
                pass
        stored = 0
        for request_id, package in built.items():
            try:
                kept = await _store_alone(sessionmaker, request_id, package,
                                          answered_at[request_id], vault=vault,
                                          settings=settings)
            except Exception as exc:  # left pending: the next round tries it again
                log.error("response package not stored", extra={
                    "dsr_request_id": str(request_id), "error_type": type(exc).__name__})
                continue
            stored += kept is not None
        return stored
    finally:
        for package in built.values():
            package.discard()


async def _store_all(
    sessionmaker: async_sessionmaker[AsyncSession], built: dict[uuid.UUID, BuiltPackage],
    answered_at: dict[uuid.UUID, Mark], *, vault: Vault, settings: Settings,
) -> int:
    """Store these packages in one transaction, their requests locked in id order."""
    async with unit_of_work(sessionmaker) as session:
        ids = sorted(built)
        locked = list(await session.scalars(_LOCK_REQUESTS, {"ids": ids}))
        existing = await packages_for(session, ids)
        kept = [await _store_locked(session, request, existing.get(request.id),
                                    built[request.id], answered_at[request.id], vault=vault,
                                    settings=settings) for request in locked]
    for package in kept:
        if package is not None and package.request_id not in existing:
            _stored(package)
    return sum(package is not None for package in kept)


async def next_pending(
    sessionmaker: async_sessionmaker[AsyncSession], after: datetime,
) -> datetime | None:
    """When the first answer still to build whose request became final after ``after`` did
    (None: there is none)."""
    async with reading(sessionmaker) as session:
        first: datetime | None = await session.scalar(_NEXT_PENDING, {"limit": 1,
                                                                      "after": after})
    return first


# -- delivering ---------------------------------------------------------------------------------


async def iter_package(
    sessionmaker: async_sessionmaker[AsyncSession], package: ResponsePackage, vault: Vault,
    *, first: int = 0, last: int | None = None,
) -> AsyncIterator[bytes]:
    """The zip's bytes ``first``..``last`` (inclusive; all by default), one decrypted chunk at a
    time, each read in its own short session. Every chunk but the last holds ``CHUNK_BYTES``."""
    last = package.size - 1 if last is None else last
    for seq in range(first // CHUNK_BYTES, last // CHUNK_BYTES + 1):
        async with reading(sessionmaker) as session:
            token = await session.scalar(
                select(ResponseChunk.ciphertext)
                .where(col(ResponseChunk.request_id) == package.request_id)
                .where(col(ResponseChunk.seq) == seq))
        if token is None:  # purged while being downloaded
            raise RuntimeError("response chunk missing")
        piece = vault.open_bytes(token)
        offset = seq * CHUNK_BYTES
        yield piece[max(first - offset, 0):last - offset + 1]


# One ``response_downloaded`` event per caller, package and this period: every ranged GET
# used to append one, so a portal token could grow a trail without limit (a client that
# resumes, or one that asks for "bytes=0-0" in a loop). The trail says who fetched which
# package (its SHA-256) and when first in each hour: at most 24 a day per caller for the
# package's 30 days, whatever the client does; HEAD records nothing.
DOWNLOAD_EVENT_PERIOD = timedelta(hours=1)


async def record_download(
    session: AsyncSession, request: DsrRequest, package: ResponsePackage, *, actor: str,
    role: str, byte_range: tuple[int, int] | None = None,
) -> None:
    """Note a download on the trail, unless this caller's download of this package was
    noted within ``DOWNLOAD_EVENT_PERIOD`` (the caller holds the request's lock, so two
    parallel ranges do not both write one)."""
    since = utcnow() - DOWNLOAD_EVENT_PERIOD
    recent = await session.scalars(
        select(AuditEvent)
        .where(col(AuditEvent.request_id) == request.id,
               col(AuditEvent.action) == "response_downloaded",
               col(AuditEvent.actor) == actor, col(AuditEvent.actor_role) == role,
               col(AuditEvent.at) >= since))
    if any(event.data.get("sha256") == package.sha256 for event in recent):
        return
    data: dict[str, Any] = {"sha256": package.sha256, "size": package.size}
    if byte_range is not None:
        data["range"] = f"{byte_range[0]}-{byte_range[1]}"
    await audit.record(
        session, request=request, actor=actor, actor_role=role, action="response_downloaded",
        from_status=request.status.value, to_status=request.status.value, data=data,
    )


# -- retention ----------------------------------------------------------------------------------


async def purge_expired(
    session: AsyncSession, now: datetime, *, retention_days: int = 30,
) -> dict[str, int]:
    """Delete expired packages' chunks (keeping their SHA-256) and stale partner answers.

    - a package past ``expires_at``: its chunks are deleted and ``purged_at`` set, with an
      audit event; the request keeps the package row and so its SHA-256;
    - partner answers (``task_result``) of a cancelled request, or of an answered request
      ``retention_days`` after it finished whose package was never built, are deleted too.
    Idempotent; any worker may run it.
    """
    expired = list(await session.scalars(
        select(ResponsePackage)
        .where(col(ResponsePackage.expires_at) <= now)
        .where(col(ResponsePackage.purged_at).is_(None))))
    for package in expired:
        request = await lock_request(session, package.request_id)
        await session.execute(
            delete(ResponseChunk).where(col(ResponseChunk.request_id) == package.request_id))
        await session.execute(
            delete(TaskResult).where(col(TaskResult.request_id) == package.request_id))
        package.purged_at = now
        await audit.record(
            session, request=request, actor=BUILDER[0], actor_role=BUILDER[1],
            action="response_purged", from_status=request.status.value,
            to_status=request.status.value, data={"sha256": package.sha256}, at=now)
    stale = (
        select(DsrRequest.id)
        .outerjoin(ResponsePackage, col(ResponsePackage.request_id) == col(DsrRequest.id))
        .where(col(ResponsePackage.request_id).is_(None))
        .where((col(DsrRequest.status) == RequestStatus.cancelled.value)
               | ((col(DsrRequest.status).in_([s.value for s in ANSWERED]))
                  & (col(DsrRequest.finished_at) <= now - timedelta(days=retention_days))))
    )
    results = await session.execute(
        delete(TaskResult).where(col(TaskResult.request_id).in_(stale)))
    counts = {"packages": len(expired),
              "task_results": results.rowcount or 0}  # type: ignore[attr-defined]
    if any(counts.values()):
        log.info("response retention purged", extra=counts)
    return counts
