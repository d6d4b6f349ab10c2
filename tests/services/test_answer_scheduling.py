"""Answers are built when no task is in flight (or once they have waited ANSWER_DEFER_S;
while the worker has a backlog, once it has cleared, ANSWER_BACKLOG_S at most).

Building an answer takes as much CPU as carrying out a request; built while other requests'
tasks are in flight, it took that time from them. A download still builds one on demand.
"""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from app.answers import job as answer_job
from app.models import ResponsePackage
from tests.helpers import agent_body, create
from tests.services.fakes import fakes
from tests.services.test_dispatch import link, request_row


def worker_of(app, connectors):  # type: ignore[no-untyped-def]
    """The app's own dispatcher, whose wake-up and answer events the commit hooks set."""
    d = app.state.dispatcher
    d.connectors = connectors
    return d


async def package_of(app, request_id: str) -> ResponsePackage | None:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session:
        return await session.get(ResponsePackage, uuid.UUID(request_id))


async def completed(app, request_id: str) -> bool:  # type: ignore[no-untyped-def]
    return (await request_row(app, request_id)).status.value == "completed"


async def built(app, request_id: str) -> bool:  # type: ignore[no-untyped-def]
    return await package_of(app, request_id) is not None


async def until(check, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.02)


async def quick_and_slow(client, agent, app, slow_s: float):  # type: ignore[no-untyped-def]
    """C-1001's access request (done at once) and C-1002's, whose stadsnät task stays in
    flight for ``slow_s``; the app's worker running."""
    await link(client, agent, "C-1002", "stadsnat", "sn-1002")
    connectors = fakes()
    connectors["stadsnat"].delay = slow_s
    quick = await create(client, agent, agent_body("access", identity_verification="bankid"))
    slow = await create(client, agent, {**agent_body("access", identity_verification="bankid"),
                                        "customer_number": "C-1002"})
    d = worker_of(app, connectors)
    return quick, slow, d, asyncio.create_task(d.run())


