"""What goes into a response package, by type of request.

- access (art. 15): ``data.json`` with every system's data grouped by category, the call
  history streamed into it page by page; the report shows the data in tables with the art. 15
  information (purposes, legal basis, recipients, retention, sources, rights, IMY).
- portability (art. 20): ``data.json`` and one CSV per dataset, each field documented; what
  was sent to SNPAC when a receiving operator was named.
- erasure, rectification, restriction, objection: ``result.json`` with each system's outcome,
  anything retained with its legal basis and erase-by date.
- rejected: ``result.json`` with the reason, and the report names the right to complain to IMY.

The inputs are plain snapshots (:class:`PackageInputs`), read and decrypted by
:mod:`app.services.responses`; this module does no database work.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.services import policy, report
from app.services.packages import TEXT_PREFIX, Entry, PackageWriter, csv_cell, field_types

CallPages = Callable[[str], AsyncIterator[list[dict[str, Any]]]]
RESULT_TYPES = ("erasure", "rectification", "restriction", "objection")


class PackageError(Exception):
    """The package cannot be built now (a partner unreachable, data inconsistent)."""


@dataclass(frozen=True, slots=True)
class RequestFacts:
    id: str
    type: str
    status: str
    customer_number: str
    language: str
    received_at: datetime
    finished_at: datetime | None
    details: dict[str, Any]
    reject_reason: str | None = None
    note: str | None = None
    extension: dict[str, Any] | None = None  # {"months", "reason", "due_at"} if extended
    lift: dict[str, Any] | None = None  # {"reason", "requested_at"} if a restriction was lifted

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "status": self.status,
                "customer_number": self.customer_number, "language": self.language,
                "received_at": _iso(self.received_at), "answered_at": _iso(self.finished_at)}


@dataclass(frozen=True, slots=True)
class SystemResult:
    system: str
    title: str
    key: str
    action: str
    status: str
    summary: str
    finished_at: datetime | None
    retained: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] | None = None
    uncertain: bool = False  # stopped after an attempt that may have been applied
    scheduled_for: datetime | None = None  # scheduled work: a deferred erasure
    code: str | None = None  # the outcome as a code the answer words (connectors.base.Outcome)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PackageInputs:
    request: RequestFacts
    systems: list[SystemResult]
    links: dict[str, str] = field(default_factory=dict)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps would build one per call


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def kind_of(inputs: PackageInputs) -> str:
    """The letter to write: the request type's, or a rejection's or a cancellation's."""
    if inputs.request.status in ("rejected", "cancelled"):
        return inputs.request.status
    return inputs.request.type


# Task statuses that mean something was done (or found) at a partner.
CARRIED_OUT = ("done", "retained", "no_data")


async def write_contents(
    inputs: PackageInputs, writer: PackageWriter, *, generated_at: datetime,
    call_pages: CallPages | None, report_rows: int, retention_days: int,
) -> None:
    """Every file but the manifest, data files first so the report can list their hashes."""
    kind, t = kind_of(inputs), report.texts(inputs.request.language)
    context: dict[str, Any] = {
        "t": t, "kind": kind, "req": inputs.request.public(), "generated_at": _iso(generated_at),
        "retention_days": retention_days, "request_type": inputs.request.type,
        "policy": policy.for_language(inputs.request.language),
    }
    if inputs.request.extension:  # art. 12(3): the extension and its reason, in the answer
        context["extension"] = inputs.request.extension
    if kind == "access":
        context["systems"] = await _write_access(inputs, writer, generated_at, call_pages,
                                                 report_rows, t)
        context["recipients"] = recipients_of(inputs, context["policy"])
    elif kind == "portability":
        context.update(await _write_portability(inputs, writer, generated_at, t, call_pages))
    else:
        context.update(_write_result(inputs, writer, generated_at, kind))
    context["files"] = [f.as_dict() for f in writer.files]
    with writer.entry("report.html") as out:
        out.write_pieces(report.render(context))


# -- access -------------------------------------------------------------------------------------


