"""Every right and outcome: the letter says what the recorded facts make true, and nothing else.

Each case builds the facts an answer is written from (the request, its tasks' outcomes with the
audit events that recorded them, the customer's links) without a database, renders the whole
report in Swedish and English, and checks each claiming sentence against the facts it needs:
the sentences that must be there, the ones that must not, and that every claim's evidence
names events that exist on the trail.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.answers import report
from app.answers.content import write_contents
from app.answers.packages import PackageWriter
from app.rights import letter_for
from app.rights.facts import EventFact, PackageInputs, RequestFacts, SystemResult
from app.rights.letter import CLAIMING, GUARDS

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ALL_LINKS = {"crm": "C-1001", "stadsnat": "SN-440017", "fortnox": "1001",
             "snpac": "+46470123456", "eniro": "HIT-7K2P9Q", "installer": "ORD-88001"}


def task(system: str, action: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"system": system, "action": action, "status": status, **extra}


def inputs(type_: str, tasks: list[dict[str, Any]], *, status: str = "completed",
           links: dict[str, str] | None = None, details: dict[str, Any] | None = None,
           verified: bool = True, channel: str = "portal", language: str = "sv",
           reject_reason: str | None = None, extension: dict[str, Any] | None = None,
           lift: dict[str, Any] | None = None, cases: int = 0) -> PackageInputs:
    events = [EventFact(1, "created", T0)]
    if verified and channel not in ("portal", "retention"):
        events.append(EventFact(len(events) + 1, "verified", T0))
    systems = []
    for n, spec in enumerate(tasks):
        task_id = f"00000000-0000-0000-0000-{n:012d}"
        finished = spec.get("finished_at") or (
            T0 + timedelta(minutes=n + 1) if spec["status"] in ("done", "retained", "no_data")
            else None)
        systems.append(SystemResult(
            system=spec["system"], title=spec["system"], key="id", action=spec["action"],
            status=spec["status"], summary="partner prose", finished_at=finished,
            retained=spec.get("retained", []), data=spec.get("data"),
            uncertain=spec.get("uncertain", False), scheduled_for=spec.get("scheduled_for"),
            params=spec.get("params", {}), id=task_id))
        if spec["status"] not in ("pending", "running"):
            action = ("deferred_erasure_scheduled" if spec["status"] == "scheduled"
                      else f"task_{spec['status']}")
            events.append(EventFact(len(events) + 1, action, finished or T0, task_id))
    if extension:
        events.append(EventFact(len(events) + 1, "extended", T0))
    if lift:
        events.append(EventFact(len(events) + 1, "lift_requested", T0 + timedelta(hours=1)))
    for closing in ("cancelled", "rejected"):
        if status == closing:
            events.append(EventFact(len(events) + 1, closing, T0 + timedelta(hours=2)))
    from app.rights.facts import CaseRecord

    request = RequestFacts(
        id="r-1", type=type_, status=status, customer_number="C-1001", language=language,
        received_at=T0, finished_at=T0 + timedelta(days=1), details=details or {},
        reject_reason=reject_reason, note=None, extension=extension, lift=lift,
        channel=channel, verified=verified, events=tuple(events))
    records = [CaseRecord(id=f"case-{i}", type="access", status="completed", channel="portal",
                          received_at=T0, finished_at=T0) for i in range(cases)]
    return PackageInputs(request, systems, dict(ALL_LINKS if links is None else links),
                         case_records=records,
                         settings={"case_retention_days": 1095, "lift_notice_s": 259200})


@dataclass
class Case:
    name: str
    facts: PackageInputs
    says: set[str]  # claims that must be made
    never: set[str] = field(default_factory=set)  # claims that must not
    hidden: tuple[str, ...] = ()  # words the rendered report must not contain (both languages)


FORTNOX_KEPT = [{"category": "invoices", "code": "accounting_records", "basis": "BFL",
                 "basis_code": "bookkeeping", "until": "2033-12-31"}]
CONTRACT_KEPT = [{"category": "contract", "code": "contract_data", "basis": "contract",
                  "basis_code": "contract_in_force", "until": None}]
ERASE_ALL = [task("crm", "erase", "done"), task("stadsnat", "erase", "done"),
             task("fortnox", "erase", "done"), task("snpac", "erase", "done"),
             task("eniro", "unlist", "done"), task("installer", "erase", "done")]
RESTRICT_ALL = [task(s, "restrict", "done")
                for s in ("crm", "stadsnat", "fortnox", "snpac", "eniro", "installer")]
NOTHING = {"erasure.all_erased", "erasure.told_all", "rectification.told_all",
           "rectification.corrected", "objection.unlisted", "cancelled.some_done",
           "cancelled.all_done", "lift.lifted"}

CASES = [
    Case("erasure, everything erased and every recipient told", inputs("erasure", ERASE_ALL),
         {"erasure.all_erased", "erasure.told_all"},
         {"erasure.told_some", "erasure.erased_except_kept", "erasure.kept_by_law"}),
    Case("erasure, nothing held anywhere",
         inputs("erasure", [task(t["system"], t["action"], "no_data") for t in ERASE_ALL]),
         {"erasure.nothing_held"}, {"erasure.all_erased", "erasure.erased_except_kept"}),
    Case("erasure, invoices kept by law with a scheduled erasure", inputs("erasure", [
        task("crm", "erase", "done"), task("fortnox", "erase", "retained",
                                           retained=FORTNOX_KEPT),
        task("fortnox", "erase_retained", "scheduled", retained=FORTNOX_KEPT,
             scheduled_for=datetime(2034, 1, 1, tzinfo=UTC))],
        links={"fortnox": "1002"}),
         {"erasure.erased_except_kept", "erasure.kept_by_law", "erasure.scheduled",
          "erasure.told_all"},
         {"erasure.all_erased", "erasure.kept_for_contract"}),
    Case("erasure, active customer: kept for the contract is not kept by law",
         inputs("erasure", [task("crm", "erase", "retained", retained=CONTRACT_KEPT)],
                links={}),
         {"erasure.kept_for_contract", "erasure.no_recipients"},
         {"erasure.kept_by_law", "erasure.all_erased", "erasure.told_all"}),
    Case("erasure, the installer has an order but no task reached it",
         inputs("erasure", ERASE_ALL[:5]),
         {"erasure.told_some"}, {"erasure.told_all"}),
    Case("a deferred erasure that ran years after the answer: a notice of its own", inputs("erasure", [
        task("fortnox", "erase", "retained", retained=FORTNOX_KEPT),
        task("fortnox", "erase_retained", "done",
             finished_at=datetime(2034, 1, 1, 3, tzinfo=UTC))], links={"fortnox": "1002"}),
         {"erasure.deferred_notice"}, {"erasure.scheduled", "erasure.erased_except_kept"},
         hidden=("Du har bett", "You asked")),
    Case("erasure started by the service", inputs(
        "erasure", ERASE_ALL[:3], channel="retention",
        details={"contract_ended_on": "2025-05-01"}, links={"stadsnat": "x", "fortnox": "y"}),
         {"retention.erasure_intro"}, set(), hidden=("Du har bett", "You asked")),
    Case("restriction applied everywhere", inputs(
        "restriction", RESTRICT_ALL, details={"grounds": "accuracy_contested"}),
         {"restriction.marked", "restriction.told_all"}, {"retention.locked"}),
    Case("the policy's lock is not an art. 18 restriction", inputs(
        "restriction", RESTRICT_ALL[:3], channel="retention",
        details={"grounds": "retention_policy", "contract_ended_on": "2026-03-01"},
        links={"stadsnat": "x", "fortnox": "y"}),
         {"retention.lock_intro", "retention.locked", "retention.lock_then_erased"},
         {"restriction.marked"},
         hidden=("retention_policy", "18.3", "18(3)", "Du har bett", "You asked")),
    Case("a lift asked for and not yet carried out", inputs(
        "restriction", [*RESTRICT_ALL[:2], task("crm", "lift_restriction", "pending"),
                        task("stadsnat", "lift_restriction", "pending")],
        status="in_progress", details={"grounds": "accuracy_contested"},
        links={"stadsnat": "x"},
        lift={"reason": "checked", "requested_at": T0.isoformat(),
              "lift_from": (T0 + timedelta(days=3)).isoformat()}),
         {"lift.notice"}, {"lift.lifted"}),
    Case("the lift letter, built before the notice goes out", inputs(
        "restriction", [*RESTRICT_ALL[:2], task("crm", "lift_notice", "scheduled"),
                        task("crm", "lift_restriction", "scheduled"),
                        task("stadsnat", "lift_restriction", "scheduled")],
        status="in_progress", details={"grounds": "accuracy_contested"},
        links={"stadsnat": "x"},
        lift={"reason": "checked", "requested_at": T0.isoformat(), "lift_from": None,
              "notice_delivered_at": None, "notice_period_s": 259200.0}),
         {"lift.notice_undated"}, {"lift.lifted", "lift.notice", "erasure.scheduled"}),
    Case("a lift carried out everywhere", inputs(
        "restriction", [*RESTRICT_ALL[:2],
                        task("crm", "lift_restriction", "done",
                             finished_at=T0 + timedelta(days=3)),
                        task("stadsnat", "lift_restriction", "done",
                             finished_at=T0 + timedelta(days=3, minutes=1))],
        details={"grounds": "accuracy_contested"}, links={"stadsnat": "x"},
        lift={"reason": "checked", "requested_at": T0.isoformat(),
              "lift_from": (T0 + timedelta(days=3)).isoformat()}),
         {"lift.lifted"}, {"lift.notice", "lift.notice_undated"}),
    Case("rectification passed on", inputs(
        "rectification", [task("crm", "rectify", "done"), task("fortnox", "rectify", "done")],
        details={"changes": {"email": "[removed]"}}, links={"fortnox": "1001"}),
         {"rectification.corrected", "rectification.told_all"},
         {"rectification.nothing_held"}),
    Case("rectification after an erasure: nobody had the data", inputs(
        "rectification", [task("crm", "rectify", "no_data"),
                          task("fortnox", "rectify", "no_data")],
        details={"changes": {"email": "[removed]"}}, links={"fortnox": "1002"}),
         {"rectification.nothing_held"},
         {"rectification.corrected", "rectification.told_all", "rectification.told_some"}),
    Case("rectification, one recipient had nothing", inputs(
        "rectification", [task("crm", "rectify", "done"), task("fortnox", "rectify", "done"),
                          task("stadsnat", "rectify", "no_data")],
        details={"changes": {"address": "[removed]"}},
        links={"fortnox": "1", "stadsnat": "2"}),
         {"rectification.corrected", "rectification.held_nothing", "rectification.told_some"},
         {"rectification.told_all"}),
    Case("objection with unlist for a customer without a listing", inputs(
        "objection", [task("crm", "stop_marketing", "done")],
        details={"processing": "direct_marketing", "unlist": True}, links={"fortnox": "1"}),
         {"objection.marketing_stopped", "objection.no_listing"},
         {"objection.unlisted", "objection.listing_kept"}),
    Case("objection with unlist where the listing was removed", inputs(
        "objection", [task("crm", "stop_marketing", "done"), task("eniro", "unlist", "done")],
        details={"processing": "direct_marketing", "unlist": True}),
         {"objection.marketing_stopped", "objection.unlisted"}, {"objection.no_listing"}),
    Case("objection with unlist where the directory had nothing", inputs(
        "objection", [task("crm", "stop_marketing", "done"),
                      task("eniro", "unlist", "no_data")],
        details={"processing": "direct_marketing", "unlist": True}),
         {"objection.no_listing"}, {"objection.unlisted"}),
    Case("objection to marketing, listing left alone", inputs(
        "objection", [task("crm", "stop_marketing", "done")],
        details={"processing": "direct_marketing"}),
         {"objection.listing_kept"}, {"objection.unlisted", "objection.no_listing"}),
    Case("objection on legitimate interest upheld", inputs(
        "objection", [task("crm", "assess_objection", "done", params={"decision": "upheld"})],
        details={"processing": "legitimate_interest", "grounds": "x", "activity": "y"}),
         {"objection.upheld"}, {"objection.overridden", "objection.marketing_stopped"}),
    Case("objection on legitimate interest overridden", inputs(
        "objection", [task("crm", "assess_objection", "done",
                           params={"decision": "overridden"})],
        details={"processing": "legitimate_interest", "grounds": "x", "activity": "y"}),
         {"objection.overridden"}, {"objection.upheld"}),
    Case("cancelled before identity was verified: nothing about the data", inputs(
        "erasure", [task(t["system"], t["action"], "cancelled") for t in ERASE_ALL],
        status="cancelled", verified=False, channel="phone"),
         {"closed.unverified"}, NOTHING | {"cancelled.none_done"},
         hidden=("Fortnox", "Stadsnät", "SNPAC", "Eniro", "kundregister", "customer register")),
    Case("cancelled after everything had finished", inputs(
        "erasure", ERASE_ALL, status="cancelled"),
         {"cancelled.all_done"}, {"cancelled.some_done", "cancelled.none_done"}),
    Case("cancelled part-way", inputs(
        "erasure", [*ERASE_ALL[:2], *(task(t["system"], t["action"], "cancelled")
                                      for t in ERASE_ALL[2:])], status="cancelled"),
         {"cancelled.some_done"}, {"cancelled.all_done", "cancelled.none_done"}),
    Case("cancelled after a system failed for good", inputs(
        "erasure", [task("crm", "erase", "done"), task("fortnox", "erase", "failed")],
        status="cancelled", links={"fortnox": "1"}),
         {"cancelled.some_done"}, {"cancelled.all_done", "erasure.told_all"}),
    Case("restriction where one system had nothing", inputs(
        "restriction", [task("crm", "restrict", "done"), task("fortnox", "restrict", "no_data")],
        details={"grounds": "objection_pending"}, links={"fortnox": "1"}),
         {"restriction.marked", "restriction.told_all"}, {"restriction.nothing_held"}),
    Case("cancelled before anything was done", inputs(
        "access", [task("crm", "export", "cancelled")], status="cancelled"),
         {"cancelled.none_done"}, {"cancelled.some_done", "cancelled.all_done"}),
    Case("cancelled with an answer that never came", inputs(
        "erasure", [task("crm", "erase", "done"),
                    task("fortnox", "erase", "cancelled", uncertain=True)],
        status="cancelled", links={"fortnox": "1"}),
         {"cancelled.some_done", "cancelled.uncertain"}, {"cancelled.all_done"}),
    *(Case(f"rejected as {reason}", inputs(
        "access", [task("crm", "export", "cancelled")], status="rejected",
        reject_reason=reason, verified=reason != "identity_not_verified", channel="email"),
           set(), NOTHING | {"rejected.done_before"})
      for reason in ("manifestly_unfounded", "excessive", "identity_not_verified", "other")),
    Case("rejected after part was done", inputs(
        "erasure", [task("crm", "erase", "done"), task("fortnox", "erase", "cancelled")],
        status="rejected", reject_reason="excessive", links={"fortnox": "1"}),
         {"rejected.done_before"}, {"closed.unverified"}),
    Case("access, complete, with case records", inputs(
        "access", [task("crm", "export", "done", data={"customer_data": {"name": "A"}}),
                   task("fortnox", "export", "done", data={"customer_card": {"Name": "A"}}),
                   task("eniro", "export", "no_data")],
        links={"fortnox": "1", "eniro": "2"}, cases=2),
         {"access.intro_complete", "access.recipients_listed", "access.case_records"},
         {"access.recipients_none"}),
    Case("access, no recipient holds data", inputs(
        "access", [task("crm", "export", "done", data={"customer_data": {"name": "A"}})],
        links={}, cases=1),
         {"access.recipients_none"}, {"access.recipients_listed"}),
    Case("portability with a number port", inputs(
        "portability", [task("crm", "export_provided", "done"),
                        task("snpac", "port_number", "done", data={"booked_port": {
                            "to_operator": "Telia", "date": "2026-11-04"}})],
        details={"receiving_operator": "Telia"}, language="sv"),
         {"portability.porting_approved", "portability.sent_to_snpac_only",
          "portability.ends_subscription", "portability.porting_from"},
         {"portability.porting_not_done"},
         hidden=("+46470123456",)),
    Case("portability, the port failed", inputs(
        "portability", [task("crm", "export_provided", "done"),
                        task("snpac", "port_number", "failed")],
        details={"receiving_operator": "Telia"}),
         {"portability.porting_not_done"},
         {"portability.porting_approved", "portability.ends_subscription"}),
    Case("portability, no number to port", inputs(
        "portability", [task("crm", "export_provided", "done")],
        details={"receiving_operator": "Telia"}, links={}),
         {"portability.no_number"},
         {"portability.porting_approved", "portability.sent_to_snpac_only"}),
    Case("an extended request says by how much", inputs(
        "access", [task("crm", "export", "done")],
        extension={"months": 2, "reason": "many requests", "due_at": T0.isoformat()}),
         {"extension.text"}, set()),
]


async def _render(facts: PackageInputs, language: str) -> tuple[str, dict[str, Any]]:
    facts = PackageInputs(
        RequestFacts(**{**{f: getattr(facts.request, f) for f in facts.request.__slots__},
                        "language": language}),
        facts.systems, facts.links, facts.case_records, facts.settings)
    writer = PackageWriter(T0)
    await write_contents(facts, writer, generated_at=T0, call_pages=None, report_rows=50,
                         retention_days=30)
    built = writer.finish({"format": "test"})
    with zipfile.ZipFile(built.path) as package:
        html = package.read("report.html").decode()
        name = "result.json" if "result.json" in package.namelist() else "data.json"
        data = json.loads(package.read(name))
    built.path.unlink()
    return html, data


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("language", ["sv", "en"])
async def test_every_claim_follows_from_the_facts(case: Case, language: str) -> None:
    letter = letter_for(case.facts)
    made = {s.key for s in letter.said}
    assert case.says <= made, case.says - made
    assert not (case.never & made), case.never & made
    html, data = await _render(case.facts, language)
    seqs = {e.seq for e in case.facts.request.events}
    for claim in data["claims"]:
        assert claim["claim"] in CLAIMING
        assert claim["evidence"], claim  # a claim rests on at least one event
        assert set(claim["evidence"]) <= seqs, claim
    assert {c["claim"] for c in data["claims"]} == made & CLAIMING
    t = report.texts(language)
    for key in made:  # each sentence said is in the report (in the reader's language)
        assert report.texts(language)["letter"][key].split("{")[0].strip() in \
            html.replace("&#39;", "'"), key
    for key in case.never:
        if "{" not in t["letter"][key]:
            assert t["letter"][key] not in html.replace("&#39;", "'"), key
    for word in case.hidden:
        assert word not in html, word
    assert not re.search(r"(?<![A-Za-z])None(?![ A-Za-z])|\{\w+\}", html)  # all filled in


def test_every_sentence_has_one_guard_and_both_languages() -> None:
    sv, en = report.texts("sv")["letter"], report.texts("en")["letter"]
    assert set(sv) == set(en) == set(GUARDS)
    for key in sv:  # the same parameters in both languages
        assert sorted(_fields(sv[key])) == sorted(_fields(en[key])), key


def _fields(text: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def test_months_and_counts_are_written_as_a_reader_writes_them() -> None:
    from app.rights.letter import count_words

    sv, en = report.texts("sv"), report.texts("en")
    assert count_words(sv, 1, "months") == "en månad"
    assert count_words(sv, 2, "months") == "två månader"
    assert count_words(en, 2, "months") == "two months"
    assert count_words(sv, 1, "cases") == "ett ärende"  # neuter: "ett", not "en"
    assert count_words(sv, 3, "cases") == "tre ärenden"
    assert count_words(sv, 14, "months") == "14 månader"


def test_the_notice_period_is_stated_exactly() -> None:
    from app.rights.letter import Duration, word

    sv, en = report.texts("sv"), report.texts("en")
    assert word(sv, "period", Duration(259200)) == "tre dagar"
    assert word(en, "period", Duration(86400)) == "one day"
    assert word(sv, "period", Duration(7200)) == "två timmar"
    assert word(sv, "period", Duration(2)) == "två sekunder"  # never rounded to "en dag"


def test_each_rights_details_model_is_the_one_its_create_body_takes() -> None:
    """The entry's details model and the API's create body agree, right by right."""
    from typing import get_args

    from app import schemas
    from app.rights import RIGHTS

    bodies = {get_args(b.model_fields["type"].annotation)[0]: b
              for b in get_args(get_args(schemas.RequestCreate)[0])}
    assert set(bodies) == set(RIGHTS)
    for request_type, right in RIGHTS.items():
        assert bodies[request_type].model_fields["details"].annotation is right.details
