"""Tasks held back by per-customer ordering (app.dispatch.holds): off the ready index while
an earlier task of the customer is open at that system, released in order of receipt the
moment it leaves the queue, whatever took it out; a missed release is swept up and said."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import select, update

from app.connectors.base import Outcome
from app.db import utcnow
from app.dispatch import holds
from app.errors import PermanentError
from app.models import Task, TaskStatus
from tests.conftest import BACKEND
from tests.helpers import agent_body, create
from tests.plans import indexes_used, plan_of, unindexed_scans
from tests.services.fakes import fakes
from tests.services.test_dispatch import task_rows
from tests.services.test_recorder import linked

BANKID = {"identity_verification": "bankid"}


def rectification() -> dict[str, object]:
    return agent_body("rectification", **BANKID, details={"changes": {"email": "a@b.se"}})


async def crm_task(app, request: dict[str, object]) -> Task:  # type: ignore[no-untyped-def]
    return next(t for t in await task_rows(app, str(request["id"])) if t.system == "crm")


async def test_a_deep_queue_is_held_and_released_one_at_a_time_in_order(
    client, agent, app,
) -> None:  # type: ignore[no-untyped-def]
    """Five rectifications behind an erasure: after one claim each waits off the ready index
    (no claim looks at it again); each task that ends releases exactly the next one."""
    await linked(client, agent)
    first = await create(client, agent, agent_body("erasure", **BANKID))
    queue = [await create(client, agent, rectification()) for _ in range(5)]
    d = app.state.dispatcher
    d.connectors = fakes()
    claimed = {c.call.task_id: c for c in await d.claim(64)}
    head = await crm_task(app, first)
    assert head.id in claimed
    waiting = [await crm_task(app, r) for r in queue]
    assert all(t.held and t.ready_at is None and t.status is TaskStatus.pending
               for t in waiting)
    assert not {t.id for t in waiting} & set(claimed)
    current = claimed[head.id]
    for position, expected in enumerate(waiting):
        await d.tasks.on_result(current, outcome=Outcome(TaskStatus.done, "done"))
        rows = [await crm_task(app, r) for r in queue]
        assert [t.held for t in rows] == [i > position for i in range(len(rows))], position
        again = {c.call.task_id: c for c in await d.claim(64)}
        assert expected.id in again and not {t.id for t in rows[position + 1:]} & set(again)
        current = again[expected.id]


async def test_reads_behind_a_write_are_released_together(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    await linked(client, agent)
    first = await create(client, agent, agent_body("erasure", **BANKID))
    reads = [await create(client, agent, agent_body("access", **BANKID)) for _ in range(3)]
    later_write = await create(client, agent, rectification())
    d = app.state.dispatcher
    d.connectors = fakes()
    claimed = {c.call.task_id: c for c in await d.claim(64)}
    assert all([(await crm_task(app, r)).held for r in [*reads, later_write]])
    await d.tasks.on_result(claimed[(await crm_task(app, first)).id],
                            outcome=Outcome(TaskStatus.done, "erased"))
    assert not any([(await crm_task(app, r)).held for r in reads])
    assert (await crm_task(app, later_write)).held, "a write waits for the reads before it"


async def test_a_task_that_fails_releases_the_next(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    """A failed task waits for a person and holds nobody back: the next request goes on."""
    await linked(client, agent)
    first = await create(client, agent, rectification())
    second = await create(client, agent, rectification())
    d = app.state.dispatcher
    d.connectors = fakes()
    claimed = {c.call.task_id: c for c in await d.claim(64)}
    assert (await crm_task(app, second)).held
    await d.tasks.on_error(claimed[(await crm_task(app, first)).id],
                           PermanentError("refused"), transient=False)
    assert (await crm_task(app, first)).status is TaskStatus.failed
    assert (await crm_task(app, second)).id in {c.call.task_id for c in await d.claim(64)}


async def test_a_hold_is_checked_again_in_its_own_transaction(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    """What a claim found blocked is held only if it still is: the earlier task may have
    ended between the claim and the hold."""
    await linked(client, agent)
    first = await create(client, agent, rectification())
    second = await create(client, agent, rectification())
    sessionmaker = app.state.sessionmaker
    waiting, head = await crm_task(app, second), await crm_task(app, first)
    async with sessionmaker() as session:
        found = [row for row in await holds.candidates(session, waiting.ready_at)
                 if row[2] == "crm"]
    assert found == [(waiting.id, "C-1001", "crm")]
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Task).where(Task.id == head.id)
                              .values(status=TaskStatus.done, ready_at=None))
    assert await holds.hold(sessionmaker, found) == 0
    assert not (await crm_task(app, second)).held


async def test_the_sweep_releases_a_missed_hold_and_says_so(
    client, agent, app, caplog: pytest.LogCaptureFixture,
) -> None:  # type: ignore[no-untyped-def]
    await linked(client, agent)
    alone = await crm_task(app, await create(client, agent, rectification()))
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Task).where(Task.id == alone.id)
                              .values(held=True, ready_at=None))
    with caplog.at_level(logging.WARNING, logger="app.dispatch"):
        assert await holds.sweep(app.state.sessionmaker) == 1
    assert "release was missed" in caplog.text
    released = await crm_task(app, {"id": str(alone.request_id)})
    assert not released.held and released.ready_at == alone.created_at
    assert await holds.sweep(app.state.sessionmaker) == 0


def test_lock_keys_are_stable_and_tell_pairs_apart() -> None:
    assert holds.lock_key(("C-1", "crm")) == holds.lock_key(("C-1", "crm"))
    assert holds.lock_key(("C-1", "crm")) != holds.lock_key(("C-1", "fortnox"))
    assert holds.lock_key(("C-1\x00crm", "")) != holds.lock_key(("C-1", "crm"))


@pytest.mark.skipif(BACKEND != "postgresql", reason="reads PostgreSQL's plan")
async def test_holding_and_releasing_find_their_rows_by_index(app) -> None:  # type: ignore[no-untyped-def]
    ids = {"ids": [uuid.uuid4()]}
    pair = {"customer": "C-1", "system": "crm"}
    async with app.state.sessionmaker() as session, session.begin():
        for statement, params in ((holds._CANDIDATES, {"upto": utcnow()}),
                                  (holds._HOLD_ROWS, ids), (holds._HELD, pair),
                                  # the release's rows, as a SELECT (EXPLAIN of an UPDATE
                                  # cannot take the ids list here)
                                  (select(Task.id).where(holds._RELEASE.whereclause), ids)):
            assert await unindexed_scans(session, statement, params) == [], statement
        # the sweep reads the partial index of held tasks whole: as many as are held
        assert "ix_task_held" in indexes_used(await plan_of(session, holds._HELD_PAIRS))
        assert "ix_task_held" in indexes_used(await plan_of(session, holds._HELD, pair))