def recipients_of(inputs: PackageInputs, said: dict[str, Any]) -> list[dict[str, str]]:
    """The subprocessors that hold this customer's data: those whose export found data, and an
    installation company where the customer has an installation order."""
    holding = {s.system for s in inputs.systems
               if s.system != "crm" and (s.data or s.status == "manual"
                                         or s.system == "installer")}
    register = next((s.data for s in inputs.systems if s.system == "crm" and s.data), {})
    if register.get("installation_orders"):
        holding.add("installer")  # the order names the installation company it went to
    return [recipient for system, recipient in said["recipients"].items() if system in holding]


async def _write_access(
    inputs: PackageInputs, writer: PackageWriter, generated_at: datetime,
    call_pages: CallPages | None, report_rows: int, t: dict[str, Any],
) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = []
    with writer.entry("data.json") as out:
        out.write('{\n"format": "connect2ip-dsr-access/1",\n"generated_at": '
                  f"{_dumps(_iso(generated_at))},\n\"request\": {_dumps(inputs.request.public())},"
                  '\n"systems": [\n')
        for n, system in enumerate(inputs.systems):
            header = {"system": system.system, "title": system.title,
                      "identified_by": system.key, "status": system.status,
                      "summary": system.summary, "retrieved_at": _iso(system.finished_at)}
            out.write(("," if n else "") + _dumps(header)[:-1] + ', "categories": {')
            categories = dict(system.data or {})
            for i, (name, value) in enumerate(categories.items()):
                out.write(("," if i else "") + f"\n{_dumps(name)}: {_dumps(value)}")
            calls = None
            if system.system == "crm" and system.data is not None:
                calls = await _stream_calls(
                    out, inputs.request.customer_number, system.data, call_pages, report_rows,
                    first=not categories)
            out.write("}}\n")
            shown.append({
                "title": system.title, "key": system.key, "system": system.system,
                "status": system.status, "summary": report.outcome_text(
                    t, action=system.action, status=system.status, code=system.code,
                    params=system.params),
                "retrieved_at": _iso(system.finished_at), "calls": calls,
                "categories": [{"key": name, "info": report.category_info(t, name),
                                "block": report.shape(value, t, name)}
                               for name, value in categories.items()],
            })
        out.write("]\n}\n")
    return shown


async def _stream_calls(
    out: Entry, customer_number: str, data: dict[str, Any], call_pages: CallPages | None,
    report_rows: int, *, first: bool,
) -> dict[str, Any] | None:
    expected = (data.get("customer_data") or {}).get("call_history_count")
    if call_pages is None:
        if expected:
            raise PackageError("the call history cannot be streamed: no register connector")
        return None
    out.write(("" if first else ",") + '\n"traffic_data_calls": [')
    total, first_at, last_at = 0, None, None
    preview: list[dict[str, Any]] = []
    try:
        async for page in call_pages(customer_number):
            if not page:
                continue
            # art. 15(4): a caller who withheld the number keeps it withheld
            page = [{**row, "counterpart": None} if isinstance(row, dict)
                    and row.get("withheld") else row for row in page]
            # A page at a time (the same bytes as row by row): one write, not one per row.
            out.write(("," if total else "") + "\n" + ",\n".join(map(_dumps, page)))
            preview.extend({**row, "counterpart": "withheld"} if row.get("withheld") else row
                           for row in page[:max(0, report_rows - total)])
            ats = [at for row in page if isinstance(row, dict)
                   and isinstance(at := row.get("at"), str)]
            if ats:
                low, high = min(ats), max(ats)
                first_at = low if first_at is None else min(first_at, low)
                last_at = high if last_at is None else max(last_at, high)
            total += len(page)
    except PackageError:
        raise
    except Exception as exc:  # a partner error: the package is built again later
        reason = getattr(exc, "reason", type(exc).__name__)
        raise PackageError(f"the call history could not be read: {reason}") from None
    out.write("\n]")
    return {"total": total, "preview": preview, "first": first_at, "last": last_at}


# -- portability --------------------------------------------------------------------------------


