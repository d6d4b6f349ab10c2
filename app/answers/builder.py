"""Building the answers: once, by the worker soon after a request turns final, or on the first
download if no worker got there first.

A finished request (``completed``, ``rejected`` or ``cancelled``) gets one package, built into
a temporary zip file outside any transaction (it may take a while and call the register) and
then stored (:mod:`app.answers.store`) under the request's row lock, which re-checks that the
answer is still the one due: two builders racing store one package, and a request reopened
meanwhile (a restriction being lifted) stores none.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app import __version__
from app.answers.content import (
    CallPages,
    PackageError,
    PackageInputs,
    write_contents,
)
from app.answers.inputs import load_inputs, load_inputs_of
from app.answers.packages import BuiltPackage, PackageWriter
from app.answers.store import packages_for, store
from app.connectors.capabilities import CallHistory
from app.db import reading, unit_of_work, utcnow
from app.errors import NotReady, RequestNotFinished
from app.models import (
    DsrRequest,
    ResponsePackage,
)
from app.partners import register
from app.services import lifecycle, lift
from app.services.lifecycle import lock_request
from app.services.vault import Vault
from app.settings import Settings

log = logging.getLogger("app.responses")


def call_pages_of(connectors: Mapping[str, Any]) -> CallPages | None:
    """The call history's pages, from the register's connector when it holds one."""
    held = connectors.get(register().name)
    return held.iter_call_history if isinstance(held, CallHistory) else None


_REQUESTS_OF = select(DsrRequest).where(col(DsrRequest.id).in_(bindparam("ids", expanding=True)))


_LOCK_REQUESTS = _REQUESTS_OF.order_by(col(DsrRequest.id)).with_for_update()


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


# What a build is the answer of: a final request as it finished, or a restriction's notice
# letter for the lift asked for then (services.lift); a store checks it again under lock.
Mark = tuple[str, datetime | None]


def answer_mark(request: DsrRequest) -> Mark | None:
    """The answer due for ``request`` now, or None: none is (it is not finished)."""
    if request.status in lifecycle.ANSWERED:
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
            raise RequestNotFinished("The response is produced when the request is finished.")
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
            .where(col(DsrRequest.status).in_([s.value for s in lifecycle.ANSWERED]))
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
