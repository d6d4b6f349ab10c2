"""The dispatcher: claiming, leases, retries with backoff, giving up, agent retry, polling."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.connectors import base
from app.db import create_engine, create_sessionmaker, utcnow
from app.errors import PermanentError, Throttled, TransientError
from app.models import AuditEvent, DsrRequest, Task, TaskResult, TaskStatus
from app.services import audit
from app.services.dispatch import Dispatcher
from app.worker.retry import backoff_delay
from tests.conftest import BACKEND, make_settings
from tests.helpers import agent_body, create
from tests.services.fakes import FakeConnector, fakes

FAST = {"retry_base_s": 0.01, "retry_max_s": 0.02, "task_max_attempts": 3}


def dispatcher(app, connectors, **over) -> Dispatcher:  # type: ignore[no-untyped-def]
    settings = make_settings(app.state.settings.database_url, **{**FAST, **over})
    return Dispatcher(settings, app.state.sessionmaker, connectors)


async def until_settled(d: Dispatcher, rounds: int = 50) -> None:
    for _ in range(rounds):
        await d.run_until_idle()
        await asyncio.sleep(0.03)


async def task_rows(app, request_id: str) -> list[Task]:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(
            select(Task).where(Task.request_id == uuid.UUID(request_id))))


async def request_row(app, request_id: str) -> DsrRequest:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session:
        row = await session.get(DsrRequest, uuid.UUID(request_id))
        assert row is not None
        return row


async def link(client, agent, customer: str, system: str, ext: str) -> None:  # type: ignore[no-untyped-def]
    response = await client.put(f"/v1/links/{customer}/{system}", json={"external_id": ext},
                                headers=agent)
    assert response.status_code == 200, response.text


def test_backoff_grows_and_is_capped() -> None:
    import random

    rng = random.Random(7)
    delays = [backoff_delay(n, base=1, cap=30, rng=rng) for n in range(1, 9)]
    assert 0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2 and 2 <= delays[2] <= 4
    assert all(15 <= d <= 30 for d in delays[5:])


async def test_all_tasks_done_completes_the_request(client, portal, agent, app) -> None:  # type: ignore[no-untyped-def]
    await link(client, agent, "C-1001", "fortnox", "1001")
    created = await create(client, portal, {"type": "access"})
    connectors = fakes(fortnox=lambda call: base.retained(
        "kept", [base.Retained("invoices", "Bokföringslagen 7 kap. 2 §", "2033-12-31")]))
    await dispatcher(app, connectors).run_until_idle()
    body = (await client.get(f"/v1/requests/{created['id']}", headers=portal)).json()
    assert body["status"] == "completed"
    statuses = {t["system"]: t["status"] for t in body["tasks"]}
    assert statuses == {"crm": "done", "fortnox": "retained"}
    fortnox = next(t for t in body["tasks"] if t["system"] == "fortnox")
    assert fortnox["outcome"]["retained"][0]["until"] == "2033-12-31"
    call = connectors["fortnox"].calls[0]
    assert call.link == "1001" and call.task_id == uuid.UUID(fortnox["id"])
    assert connectors["crm"].calls[0].link == "C-1001"
    async with app.state.sessionmaker() as session:
        stored = (await session.scalars(select(TaskResult))).one()
        assert b"things" not in stored.ciphertext  # encrypted at rest
        assert app.state.vault.open(stored.ciphertext) == {"things": [1, 2]}
        request = await session.get(DsrRequest, uuid.UUID(created["id"]))
        assert (await audit.verify_chain(session, request)).ok


async def test_nothing_is_dispatched_before_verification(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body())
    connectors = fakes()
    d = dispatcher(app, connectors)
    await d.run_until_idle()
    assert connectors["crm"].calls == []
    await client.post(f"/v1/requests/{created['id']}/verify", json={"method": "bankid"},
                      headers=agent)
    await d.run_until_idle()
    assert len(connectors["crm"].calls) == 1
    assert (await request_row(app, created["id"])).status == "completed"


async def test_transient_errors_are_retried_with_backoff(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    outcomes = iter([TransientError("crm answered 503"), TransientError("crm timed out"),
                     base.done("ok")])

    def flaky(call: base.Call) -> base.Outcome:
        item = next(outcomes)
        if isinstance(item, Exception):
            raise item
        return item

    created = await create(client, portal, {"type": "erasure"})
    # a backoff long enough that the retry is not yet due when the first pass ends
    d = dispatcher(app, fakes(crm=flaky), retry_base_s=0.2, retry_max_s=0.4)
    await d.run_until_idle()
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.pending and task.attempts == 1
    assert task.next_attempt_at is not None and task.next_attempt_at > utcnow()
    assert task.last_error == "crm answered 503"
    await until_settled(d)
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.done and task.attempts == 3


async def test_retry_after_is_honoured(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    def throttled(call: base.Call) -> base.Outcome:
        raise TransientError("rate limited", retry_after=120)

    created = await create(client, portal, {"type": "access"})
    before = utcnow()
    await dispatcher(app, fakes(crm=throttled)).run_until_idle()
    (task,) = await task_rows(app, created["id"])
    assert task.next_attempt_at is not None
    assert timedelta(seconds=119) < task.next_attempt_at - before < timedelta(seconds=125)


async def test_give_up_then_agent_retries(client, portal, agent, app) -> None:  # type: ignore[no-untyped-def]
    broken = {"on": True}

    def unreliable(call: base.Call) -> base.Outcome:
        if broken["on"]:
            raise TransientError("crm could not be reached")
        return base.done("ok")

    created = await create(client, portal, {"type": "access"})
    d = dispatcher(app, fakes(crm=unreliable))
    await until_settled(d, rounds=30)
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    assert body["status"] == "action_required"
    (task,) = body["tasks"]
    assert task["status"] == "failed" and task["attempts"] == 3
    assert "gave up after 3 attempts" in task["last_error"]
    events = (await client.get(f"/v1/requests/{created['id']}/events", headers=agent)).json()
    last = events["events"][-1]
    assert last["to_status"] == "action_required"
    assert last["data"]["waiting_on"][0]["reason"].startswith("crm could not be reached")

    broken["on"] = False
    retried = await client.post(f"/v1/requests/{created['id']}/tasks/{task['id']}/retry",
                                headers=agent)
    assert retried.json()["status"] == "in_progress"
    assert retried.json()["tasks"][0]["status"] == "pending"
    await d.run_until_idle()
    assert (await request_row(app, created["id"])).status == "completed"
    again = await client.post(f"/v1/requests/{created['id']}/tasks/{task['id']}/retry",
                              headers=agent)
    assert again.status_code == 409


async def test_permanent_error_fails_at_once(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    def refused(call: base.Call) -> base.Outcome:
        raise PermanentError("crm refused the call (400)")

    created = await create(client, portal, {"type": "access"})
    await dispatcher(app, fakes(crm=refused)).run_until_idle()
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.failed and task.attempts == 1
    assert (await request_row(app, created["id"])).status == "action_required"


async def test_connector_crash_fails_the_task_not_the_worker(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    def crash(call: base.Call) -> base.Outcome:
        raise KeyError("customer 19811218-9876")

    created = await create(client, portal, {"type": "access"})
    await dispatcher(app, fakes(crm=crash)).run_until_idle()
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.failed
    assert "19811218" not in (task.last_error or "")


async def test_missing_link_fails_clearly(client, portal, agent, app) -> None:  # type: ignore[no-untyped-def]
    await link(client, agent, "C-1001", "eniro", "HIT-1")
    created = await create(client, portal, {"type": "access"})
    async with app.state.sessionmaker() as session, session.begin():
        from app.models import Link

        for row in await session.scalars(select(Link)):
            await session.delete(row)
    await dispatcher(app, fakes()).run_until_idle()
    eniro = next(t for t in await task_rows(app, created["id"]) if t.system == "eniro")
    assert eniro.status is TaskStatus.failed and "no link" in (eniro.last_error or "")


async def test_manual_task_waits_for_an_agent(client, portal, agent, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, portal, {"type": "objection", "details": {
        "processing": "legitimate_interest", "activity": "Trafikanalys",
        "grounds": "Min situation"}})
    await dispatcher(app, fakes(crm=lambda c: base.manual("weigh it"))).run_until_idle()
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    assert body["status"] == "action_required" and body["tasks"][0]["status"] == "manual"
    task_id = body["tasks"][0]["id"]
    bad = await client.post(f"/v1/requests/{created['id']}/tasks/{task_id}/complete",
                            json={"outcome": "retained", "note": "kept"}, headers=agent)
    assert bad.status_code == 409
    missing = await client.post(f"/v1/requests/{created['id']}/tasks/{uuid.uuid4()}/complete",
                                json={"outcome": "done", "note": "x"}, headers=agent)
    assert missing.status_code == 404
    done = await client.post(f"/v1/requests/{created['id']}/tasks/{task_id}/complete",
                             json={"outcome": "done", "decision": "upheld",
                                   "note": "Objection upheld; processing on legitimate "
                                   "interest stopped."}, headers=agent)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"


async def test_expired_lease_is_taken_again_and_late_result_dropped(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, portal, {"type": "access"})
    crashed = dispatcher(app, fakes(), lease_s=30)
    claimed = await crashed.claim(10)  # then "dies" without running the task
    assert len(claimed) == 1
    survivor = fakes()
    other = dispatcher(app, survivor, lease_s=30)
    assert await other.claim(10) == []  # lease still held
    async with app.state.sessionmaker() as session, session.begin():  # ...until it runs out
        task = await session.get(Task, claimed[0].call.task_id)
        task.lease_until = utcnow() - timedelta(seconds=1)
    retaken = await other.claim(10)
    assert [c.call.task_id for c in retaken] == [claimed[0].call.task_id]
    assert retaken[0].call.attempt == 2
    await other.run_one(retaken[0])
    await crashed.run_one(claimed[0])  # the dead worker's late answer changes nothing
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.done and task.lease_owner is None
    async with app.state.sessionmaker() as session:
        events = await audit.list_events(session, uuid.UUID(created["id"]))
    assert sum(1 for e in events if e.action == "task_done") == 1


async def test_lost_callback_is_found_by_polling(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, portal, {"type": "access"})
    connectors = fakes(crm=lambda c: base.awaiting_callback(ref="job-1"))
    d = dispatcher(app, connectors, callback_timeout_s=0.05)
    await d.run_until_idle()
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.awaiting_callback and task.external_ref == "job-1"
    await asyncio.sleep(0.1)
    connectors["crm"].poll_behaviour = lambda c: base.done("found by polling")
    await d.run_until_idle()
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.done and task.attempts == 1


async def test_in_process_worker_wakes_on_commit(client, portal, app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.worker import runner

    monkeypatch.setattr(runner, "IDLE_POLL_S", 3600.0)  # only a wake-up can get it going
    d = dispatcher(app, fakes())
    d.wake = app.state.wake
    finished = asyncio.Event()
    d.connectors["crm"].behaviour = lambda call: (finished.set(), base.done("ok"))[1]
    runner = asyncio.create_task(d.run())
    try:
        await asyncio.sleep(0.05)  # the worker is now asleep on its (hour-long) idle wait
        await create(client, portal, {"type": "access"})
        await asyncio.wait_for(finished.wait(), timeout=20)
    finally:
        await d.stop()
        runner.cancel()


async def test_a_starved_worker_claims_when_a_quarter_of_its_slots_are_free(client, agent, app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """More is due than the worker has slots for: a request posted while one slot is free does
    not make it claim that one slot (a burst's claims were one or two tasks each); it claims
    again once a quarter of its slots are free, woken by its own tasks ending (not by its idle
    poll), and everything is carried out."""
    from app.worker import runner

    monkeypatch.setattr(runner, "IDLE_POLL_S", 3600.0)  # only wake-ups can get it going
    d = app.state.dispatcher  # the one the commit hooks wake
    d.settings = make_settings(app.state.settings.database_url, **FAST, worker_concurrency=8)
    crm = FakeConnector("crm")
    quick = "C-3000"  # its task ends at once; the others stay in flight for a while

    async def execute(call):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.01 if call.link == quick else 1.0)
        return base.done("ok")

    crm.execute = execute  # type: ignore[method-assign]
    d.connectors = {"crm": crm}
    claims: list[int] = []
    claim = d.claim

    async def counted(limit: int):  # type: ignore[no-untyped-def]
        batch = await claim(limit)
        if limit:  # claim(0) returns at once, without a transaction
            claims.append(len(batch))
        return batch

    monkeypatch.setattr(d, "claim", counted)

    async def erasure(n: int) -> str:  # one crm task each; nothing orders one after another
        made = await create(client, agent, agent_body(
            "erasure", customer_number=f"C-{3000 + n}", identity_verification="bankid"))
        return str(made["id"])

    first = [await erasure(n) for n in range(9)]  # one more than the worker has slots
    runner = asyncio.create_task(d.run())
    try:
        for _ in range(100):
            if claims and (await request_row(app, first[0])).status.value == "completed":
                break
            await asyncio.sleep(0.01)
        assert claims == [8], "every slot taken in one claim: the worker is starved"
        later = await erasure(9)  # one slot is free now, seven tasks still in flight
        await asyncio.sleep(0.1)
        assert claims == [8], "no claim of one slot for a request posted meanwhile"
        for _ in range(300):
            rows = [await request_row(app, r) for r in [*first, later]]
            if all(r.status.value == "completed" for r in rows):
                break
            await asyncio.sleep(0.02)
        assert all(r.status.value == "completed" for r in rows)
        assert sum(claims) == 10 and len(claims) <= 3
    finally:
        await d.stop()
        runner.cancel()


async def test_while_the_api_is_busy_the_worker_keeps_a_quarter_of_its_slots_busy(client, agent, app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Intake first: with BUSY API calls in flight, a worker with a backlog runs a quarter of
    its slots' tasks; when the API is quiet again it is woken (not by its idle poll) and
    fills them all."""
    import contextlib

    from app.services.foreground import BUSY, Foreground
    from app.worker import runner

    monkeypatch.setattr(runner, "IDLE_POLL_S", 3600.0)  # only wake-ups can get it going
    d = app.state.dispatcher  # the one the commit hooks wake
    d.settings = make_settings(app.state.settings.database_url, **FAST, worker_concurrency=8)
    foreground = Foreground()
    d.foreground = foreground
    foreground.on_quiet(d.pacing.foreground_quiet)
    crm = FakeConnector("crm")
    release = asyncio.Event()
    in_flight: list[int] = []
    now = 0

    async def execute(call):  # type: ignore[no-untyped-def]
        nonlocal now
        now += 1
        in_flight.append(now)
        await release.wait()
        now -= 1
        return base.done("ok")

    crm.execute = execute  # type: ignore[method-assign]
    d.connectors = {"crm": crm}
    made = [await create(client, agent, agent_body(
        "erasure", customer_number=f"C-{3100 + n}", identity_verification="bankid"))
        for n in range(12)]  # one crm task each; more than the worker's slots
    with contextlib.ExitStack() as api:
        for _ in range(BUSY):
            api.enter_context(foreground.serving())
        runner = asyncio.create_task(d.run())
        try:
            for _ in range(100):
                if in_flight:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
            assert max(in_flight) == 2, "a quarter of 8 slots while the API is busy"
            api.close()  # the API is quiet again
            for _ in range(200):
                if now == 8:
                    break
                await asyncio.sleep(0.01)
            assert now == 8, "woken, it fills every slot"
            release.set()
            for _ in range(300):
                rows = [await request_row(app, str(r["id"])) for r in made]
                if all(r.status.value == "completed" for r in rows):
                    break
                await asyncio.sleep(0.02)
            assert all(r.status.value == "completed" for r in rows)
        finally:
            release.set()
            await d.stop()
            runner.cancel()


async def test_intake_calls_count_as_the_api_being_busy_and_callbacks_do_not(client, portal, app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """What the worker yields to: calls of the API under /v1, while they are served; not the
    partners' callbacks (the worker's own work), health or the sandbox."""
    from app.services.foreground import Foreground

    foreground: Foreground = app.state.foreground
    seen: list[int] = []
    verify = app.state.verifier.verify

    def watching(token: str):  # type: ignore[no-untyped-def]
        seen.append(foreground.in_flight)
        return verify(token)

    monkeypatch.setattr(app.state.verifier, "verify", watching)
    await create(client, portal, {"type": "access"})
    assert seen == [1] and foreground.in_flight == 0
    assert Foreground.counts("/v1/requests") and Foreground.counts("/v1/requests/x/events")
    assert not any(Foreground.counts(path) for path in (
        "/v1/webhooks/stadsnat", "/healthz", "/metrics", "/sandbox/crm/customers/1"))


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks with SKIP LOCKED are PostgreSQL's")
async def test_two_workers_never_run_the_same_task(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    for n in range(30):  # erasures of 30 customers: nothing orders one after another
        await create(client, agent, agent_body("erasure", customer_number=f"C-{2000 + n}",
                                               identity_verification="bankid"))
    shared = FakeConnector("crm", delay=0.02)
    workers = []
    engines = []
    for _ in range(2):
        engine = create_engine(app.state.settings.database_url)
        engines.append(engine)
        settings = make_settings(app.state.settings.database_url, worker_concurrency=8)
        workers.append(Dispatcher(settings, create_sessionmaker(engine), {"crm": shared}))
    try:
        claims = await asyncio.gather(*(w.claim(20) for w in workers))
        ids = [c.call.task_id for batch in claims for c in batch]
        assert len(ids) == len(set(ids)) == 30
        assert all(claims), "both workers got a share"
        await asyncio.gather(*(w.run_one(c) for w, batch in zip(workers, claims, strict=True)
                               for c in batch))
        await asyncio.gather(*(w.run_until_idle() for w in workers))
    finally:
        for engine in engines:
            await engine.dispose()
    assert shared.max_in_flight_per_task == 1
    assert len(shared.calls) == 30


@pytest.mark.skipif(BACKEND != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")
async def test_worker_in_another_process_is_woken_by_notify(client, portal, app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.worker import runner

    monkeypatch.setattr(runner, "IDLE_POLL_S", 3600.0)  # only NOTIFY can wake it
    engine = create_engine(app.state.settings.database_url)
    finished = asyncio.Event()
    connectors = fakes(crm=lambda call: (finished.set(), base.done("ok"))[1])
    remote = Dispatcher(make_settings(app.state.settings.database_url),
                        create_sessionmaker(engine), connectors)  # its own engine and event
    jobs = [asyncio.create_task(remote.listen()), asyncio.create_task(remote.run())]
    try:
        await asyncio.sleep(0.3)  # listening and asleep
        await create(client, portal, {"type": "access"})
        await asyncio.wait_for(finished.wait(), timeout=20)
    finally:
        await remote.stop()
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await engine.dispose()


async def test_housekeeping_purges_old_receipts_and_keys(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    from app.models import IdempotencyKey, WebhookReceipt
    from app.retention.housekeeping import purge_housekeeping

    await client.post("/v1/requests", json=agent_body(),
                      headers={**agent, "Idempotency-Key": "old-key"})
    async with app.state.sessionmaker() as session, session.begin():
        session.add(WebhookReceipt(system="eniro", webhook_id="old",
                                   received_at=utcnow() - timedelta(days=8)))
        session.add(WebhookReceipt(system="eniro", webhook_id="new"))
        for key in await session.scalars(select(IdempotencyKey)):
            key.created_at = utcnow() - timedelta(days=8)
    async with app.state.sessionmaker() as session, session.begin():
        counts = await purge_housekeeping(session, settings=app.state.settings, now=utcnow())
    assert counts == {"webhook_receipts": 1, "idempotency_keys": 1, "cases": 0}
    async with app.state.sessionmaker() as session:
        assert [r.webhook_id for r in await session.scalars(select(WebhookReceipt))] == ["new"]
        assert list(await session.scalars(select(IdempotencyKey))) == []
        assert (await session.scalars(select(DsrRequest))).first() is not None


async def test_case_records_are_deleted_after_retention(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    from app.retention.housekeeping import purge_housekeeping

    old = await create(client, agent, agent_body())
    await client.post(f"/v1/requests/{old['id']}/cancel", json={"note": "x"}, headers=agent)
    recent = await create(client, agent, agent_body())
    await client.post(f"/v1/requests/{recent['id']}/cancel", json={"note": "x"}, headers=agent)
    still_open = await create(client, agent, agent_body())
    async with app.state.sessionmaker() as session, session.begin():
        row = await session.get(DsrRequest, uuid.UUID(old["id"]))
        row.finished_at = utcnow() - timedelta(days=app.state.settings.case_retention_days + 1)
    async with app.state.sessionmaker() as session, session.begin():
        counts = await purge_housekeeping(session, settings=app.state.settings, now=utcnow())
    assert counts["cases"] == 1
    async with app.state.sessionmaker() as session:
        left = {str(r.id) for r in await session.scalars(select(DsrRequest))}
        events = list(await session.scalars(select(AuditEvent)))
    assert left == {recent["id"], still_open["id"]}
    assert all(str(e.request_id) != old["id"] for e in events)


async def test_worker_builds_the_response_once_answered(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    from app.models import ResponsePackage

    d = dispatcher(app, fakes())
    d.wake = app.state.wake
    runner = asyncio.create_task(d.run())
    try:
        created = await create(client, portal, {"type": "erasure"})

        async def package_stored() -> ResponsePackage:
            while True:
                async with app.state.sessionmaker() as session:
                    found = await session.get(ResponsePackage, uuid.UUID(created["id"]))
                if found is not None:
                    return found
                await asyncio.sleep(0.05)

        package = await asyncio.wait_for(package_stored(), timeout=20)
    finally:
        await d.stop()
        runner.cancel()
    body = (await client.get(f"/v1/requests/{created['id']}", headers=portal)).json()
    assert body["status"] == "completed"
    assert body["response"]["sha256"] == package.sha256
    assert body["response_url"]


async def test_same_worker_retaking_a_task_drops_its_own_late_answer(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, portal, {"type": "access"})
    d = dispatcher(app, fakes(crm=lambda c: base.done(f"attempt {c.attempt}")))
    first = await d.claim(10)
    async with app.state.sessionmaker() as session, session.begin():
        task = await session.get(Task, first[0].call.task_id)
        task.lease_until = utcnow() - timedelta(seconds=1)
    second = await d.claim(10)
    assert [c.call.task_id for c in second] == [first[0].call.task_id]
    assert first[0].lease != second[0].lease
    await d.run_one(first[0])  # the stale claim's answer is not recorded
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.running
    await d.run_one(second[0])
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.done and task.outcome["summary"] == "attempt 2"


async def test_throttling_does_not_use_up_attempts(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    answers = iter([*(Throttled("fortnox is rate limiting (429)", retry_after=0)
                                for _ in range(5)), base.done("ok")])

    def paced(call: base.Call) -> base.Outcome:
        item = next(answers)
        if isinstance(item, Exception):
            raise item
        return item

    created = await create(client, portal, {"type": "access"})
    d = dispatcher(app, fakes(crm=paced), task_max_attempts=2)
    await until_settled(d, rounds=20)
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.done and task.attempts == 1


def kept_until(until: str) -> base.Outcome:
    return base.retained("kept", [base.Retained("invoices", "Bokföringslagen 7 kap. 2 §", until)])


@pytest.mark.parametrize("polled", [False, True])
async def test_an_impossible_date_in_an_answer_fails_the_task(client, portal, agent, app, polled) -> None:  # type: ignore[no-untyped-def]
    """retained until 9999-12-31 (whose next day does not exist) escaped run_one: the task
    stayed open, was taken again every lease, and the request never needed an agent."""
    await link(client, agent, "C-1001", "fortnox", "1001")
    created = await create(client, portal, {"type": "erasure"})
    connectors = fakes(fortnox=(lambda c: base.awaiting_callback(ref="job-1")) if polled
                       else (lambda c: kept_until("9999-12-31")))
    d = dispatcher(app, connectors, callback_timeout_s=0.05)
    await d.run_until_idle()
    if polled:
        await asyncio.sleep(0.1)
        connectors["fortnox"].poll_behaviour = lambda c: kept_until("9999-12-31")
        await d.run_until_idle()
    tasks = await task_rows(app, created["id"])
    fortnox = next(t for t in tasks if t.system == "fortnox")
    assert fortnox.status is TaskStatus.failed and fortnox.lease_owner is None
    assert "until date is after 2100-12-31" in (fortnox.last_error or "")
    assert not any(t.action == "erase_retained" for t in tasks)
    assert (await request_row(app, created["id"])).status == "action_required"


async def test_an_unexpected_error_recording_an_answer_fails_the_task(client, portal, app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Any exception while an answer is recorded ends the task failed with a reason an agent
    can read (no stack trace, no data), never an open task nobody hears of."""
    from app.services import tasks as task_service

    real = task_service.apply_outcome

    async def broken(session, **kw):  # type: ignore[no-untyped-def]
        if kw["outcome"].status is TaskStatus.done:
            raise ValueError("customer 19811218-9876 could not be stored")
        await real(session, **kw)

    monkeypatch.setattr(task_service, "apply_outcome", broken)
    created = await create(client, portal, {"type": "access"})
    d = dispatcher(app, fakes())
    await d.run_until_idle()
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.failed and task.lease_owner is None
    assert "could not record crm's answer" in (task.last_error or "")
    assert "19811218" not in (task.last_error or "") and "Traceback" not in task.last_error
    assert (await request_row(app, created["id"])).status == "action_required"
    assert await d.claim(10) == []  # nothing is left to be taken again