# The call history is observed data the customer generated by using the service (WP242): it is
# part of what they may take with them. Streamed page by page, never held whole.
CALL_FIELDS = [{"name": "id", "type": "string"}, {"name": "at", "type": "string"},
               {"name": "direction", "type": "string"}, {"name": "kind", "type": "string"},
               {"name": "counterpart", "type": "string"},
               {"name": "duration_s", "type": "integer"}, {"name": "withheld", "type": "boolean"}]


async def _write_portability(
    inputs: PackageInputs, writer: PackageWriter, generated_at: datetime, t: dict[str, Any],
    call_pages: CallPages | None = None,
) -> dict[str, Any]:
    wants_csv = "csv" in (inputs.request.details.get("formats") or ["json", "csv"])
    datasets: list[dict[str, Any]] = []
    for system in inputs.systems:
        for name, value in (system.data or {}).items():
            rows = [value] if isinstance(value, dict) else value
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                continue
            fields = [{**f, "description": report.label(t, f["name"])} for f in field_types(rows)]
            stem = name if system.system == "crm" else f"{system.system}-{name}"
            datasets.append({"name": name, "system": system.system, "title": system.title,
                             "file": f"{stem}.csv" if wants_csv else None,
                             "fields": fields, "rows": rows})
    observed = await _write_observed(inputs, writer, t, call_pages, wants_csv)
    porting = _porting(inputs)
    writer.write_json("data.json", {
        "format": "connect2ip-dsr-portability/1", "generated_at": _iso(generated_at),
        "request": inputs.request.public(), "csv": {"encoding": "UTF-8", "rfc": 4180,
                                                    "null": "", "booleans": ["true", "false"],
                                                    "text_prefix": TEXT_PREFIX},
        "datasets": datasets + ([{k: v for k, v in observed.items() if k != "rows"}]
                                if observed else []),
        "number_porting": porting,
    })
    for dataset in datasets:
        if dataset["file"]:
            writer.write_csv(dataset["file"], dataset["fields"], dataset["rows"])
    shown = [{**d, "row_count": len(d["rows"]), "rows": None} for d in datasets]
    return {"datasets": shown + ([observed] if observed else []), "porting": porting}


async def _write_observed(
    inputs: PackageInputs, writer: PackageWriter, t: dict[str, Any],
    call_pages: CallPages | None, wants_csv: bool,
) -> dict[str, Any] | None:
    """The call history into its own file (CSV, or JSON lines when only JSON is wanted)."""
    register = next((s for s in inputs.systems if s.system == "crm" and s.data), None)
    if register is None or call_pages is None:
        return None
    name = "call_history.csv" if wants_csv else "call_history.jsonl"
    count = 0
    try:
        with writer.entry(name) as out:
            table = csv.writer(out, lineterminator="\r\n") if wants_csv else None
            if table is not None:
                table.writerow([f["name"] for f in CALL_FIELDS])
            async for page in call_pages(inputs.request.customer_number):
                for row in page:
                    if row.get("withheld"):
                        row = {**row, "counterpart": None}  # art. 15(4)
                    if table is not None:
                        table.writerow([csv_cell(row.get(f["name"]), f["type"])
                                        for f in CALL_FIELDS])
                    else:
                        out.write(_dumps(row) + "\n")
                    count += 1
    except PackageError:
        raise
    except Exception as exc:  # a partner error: the package is built again later
        reason = getattr(exc, "reason", type(exc).__name__)
        raise PackageError(f"the call history could not be read: {reason}") from None
    return {"name": "call_history", "system": "crm", "title": register.title, "file": name,
            "observed": True, "row_count": count, "rows": None,
            "fields": [{**f, "description": report.label(t, f["name"])} for f in CALL_FIELDS]}


def _porting(inputs: PackageInputs) -> dict[str, Any] | None:
    operator = inputs.request.details.get("receiving_operator")
    if not operator:
        return None
    task = next((s for s in inputs.systems if s.system == "snpac" and s.action == "port_number"),
                None)
    return {"sent_to": "SNPAC", "receiving_operator": operator,
            "phone_number": inputs.links.get("snpac") if task else None,
            "status": task.status if task else None, "summary": task.summary if task else None,
            "at": _iso(task.finished_at) if task else None}


# -- erasure, rectification, restriction, objection, rejection ----------------------------------