async def test_an_answer_waits_while_other_tasks_are_in_flight(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    quick, slow, d, worker = await quick_and_slow(client, agent, app, slow_s=1.0)
    try:
        await until(lambda: completed(app, quick["id"]))
        await asyncio.sleep(0.3)
        assert not await completed(app, slow["id"])  # still in flight at stadsnät
        assert await package_of(app, quick["id"]) is None
        await until(lambda: completed(app, slow["id"]))

        async def both_built() -> bool:
            return all([await package_of(app, r["id"]) for r in (quick, slow)])

        await until(both_built, timeout_s=1.0)  # at once, not after the worker's 2 s idle poll
    finally:
        await d.stop()
        worker.cancel()


async def test_answers_are_not_put_off_for_ever(client, agent, app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(answer_job, "ANSWER_DEFER_S", 0.2)
    quick, slow, d, worker = await quick_and_slow(client, agent, app, slow_s=2.0)
    try:
        await until(lambda: built(app, quick["id"]), timeout_s=1.8)  # C-1002's still in flight
        assert (await request_row(app, slow["id"])).status.value == "in_progress"
    finally:
        await d.stop()
        worker.cancel()


async def test_the_answers_due_are_those_flagged_final_since_their_last_store(  # type: ignore[no-untyped-def]
    client, agent, app,
) -> None:
    """A request becoming final is flagged; storing its answer clears the flag; final again
    after a spell of scheduled work, it keeps its stored answer (not built twice)."""
    from app.answers.builder import build_pending
    from app.services import lifecycle
    from app.services.lifecycle import lock_request

    d = worker_of(app, fakes())
    made = await create(client, agent, agent_body("access", identity_verification="bankid"))
    while await d.claim(16):
        pass
    request_id = uuid.UUID(made["id"])
    # the tasks' outcomes were not recorded (only claimed); finish the request by hand
    async with app.state.sessionmaker() as session, session.begin():
        request = await lock_request(session, request_id)
        assert not request.answer_pending
        await lifecycle._move(session, request, lifecycle.RequestStatus.completed,
                              action="request_completed", actor=lifecycle.SYSTEM_ACTOR)
    assert (await request_row(app, made["id"])).answer_pending

    built = await build_pending(app.state.sessionmaker, connectors=d.connectors,
                                vault=d.vault, settings=d.settings)
    assert built == 1
    first = await package_of(app, made["id"])
    assert first is not None and not (await request_row(app, made["id"])).answer_pending

    async with app.state.sessionmaker() as session, session.begin():
        request = await lock_request(session, request_id)
        for status, action in ((lifecycle.RequestStatus.action_required,
                                "request_action_required"),
                               (lifecycle.RequestStatus.completed, "request_completed")):
            await lifecycle._move(session, request, status, action=action,
                                  actor=lifecycle.SYSTEM_ACTOR)
    assert (await request_row(app, made["id"])).answer_pending
    assert await build_pending(app.state.sessionmaker, connectors=d.connectors,
                               vault=d.vault, settings=d.settings) == 0
    again = await package_of(app, made["id"])
    assert again is not None and again.sha256 == first.sha256

    # one flagged request fewer: a final request not flagged is not looked at at all
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(sa.delete(ResponsePackage).where(
            ResponsePackage.request_id == request_id))
        request = await lock_request(session, request_id)
        request.answer_pending = False
    assert await build_pending(app.state.sessionmaker, connectors=d.connectors,
                               vault=d.vault, settings=d.settings) == 0


async def test_while_tasks_are_in_flight_only_the_answers_that_have_waited_are_built(  # type: ignore[no-untyped-def]
    client, agent, app, monkeypatch,
) -> None:
    """Each answer waits its own ANSWER_DEFER_S: the first one coming due is no reason to
    build the answers of requests that became final just now, in the middle of the work."""
    monkeypatch.setattr(answer_job, "ANSWER_DEFER_S", 1.0)
    first, slow, d, worker = await quick_and_slow(client, agent, app, slow_s=4.0)
    try:
        await until(lambda: completed(app, first["id"]))
        await asyncio.sleep(0.5)
        second = await create(client, agent, agent_body("access",
                                                         identity_verification="bankid"))
        await until(lambda: completed(app, second["id"]))
        await until(lambda: built(app, first["id"]), timeout_s=1.5)
        assert not await built(app, second["id"])  # it became final about half a second later
        await until(lambda: built(app, second["id"]), timeout_s=1.5)
        assert (await request_row(app, slow["id"])).status.value == "in_progress"
    finally:
        await d.stop()
        worker.cancel()


async def test_while_the_worker_has_a_backlog_answers_wait_for_it_to_clear(  # type: ignore[no-untyped-def]
    client, agent, app, monkeypatch,
) -> None:
    """More due than the worker has slots for: an answer that has waited ANSWER_DEFER_S is
    not built among the requests still to be carried out, but once they are (or after
    ANSWER_BACKLOG_S)."""
    from tests.conftest import make_settings

    monkeypatch.setattr(answer_job, "ANSWER_DEFER_S", 0.2)
    monkeypatch.setattr(answer_job, "ANSWER_BACKLOG_S", 3600.0)
    connectors = fakes()
    crm = connectors["crm"]
    plain = crm.execute

    async def execute(call):  # type: ignore[no-untyped-def]
        if call.request_type.value == "erasure":
            await asyncio.sleep(0.6)
        return await plain(call)

    crm.execute = execute  # type: ignore[method-assign]
    d = worker_of(app, connectors)
    d.settings = make_settings(app.state.settings.database_url, worker_concurrency=2)
    quick = await create(client, agent, agent_body("access", identity_verification="bankid"))
    backlog = [await create(client, agent, agent_body(
        "erasure", customer_number=f"C-{3200 + n}", identity_verification="bankid"))
        for n in range(6)]  # one crm task each, 0.6 s: three rounds of two slots
    worker = asyncio.create_task(d.run())
    try:
        await until(lambda: completed(app, quick["id"]))
        await asyncio.sleep(0.7)  # more than ANSWER_DEFER_S; the backlog is still there
        assert not await completed(app, backlog[-1]["id"])
        assert not await built(app, quick["id"])
        for made in backlog:
            await until(lambda made=made: completed(app, made["id"]))
        await until(lambda: built(app, quick["id"]), timeout_s=1.0)
    finally:
        await d.stop()
        worker.cancel()
