"""The request lifecycle under concurrency and bad partners (issue: never lose, orphan or undo).

Cancel and reject at every moment, per-customer ordering with erasure, bounded throttling,
answers checked against their subject, retry rounds with new partner-facing ids. Partners are
scripted fakes driven step by step (claim, act, run), so every moment is hit exactly.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.connectors import base
from app.connectors.base import parse_partner_ref, retry_after_seconds
from app.db import utcnow
from app.errors import PROBLEM_BASE, MaybeDelivered, PermanentError, Throttled, TransientError
from app.models import AuditEvent, Task, TaskResult, TaskStatus
from app.services import lifecycle
from tests.api.test_webhooks import signed
from tests.helpers import agent_body, create
from tests.services.fakes import fakes
from tests.services.test_dispatch import dispatcher, link, request_row, task_rows, until_settled

CLOSE_BODIES = {"cancel": {"note": "Withdrawn by the customer"},
                "reject": {"reason": "excessive", "note": "Fifth identical request"}}
FINAL_OF = {"cancel": "cancelled", "reject": "rejected"}


async def events(client, agent, request_id: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    trail = (await client.get(f"/v1/requests/{request_id}/events", headers=agent)).json()
    assert trail["chain_intact"] is True
    result: list[dict[str, Any]] = trail["events"]
    return result


async def close(client, agent, request_id: str, action: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await client.post(f"/v1/requests/{request_id}/{action}",
                                 json=CLOSE_BODIES[action], headers=agent)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_nothing_left_open(body: dict[str, Any]) -> None:
    """A final request never has a task that is not final."""
    assert body["status"] in ("completed", "rejected", "cancelled")
    open_tasks = [t for t in body["tasks"]
                  if t["status"] not in {s.value for s in lifecycle.TASK_SETTLED}]
    assert open_tasks == []


# -- cancel and reject at each moment -------------------------------------------------------------


@pytest.mark.parametrize("action", ["cancel", "reject"])
async def test_close_before_dispatch_cancels_every_task(client, agent, app, action) -> None:  # type: ignore[no-untyped-def]
    created = await create(client, agent, agent_body("erasure", identity_verification="bankid"))
    body = await close(client, agent, created["id"], action)
    assert body["status"] == FINAL_OF[action] and body["closing_as"] is None
    assert_nothing_left_open(body)
    assert {t["status"] for t in body["tasks"]} == {"cancelled"}
    connectors = fakes()
    await dispatcher(app, connectors).run_until_idle()
    assert connectors["crm"].calls == []  # nothing is sent after the close
    trail = await events(client, agent, created["id"])
    assert [e["action"] for e in trail][-2:] == ["task_cancelled", FINAL_OF[action]]


@pytest.mark.parametrize("action", ["cancel", "reject"])
async def test_close_with_calls_running_records_what_the_partner_did(  # type: ignore[no-untyped-def]
    client, agent, app, action
) -> None:
    await link(client, agent, "C-1001", "fortnox", "1001")
    created = await create(client, agent, agent_body("erasure", identity_verification="bankid"))
    connectors = fakes(fortnox=lambda c: base.retained("Card anonymised; invoices kept.", [
        base.Retained("invoices", "Bokföringslagen 7 kap. 2 §", "2033-12-31")]))
    d = dispatcher(app, connectors)
    claimed = await d.claim(10)  # both tasks are now running: the calls are under way
    assert len(claimed) == 2

    body = await close(client, agent, created["id"], action)
    assert body["status"] == "in_progress" and body["closing_as"] == FINAL_OF[action]
    assert {t["status"] for t in body["tasks"]} == {"running"}
    # no other action is accepted meanwhile
    again = await client.post(f"/v1/requests/{created['id']}/extend",
                              json={"months": 1, "reason": "x"}, headers=agent)
    assert again.status_code == 409 and "being" in again.json()["detail"]
    assert again.json()["type"] == PROBLEM_BASE + "request-closing"

    for item in claimed:  # the partners answer: the erasure was carried out
        await d.run_one(item)
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    assert body["status"] == FINAL_OF[action]
    assert_nothing_left_open(body)
    statuses = {t["system"]: t["status"] for t in body["tasks"] if not t["scheduled_for"]}
    assert statuses == {"crm": "done", "fortnox": "retained"}
    # what Fortnox kept with a date is scheduled to be erased then, even though cancelled
    deferred = [(t["system"], t["status"]) for t in body["tasks"] if t["scheduled_for"]]
    assert deferred == [("fortnox", "scheduled")]
    trail = [e["action"] for e in await events(client, agent, created["id"])]
    assert f"{action}_requested" in trail
    assert "task_done" in trail and "task_retained" in trail  # every outcome is audited
    assert trail[-1] == f"request_{FINAL_OF[action]}"


@pytest.mark.parametrize("action", ["cancel", "reject"])
async def test_close_with_callbacks_outstanding_waits_for_them(  # type: ignore[no-untyped-def]
    client, agent, app, action
) -> None:
    await link(client, agent, "C-1001", "stadsnat", "SN-1")
    created = await create(client, agent, agent_body("erasure", identity_verification="bankid"))
    connectors = fakes(stadsnat=lambda c: base.awaiting_callback(c.partner_ref))
    d = dispatcher(app, connectors)
    await d.run_until_idle()
    body = await close(client, agent, created["id"], action)
    assert body["closing_as"] == FINAL_OF[action]
    stadsnat = next(t for t in body["tasks"] if t["system"] == "stadsnat")
    assert stadsnat["status"] == "awaiting_callback"

    # the partner calls back: the erasure it carried out is recorded, then the request closes
    payload = {"subject_request_id": stadsnat["id"], "request_status": "completed",
               "subject_identities": [{"identity_type": "controller_customer_id",
                                       "identity_value": "SN-1"}],
               "result": {"outcome": "done", "summary": "Connection history erased."}}
    raw, headers = signed("stadsnat", payload)
    answer = await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)
    assert answer.json()["status"] == "applied"
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    assert body["status"] == FINAL_OF[action]
    assert_nothing_left_open(body)
    stadsnat = next(t for t in body["tasks"] if t["system"] == "stadsnat")
    assert stadsnat["status"] == "done"
    assert stadsnat["outcome"]["summary"] == "Connection history erased."


async def test_closing_poll_of_a_lost_job_does_not_send_it_again(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    await link(client, agent, "C-1001", "stadsnat", "SN-1")
    created = await create(client, agent, agent_body("erasure", identity_verification="bankid"))
    connectors = fakes(stadsnat=lambda c: base.awaiting_callback(c.partner_ref))
    seen: list[bool] = []

    def lost(call: base.Call) -> base.Outcome | None:
        seen.append(call.resend_if_lost)
        return base.Outcome(TaskStatus.cancelled, "stadsnat never received the request.")

    connectors["stadsnat"].poll_behaviour = lost
    d = dispatcher(app, connectors)
    await d.run_until_idle()  # handed over; its poll is not due for a long while
    await close(client, agent, created["id"], "cancel")
    async with app.state.sessionmaker() as session, session.begin():
        task = (await session.scalars(select(Task).where(Task.system == "stadsnat"))).one()
        task.next_attempt_at = utcnow()  # the callback never came: time to ask
    await until_settled(d, rounds=5)
    assert seen and seen[0] is False
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    assert body["status"] == "cancelled"
    assert_nothing_left_open(body)


async def test_close_during_a_retry_after_a_timeout_says_the_outcome_is_unknown(  # type: ignore[no-untyped-def]
    client, agent, app
) -> None:
    await link(client, agent, "C-1001", "stadsnat", "SN-1")

    def timeout(call: base.Call) -> base.Outcome:
        raise MaybeDelivered(f"{call.system} did not answer in time")

    created = await create(client, agent, agent_body("erasure", identity_verification="bankid"))
    d = dispatcher(app, fakes(crm=timeout, stadsnat=timeout), retry_base_s=30, retry_max_s=60)
    await d.run_until_idle()
    tasks = {t.system: t for t in await task_rows(app, created["id"])}
    assert all(t.status is TaskStatus.pending and t.delivery_uncertain for t in tasks.values())
    body = await close(client, agent, created["id"], "cancel")
    by_system = {t["system"]: t for t in body["tasks"]}
    # the register cannot be asked: cancelled, and the answer says the outcome is unknown
    assert by_system["crm"]["status"] == "cancelled"
    assert by_system["crm"]["outcome"]["uncertain"] is True
    # stadsnät can be asked: it is followed up before the request closes
    assert by_system["stadsnat"]["status"] == "awaiting_callback"
    assert body["status"] == "in_progress" and body["closing_as"] == "cancelled"


async def test_a_failed_outcome_while_closing_ends_cancelled_with_the_reason(  # type: ignore[no-untyped-def]
    client, agent, app
) -> None:
    def refused(call: base.Call) -> base.Outcome:
        raise PermanentError("crm refused the call (400)")

    created = await create(client, agent, agent_body("erasure", identity_verification="bankid"))
    d = dispatcher(app, fakes(crm=refused))
    claimed = await d.claim(5)
    await close(client, agent, created["id"], "cancel")
    for item in claimed:
        await d.run_one(item)
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    assert body["status"] == "cancelled"
    assert_nothing_left_open(body)
    assert "crm refused the call" in body["tasks"][0]["outcome"]["summary"]


async def test_cancelled_answer_lists_what_was_done(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    import io
    import zipfile

    await link(client, agent, "C-1001", "stadsnat", "SN-1")

    def unreachable(call: base.Call) -> base.Outcome:
        raise TransientError("stadsnat could not be reached")

    created = await create(client, agent, agent_body("erasure", identity_verification="bankid"))
    connectors = fakes(stadsnat=unreachable)
    d = dispatcher(app, connectors)
    claimed = {c.call.system: c for c in await d.claim(5)}
    await d.run_one(claimed["crm"])  # the register erased
    await close(client, agent, created["id"], "cancel")  # stadsnät's call is under way
    await d.run_one(claimed["stadsnat"])  # ... and never arrived
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    assert body["status"] == "cancelled"
    assert_nothing_left_open(body)
    app.state.connectors = connectors
    response = await client.get(f"/v1/requests/{created['id']}/response", headers=agent)
    assert response.status_code == 200, response.text
    package = zipfile.ZipFile(io.BytesIO(response.content))
    result = json.loads(package.read("result.json"))
    assert {s["system"]: s["status"] for s in result["systems"]} == {
        "crm": "done", "stadsnat": "cancelled"}
    assert result["cancellation"]["carried_out"] == ["crm"]
    report = package.read("report.html").decode()
    assert "En del av ärendet hann utföras innan det avslutades" in report
    assert "Allt i ärendet hann utföras" not in report
    assert [c["claim"] for c in result["claims"]] == ["cancelled.some_done"]


# -- per-customer ordering and erased data -------------------------------------------------------


async def test_rectification_waits_for_an_earlier_erasure_at_each_system(  # type: ignore[no-untyped-def]
    client, portal, agent, app
) -> None:
    await link(client, agent, "C-1001", "fortnox", "1001")
    await link(client, agent, "C-1001", "eniro", "HIT-1")
    erasure = await create(client, portal, {"type": "erasure"})
    rectification = await create(client, portal, {
        "type": "rectification", "details": {"changes": {"name": "Astrid Nyberg"}}})
    order: list[tuple[str, str, bool]] = []

    def record(outcome: base.Outcome):  # type: ignore[no-untyped-def]
        def behaviour(call: base.Call) -> base.Outcome:
            order.append((call.system, call.request_type.value, call.erased_by is not None))
            if call.request_type.value == "rectification" and call.erased_by is not None:
                return base.no_data(call.erased_by.summary())
            return outcome
        return behaviour

    kept = base.retained("anonymised", [base.Retained("invoices", "BFL", "2033-12-31")])
    connectors = fakes(crm=record(kept), fortnox=record(kept), eniro=record(base.done("gone")))
    d = dispatcher(app, connectors)
    first = await d.claim(20)  # one claim: only the erasure's tasks may go
    assert {c.call.request_id for c in first} == {uuid.UUID(erasure["id"])}
    for item in first:
        await d.run_one(item)
    await until_settled(d, rounds=5)
    # at every system the erasure came first, and the rectification knew of it
    for system in ("crm", "fortnox"):
        at = [(kind, erased) for s, kind, erased in order if s == system]
        assert at == [("erasure", False), ("rectification", True)], (system, order)
    # Eniro erased everything: the rectification never reached it
    assert [kind for s, kind, _ in order if s == "eniro"] == ["erasure"]
    body = (await client.get(f"/v1/requests/{rectification['id']}", headers=agent)).json()
    eniro = next(t for t in body["tasks"] if t["system"] == "eniro")
    assert eniro["status"] == "no_data"
    assert eniro["outcome"]["summary"].startswith(f"Erased on {utcnow().date().isoformat()} "
                                                  f"by request {erasure['id']}")


async def test_unverified_earlier_request_does_not_hold_later_ones(client, portal, agent, app) -> None:  # type: ignore[no-untyped-def]
    waiting = await create(client, agent, agent_body("erasure"))  # awaiting verification
    access = await create(client, portal, {"type": "access"})
    await dispatcher(app, fakes()).run_until_idle()
    assert (await request_row(app, access["id"])).status == "completed"
    assert (await request_row(app, waiting["id"])).status == "awaiting_verification"


# -- throttling ------------------------------------------------------------------------------------


async def test_a_partner_throttling_for_ever_fails_after_the_bound(client, portal, agent, app) -> None:  # type: ignore[no-untyped-def]
    def throttled(call: base.Call) -> base.Outcome:
        raise Throttled("crm is rate limiting (429)", retry_after=0)

    created = await create(client, portal, {"type": "access"})
    d = dispatcher(app, fakes(crm=throttled), max_throttle_s=0.3)
    await until_settled(d, rounds=40)
    body = (await client.get(f"/v1/requests/{created['id']}", headers=agent)).json()
    assert body["status"] == "action_required"
    (task,) = body["tasks"]
    assert task["status"] == "failed" and "429" in task["last_error"]
    trail = [e["action"] for e in await events(client, agent, created["id"])]
    # one event when throttling starts, one when it ends, however many 429s came between
    assert trail.count("task_throttled") == 1 and trail.count("task_throttle_ended") == 1
    assert "task_retry_scheduled" not in trail


@pytest.mark.parametrize("retry_after", [99_999_999.0, 1e20])
async def test_a_huge_retry_after_is_capped(client, portal, app, retry_after) -> None:  # type: ignore[no-untyped-def]
    def throttled(call: base.Call) -> base.Outcome:
        raise Throttled("crm is rate limiting (429)", retry_after=retry_after)

    created = await create(client, portal, {"type": "access"})
    before = utcnow()
    await dispatcher(app, fakes(crm=throttled), retry_after_cap_s=120).run_until_idle()
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.pending and task.next_attempt_at is not None
    assert task.next_attempt_at - before <= timedelta(seconds=121)


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0), (" 7 ", 7.0), ("1e20", None), ("nan", None), ("-5", None), ("inf", None),
    ("99999999", 99999999.0), ("garbage", None), ("", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
])
def test_retry_after_is_parsed_safely(header: str, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


# -- answers about the wrong subject ---------------------------------------------------------------


async def test_a_callback_about_another_subject_is_refused(client, portal, agent, app) -> None:  # type: ignore[no-untyped-def]
    await link(client, agent, "C-1001", "stadsnat", "SN-1")
    created = await create(client, portal, {"type": "access"})
    connectors = fakes(stadsnat=lambda c: base.awaiting_callback(c.partner_ref))
    await dispatcher(app, connectors).run_until_idle()
    task = next(t for t in await task_rows(app, created["id"]) if t.system == "stadsnat")
    assert task.subject_ref == "SN-1"
    payload = {"subject_request_id": str(task.id), "request_status": "completed",
               "subject_identities": [{"identity_type": "controller_customer_id",
                                       "identity_value": "SN-999999"}],
               "result": {"outcome": "done", "summary": "Exported.",
                          "data": {"connection": {"address": "Someone else's street 1"}}}}
    raw, headers = signed("stadsnat", payload)
    assert (await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)
            ).json()["status"] == "applied"
    task = next(t for t in await task_rows(app, created["id"]) if t.system == "stadsnat")
    assert task.status is TaskStatus.failed
    assert "another subject" in (task.last_error or "")
    async with app.state.sessionmaker() as session:
        kept = list(await session.scalars(select(TaskResult).where(TaskResult.task_id == task.id)))
        assert kept == []  # nothing of the wrong answer is stored
        trail = list(await session.scalars(select(AuditEvent)))
        assert "Someone else" not in json.dumps([e.data for e in trail])


async def test_an_immediate_answer_about_another_subject_is_refused(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    def other(call: base.Call) -> base.Outcome:
        return base.Outcome(TaskStatus.done, "Exported.", {"customer_data": {"x": 1}},
                            subject="C-9999")

    created = await create(client, portal, {"type": "access"})
    await dispatcher(app, fakes(crm=other)).run_until_idle()
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.failed and "another subject" in (task.last_error or "")
    async with app.state.sessionmaker() as session:
        assert list(await session.scalars(select(TaskResult))) == []


# -- retry rounds --------------------------------------------------------------------------------------


class DocsPartner:
    """A partner as docs/partners.md describes it: a repeated id gets the first answer."""

    def __init__(self) -> None:
        self.answers: dict[str, base.Outcome | Exception] = {}
        self.refs: list[str] = []
        self.broken = True

    def __call__(self, call: base.Call) -> base.Outcome:
        self.refs.append(call.partner_ref)
        if call.partner_ref not in self.answers:
            self.answers[call.partner_ref] = (
                PermanentError("crm refused the call (400)") if self.broken
                else base.done("Erased."))
        answer = self.answers[call.partner_ref]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_a_retry_after_a_permanent_failure_is_a_new_round(client, portal, agent, app) -> None:  # type: ignore[no-untyped-def]
    partner = DocsPartner()
    created = await create(client, portal, {"type": "erasure"})
    d = dispatcher(app, fakes(crm=partner))
    await d.run_until_idle()
    (task,) = await task_rows(app, created["id"])
    assert task.status is TaskStatus.failed
    partner.broken = False  # the partner fixed its side; it still remembers the first id
    retried = await client.post(f"/v1/requests/{created['id']}/tasks/{task.id}/retry",
                                headers=agent)
    assert retried.json()["tasks"][0]["dispatch_round"] == 1
    await d.run_until_idle()
    assert (await request_row(app, created["id"])).status == "completed"
    assert partner.refs == [str(task.id), f"{task.id}.1"]
    assert parse_partner_ref(f"{task.id}.1") == (task.id, 1)
    assert parse_partner_ref(str(task.id)) == (task.id, 0)
    for bad in (f"{task.id}.", f"{task.id}.x", f"{task.id}.1.2", "x", f"{task.id}.-1"):
        assert parse_partner_ref(bad) is None


async def test_a_callback_for_an_earlier_round_is_recorded_not_applied(  # type: ignore[no-untyped-def]
    client, portal, agent, app
) -> None:
    await link(client, agent, "C-1001", "stadsnat", "SN-1")
    created = await create(client, portal, {"type": "access"})
    refuse = {"on": True}

    def stadsnat(call: base.Call) -> base.Outcome:
        if refuse["on"]:
            raise PermanentError("stadsnat refused the call (400)")
        return base.awaiting_callback(call.partner_ref)

    d = dispatcher(app, fakes(stadsnat=stadsnat))
    await d.run_until_idle()
    task = next(t for t in await task_rows(app, created["id"]) if t.system == "stadsnat")
    refuse["on"] = False
    await client.post(f"/v1/requests/{created['id']}/tasks/{task.id}/retry", headers=agent)
    await d.run_until_idle()
    identities = [{"identity_type": "controller_customer_id", "identity_value": "SN-1"}]
    late = {"subject_request_id": str(task.id), "request_status": "completed",
            "subject_identities": identities,
            "result": {"outcome": "no_data", "summary": "Nothing held."}}
    raw, headers = signed("stadsnat", late)
    assert (await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)
            ).json()["status"] == "ignored"
    trail = await events(client, agent, created["id"])
    assert trail[-1]["action"] == "callback_not_applied"
    assert trail[-1]["data"]["why"] == "an earlier round"
    current = {**late, "subject_request_id": f"{task.id}.1",
               "result": {"outcome": "done", "summary": "Exported."}}
    raw, headers = signed("stadsnat", current)
    assert (await client.post("/v1/webhooks/stadsnat", content=raw, headers=headers)
            ).json()["status"] == "applied"
    task = next(t for t in await task_rows(app, created["id"]) if t.system == "stadsnat")
    assert task.status is TaskStatus.done


# -- one runtime -----------------------------------------------------------------------------------


async def test_worker_metrics_count_partner_calls(client, portal, app) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client import generate_latest

    await create(client, portal, {"type": "access"})
    d = dispatcher(app, fakes())
    await d.run_until_idle()
    text = generate_latest(d.metrics.registry).decode()
    assert 'dsr_partner_calls_total{system="crm"} 1.0' in text


async def test_final_requests_never_keep_open_tasks(client, agent, app) -> None:  # type: ignore[no-untyped-def]
    """After every scenario above, the invariant holds across the whole table."""
    created = await create(client, agent, agent_body("erasure", identity_verification="bankid"))
    await close(client, agent, created["id"], "cancel")
    async with app.state.sessionmaker() as session:
        rows = await session.execute(select(Task.status).where(
            Task.request_id == uuid.UUID(created["id"])))
        assert {row[0] for row in rows} <= lifecycle.TASK_FINAL


async def test_reads_do_not_wait_for_each_other_but_writes_wait_for_reads(  # type: ignore[no-untyped-def]
    client, portal, app
) -> None:
    first = await create(client, portal, {"type": "access"})
    second = await create(client, portal, {"type": "access"})
    erasure = await create(client, portal, {"type": "erasure"})
    claimed = await dispatcher(app, fakes()).claim(10)
    # both exports go at once; the erasure waits until the earlier reads are done
    assert {c.call.request_id for c in claimed} == {uuid.UUID(first["id"]),
                                                    uuid.UUID(second["id"])}
    assert uuid.UUID(erasure["id"]) not in {c.call.request_id for c in claimed}
