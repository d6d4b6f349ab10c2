"""The rules of when a task may go to its partner (app.dispatch.rules), one by one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.dialects import sqlite

from app.connectors.base import Call
from app.dispatch import rules
from app.models import DsrRequest, RequestType, Task, TaskStatus
from app.partners import callback_systems

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def request(type_: RequestType, received: datetime) -> DsrRequest:
    return DsrRequest(id=uuid.uuid4(), type=type_, received_at=received, customer_number="C-1")


def task(req: DsrRequest, system: str, status: TaskStatus, finished: datetime | None = None
         ) -> Task:
    return Task(id=uuid.uuid4(), request_id=req.id, system=system, status=status,
                finished_at=finished, updated_at=finished or T0)


def test_a_write_after_an_earlier_erasure_at_that_system_knows_of_it() -> None:
    older = request(RequestType.erasure, T0)
    newest = request(RequestType.erasure, T0 + timedelta(days=1))
    rectify = request(RequestType.rectification, T0 + timedelta(days=2))
    erasures = [(older, task(older, "crm", TaskStatus.done, T0 + timedelta(hours=1))),
                (newest, task(newest, "crm", TaskStatus.retained, T0 + timedelta(days=1))),
                (older, task(older, "fortnox", TaskStatus.done, T0))]
    found = rules.erased_before(task(rectify, "crm", TaskStatus.pending), rectify, erasures)
    assert found is not None, "the latest earlier erasure there"
    assert (found.request_id, found.status, found.on) == (newest.id, TaskStatus.retained,
                                                          "2026-03-02")


def test_no_erasure_precedence_for_reads_later_erasures_or_other_systems() -> None:
    erasure = request(RequestType.erasure, T0 + timedelta(days=1))
    erased = [(erasure, task(erasure, "crm", TaskStatus.done, T0 + timedelta(days=1)))]
    access = request(RequestType.access, T0 + timedelta(days=2))
    assert RequestType.access not in rules.WRITES_AFTER_ERASURE
    assert rules.erased_before(task(access, "crm", TaskStatus.pending), access, erased) is None
    earlier = request(RequestType.restriction, T0)  # received before the erasure
    assert rules.erased_before(task(earlier, "crm", TaskStatus.pending), earlier, erased) is None
    later = request(RequestType.restriction, T0 + timedelta(days=2))
    assert rules.erased_before(task(later, "fortnox", TaskStatus.pending), later, erased) is None


def test_closing_asks_the_partners_that_call_back_and_abandons_the_rest_uncertainly() -> None:
    calling = set(callback_systems())
    assert calling and all(rules.asks_when_closing(system) for system in calling)
    assert not rules.asks_when_closing("no-such-system")
    call = Call(task_id=uuid.uuid4(), request_id=uuid.uuid4(), request_type=RequestType.erasure,
                action="erase", link="L-1", attempt=1, system="crm",
                callback_url="https://dsr.test/v1/webhooks/crm")
    outcome = rules.uncertain_abandon(call)
    assert outcome.status is TaskStatus.cancelled and outcome.uncertain
    assert "whether it was applied there is not known" in outcome.summary


def _sql(clause: object) -> str:
    return str(clause.compile(dialect=sqlite.dialect(),  # type: ignore[attr-defined]
                              compile_kwargs={"render_postcompile": True}))


def test_a_simulated_date_judges_scheduled_work_only_and_never_a_lift() -> None:
    real = rules.due(as_of=False).compile()
    assert set(real.params) == {"now"}
    simulated = rules.due(as_of=True).compile()
    assert set(simulated.params) >= {"now", "scheduled_by"}
    assert "task.action !=" in str(simulated), "a lift is never judged by a simulated date"


def test_reads_wait_only_for_earlier_writes_and_writes_for_everything_earlier() -> None:
    reads, writes = (_sql(rules.earlier_open(writes_only=flag)) for flag in (True, False))
    assert "task_1.writes IN (?)" in reads and "task_1.writes IN (?, ?)" in writes
    # every comparison is on the task's own columns (one probe of ix_task_customer_queue)
    for clause in (reads, writes):
        assert "task_1.received_at < task.received_at" in clause
        assert "task_1.request_id < task.request_id" in clause