def _objection(inputs: PackageInputs, systems: list[dict[str, Any]]) -> dict[str, Any]:
    """What the objection stopped and what continues, and why (art. 21)."""
    details = inputs.request.details
    objection: dict[str, Any] = {"processing": details.get("processing")}
    if details.get("processing") == "direct_marketing":
        objection["unlist"] = bool(details.get("unlist"))
        objection["stopped"] = [s["action"] for s in systems if s["status"] in ("done",
                                                                                "retained")]
        return objection
    assessed = next((s for s in inputs.systems if s.action == "assess_objection"), None)
    decision = assessed.params.get("decision") if assessed else None
    objection.update({
        "activity": details.get("activity"), "grounds": details.get("grounds"),
        "decision": decision, "reason": assessed.summary if assessed else None,
        "stopped": [details.get("activity")] if decision == "upheld" else [],
        "continues": [details.get("activity")] if decision == "overridden" else [],
    })
    return objection


def _write_result(
    inputs: PackageInputs, writer: PackageWriter, generated_at: datetime, kind: str,
) -> dict[str, Any]:
    req = inputs.request
    t = report.texts(req.language)
    systems: list[dict[str, Any]] = [
        {"system": s.system, "title": s.title, "action": s.action, "status": s.status,
         "summary": s.summary, "done_at": _iso(s.finished_at), "retained": s.retained,
         "uncertain": s.uncertain, "text": report.outcome_text(
             t, action=s.action, status=s.status, code=s.code, params=s.params,
             uncertain=s.uncertain)}
        for s in inputs.systems if s.scheduled_for is None]
    # The promise that what is kept by law is erased when its time is up, as the scheduled
    # work that keeps it: one entry per system, with the date it runs.
    scheduled: list[dict[str, Any]] = [
        {"system": s.system, "title": s.title, "status": s.status,
         "scheduled_for": _iso(s.scheduled_for), "items": s.retained}
        for s in inputs.systems if s.scheduled_for is not None]
    if kind == "rejected":
        # A request rejected after some of it was carried out still says what was done.
        systems = [s for s in systems if s["status"] in CARRIED_OUT]
    retained: list[dict[str, Any]] = [{"system": s["system"], "title": s["title"], **item}
                for s in systems for item in s["retained"]]
    body: dict[str, Any] = {
        "format": f"connect2ip-dsr-{'rejection' if kind == 'rejected' else 'result'}/1",
        "generated_at": _iso(generated_at), "request": req.public(), "outcome": req.status,
    }
    extra: dict[str, Any] = {}
    body["systems"], body["retained"] = systems, retained
    if scheduled:
        body["scheduled_erasure"] = scheduled
        extra["scheduled_erasure"] = scheduled
    if req.extension:
        body["extension"] = req.extension
    if req.lift:
        extra["lift"] = {**req.lift, "lifted_at": [
            {"system": s["system"], "status": s["status"], "done_at": s["done_at"]}
            for s in systems if s["action"] == "lift_restriction"]}
    if kind == "rejected":
        extra["rejection"] = {"reason": req.reject_reason, "explanation": req.note,
                              "decided_at": _iso(req.finished_at),
                              "complaint_to": "Integritetsskyddsmyndigheten (IMY), Box 8114, "
                                              "104 20 Stockholm, imy@imy.se, www.imy.se"}
    elif kind == "cancelled":
        extra["cancellation"] = {
            "explanation": req.note, "decided_at": _iso(req.finished_at),
            "carried_out": [s["system"] for s in systems if s["status"] in CARRIED_OUT],
            "uncertain": [s["system"] for s in systems if s["uncertain"]],
        }
    if kind == "rectification":
        extra["rectification"] = {"fields": sorted(req.details.get("changes") or {})}
    elif kind == "restriction":
        extra["restriction"] = {"grounds": req.details.get("grounds"),
                                "lift": "notified_before_lifting (GDPR art. 18(3))"}
    elif kind == "objection":
        extra["objection"] = _objection(inputs, systems)
    writer.write_json("result.json", {**body, **extra})
    return {"systems": systems, "retained": retained, **extra}
