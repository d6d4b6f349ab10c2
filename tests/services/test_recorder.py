"""Group commit of task outcomes (services.recorder) and the ordering wake-up.

Outcomes that arrive together share one transaction; one that cannot be written fails only its
own caller; what a batch writes is exactly what the same outcomes write one by one (the audit
chain included); and a task held back by per-customer ordering is claimed as soon as the task
it waited for leaves the queue, without waiting for the worker's idle poll.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import event, select

from app.connectors.base import Outcome
from app.models import AuditEvent, Task, TaskResult, TaskStatus
from app.services import audit, lifecycle, recorder
from app.services import tasks as task_service
from app.services.recorder import Recorder
from app.services.vault import Vault
from tests.conftest import BACKEND
from tests.helpers import agent_body, create
from tests.plans import unindexed_scans
from tests.services.fakes import fakes
from tests.services.test_dispatch import link, request_row, task_rows

LINKS = {"fortnox": "1001", "stadsnat": "sn-1001"}  # crm is keyed by the customer number


async def linked(client, agent) -> None:  # type: ignore[no-untyped-def]
    for system, external_id in LINKS.items():
        await link(client, agent, "C-1001", system, external_id)


def done(task: Task, vault: Vault) -> recorder.Work[str]:
    async def work(session):  # type: ignore[no-untyped-def]
        request = await lifecycle.lock_request(session, task.request_id)
        locked = await recorder.locked_task(session, task.id, task.request_id)
        assert locked is not None
        await task_service.apply_outcome(
            session, request=request, task=locked, vault=vault,
            outcome=Outcome(TaskStatus.done, "exported", data={"rows": [1, 2, 3]}))
        return locked.system
    return work


def commits(app) -> list[int]:  # type: ignore[no-untyped-def]
    counter = [0]

    @event.listens_for(app.state.engine.sync_engine, "commit")
    def _count(_connection) -> None:  # type: ignore[no-untyped-def]
        counter[0] += 1

    return counter


async def test_outcomes_arriving_together_share_one_transaction(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    await linked(client, agent)
    created = [await create(client, agent, agent_body("access", identity_verification="bankid"))
               for _ in range(3)]
    tasks = [t for c in created for t in await task_rows(app, c["id"])]
    assert len(tasks) >= 6
    writer, vault = Recorder(app.state.sessionmaker), app.state.vault
    counted = commits(app)
    systems = await asyncio.gather(*(writer.write(t.id, done(t, vault)) for t in tasks))
    assert sorted(systems) == sorted(t.system for t in tasks)
    # queued together, written together: one transaction (two if the writer had started on
    # the first before the others were queued), never one per outcome
    assert 1 <= counted[0] <= 2 < len(tasks)
    for c in created:
        assert {t.status for t in await task_rows(app, c["id"])} == {TaskStatus.done}
        row = await request_row(app, c["id"])
        assert row.status.value == "completed"
        async with app.state.sessionmaker() as session:
            report = await audit.verify_chain(session, row)
        assert report.ok and report.events == row.audit_seq
    # each outcome's data, written with the batch's other results in one statement
    async with app.state.sessionmaker() as session:
        results = {r.task_id: r for r in await session.scalars(
            select(TaskResult).where(TaskResult.task_id.in_([t.id for t in tasks])))}
    assert set(results) == {t.id for t in tasks}
    assert all(vault.open(r.ciphertext) == {"rows": [1, 2, 3]} for r in results.values())


async def test_outcomes_a_few_loop_turns_apart_share_one_transaction(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    """A request's tasks answer one after another, each a few turns of the event loop after
    the last: the writer waits for the loop to go quiet and writes them together."""
    await linked(client, agent)
    created = await create(client, agent, agent_body("access", identity_verification="bankid"))
    tasks = await task_rows(app, created["id"])
    writer, vault = Recorder(app.state.sessionmaker), app.state.vault
    counted = commits(app)

    async def later(task: Task, turns: int) -> str:
        for _ in range(turns):
            await asyncio.sleep(0)
        return await writer.write(task.id, done(task, vault))

    systems = await asyncio.gather(*(later(t, 3 * i) for i, t in enumerate(tasks)))
    assert sorted(systems) == sorted(t.system for t in tasks)
    assert counted[0] == 1 < len(tasks)
    assert (await request_row(app, created["id"])).status.value == "completed"


async def test_a_unit_that_fails_fails_alone(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    await linked(client, agent)
    created = await create(client, agent, agent_body("access", identity_verification="bankid"))
    tasks = await task_rows(app, created["id"])
    writer, vault = Recorder(app.state.sessionmaker), app.state.vault

    async def broken(session):  # type: ignore[no-untyped-def]
        await lifecycle.lock_request(session, tasks[0].request_id)
        raise RuntimeError("a bug in one outcome")

    results = await asyncio.gather(
        writer.write(tasks[0].id, done(tasks[0], vault)),
        writer.write(tasks[1].id, broken),
        *(writer.write(t.id, done(t, vault)) for t in tasks[2:]),
        return_exceptions=True)
    assert isinstance(results[1], RuntimeError)
    assert [r for i, r in enumerate(results) if i != 1] == [tasks[0].system] + [
        t.system for t in tasks[2:]]
    rows = {t.id: t for t in await task_rows(app, created["id"])}
    assert rows[tasks[1].id].status is TaskStatus.pending
    assert all(rows[t.id].status is TaskStatus.done for t in tasks if t.id != tasks[1].id)
    async with app.state.sessionmaker() as session:
        kinds = list(await session.scalars(select(AuditEvent.action).where(
            AuditEvent.request_id == uuid.UUID(created["id"]))))
    assert kinds.count("task_done") == len(tasks) - 1


async def test_an_unknown_task_is_not_found_and_others_are_written(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    from app.errors import NotFound
    from app.services.webhooks import apply_callback

    await linked(client, agent)
    created = await create(client, agent, agent_body("access", identity_verification="bankid"))
    tasks = await task_rows(app, created["id"])
    writer, vault = Recorder(app.state.sessionmaker), app.state.vault
    ghost = uuid.uuid4()

    async def callback(session):  # type: ignore[no-untyped-def]
        return await apply_callback(session, system="stadsnat", webhook_id="w-1", task_id=ghost,
                                    dispatch_round=0, outcome=Outcome(TaskStatus.done, "ok"),
                                    vault=vault)

    results = await asyncio.gather(writer.write(ghost, callback),
                                   *(writer.write(t.id, done(t, vault)) for t in tasks),
                                   return_exceptions=True)
    assert isinstance(results[0], NotFound)
    assert {t.status for t in await task_rows(app, created["id"])} == {TaskStatus.done}


@pytest.mark.parametrize("first", ["erasure", "access"])
async def test_a_task_held_back_by_ordering_is_claimed_when_the_earlier_leaves(
    client, agent, app, first: str,
) -> None:  # type: ignore[no-untyped-def]
    """A rectification waits for the customer's earlier request at crm; the worker is woken
    the moment that task leaves the queue (not by its idle poll)."""
    await linked(client, agent)
    earlier = await create(client, agent, agent_body(first, identity_verification="bankid"))
    later = await create(client, agent, agent_body(
        "rectification", identity_verification="bankid", details={"changes": {"email": "a@b.se"}}))
    # the app's own dispatcher and wake-up, as install_wakeup wired them in build_runtime
    d, wake = app.state.dispatcher, app.state.wake
    d.connectors = fakes()
    claimed = await d.claim(16)
    claimed_ids = {c.call.task_id for c in claimed}
    later_crm = next(t for t in await task_rows(app, later["id"]) if t.system == "crm")
    earlier_crm = next(t for t in await task_rows(app, earlier["id"]) if t.system == "crm")
    assert earlier_crm.id in claimed_ids and later_crm.id not in claimed_ids
    # held back: off the ready index, so no claim looks at it until the earlier task is done
    later_crm = next(t for t in await task_rows(app, later["id"]) if t.system == "crm")
    assert later_crm.held and later_crm.ready_at is None
    wake.clear()
    # an unrelated system's outcome is no reason to claim again
    other = next(c for c in claimed if c.call.system != "crm" and c.call.request_id ==
                 earlier_crm.request_id)
    await d.tasks.on_result(other, outcome=Outcome(TaskStatus.no_data, "nothing held"))
    assert not wake.is_set()
    crm = next(c for c in claimed if c.call.task_id == earlier_crm.id)
    await d.tasks.on_result(crm, outcome=Outcome(TaskStatus.no_data, "nothing held"))
    assert wake.is_set()
    released = next(t for t in await task_rows(app, later["id"]) if t.system == "crm")
    assert not released.held and released.ready_at is not None
    assert later_crm.id in {c.call.task_id for c in await d.claim(16)}


async def test_close_waits_for_every_unit_handed_over(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    """A stopping process writes the outcomes it was given, even when their callers gave up
    waiting (a worker's jobs cancelled at the end of its grace period)."""
    await linked(client, agent)
    created = await create(client, agent, agent_body("access", identity_verification="bankid"))
    tasks = await task_rows(app, created["id"])
    writer, vault = Recorder(app.state.sessionmaker), app.state.vault
    waiting = [asyncio.create_task(writer.write(t.id, done(t, vault))) for t in tasks]
    await asyncio.sleep(0)  # handed over
    for job in waiting:
        job.cancel()
    await writer.close()
    assert {t.status for t in await task_rows(app, created["id"])} == {TaskStatus.done}


@pytest.mark.skipif(BACKEND != "postgresql", reason="reads PostgreSQL's plan")
async def test_the_lock_statement_finds_its_rows_by_index(app) -> None:  # type: ignore[no-untyped-def]
    """The batch's lock reads the requests asked for and those of its tasks by primary key,
    and their tasks by the request index: never every request or every task (an ``OR`` of
    the two made it a walk of both tables, 293 ms at 120,000 requests)."""
    async with app.state.sessionmaker() as session, session.begin():
        scans = await unindexed_scans(session, recorder._LOCK,
                                      {"ids": [uuid.uuid4()], "task_ids": [uuid.uuid4()]})
    assert scans == []
