"""What goes into a response package, by type of request.

- access (art. 15): ``data.json`` with every system's data grouped by category, the call
  history streamed into it page by page; the report shows the data in tables with the art. 15
  information (purposes, legal basis, recipients, retention, sources, rights, IMY).
- portability (art. 20): ``data.json`` and one CSV per dataset, each field documented; what
  was sent to the number-portability registry when a receiving operator was named.
- erasure, rectification, restriction, objection: ``result.json`` with each system's outcome,
  anything retained with its legal basis and erase-by date.
- rejected: ``result.json`` with the reason, and the report names the right to complain to IMY.

The inputs are plain snapshots (:class:`PackageInputs`), read and decrypted by
:mod:`app.answers.inputs`; this module does no database work.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from typing import Any

from app.answers import policy, report
from app.answers.packages import (
    TEXT_PREFIX,
    Entry,
    PackageWriter,
    csv_cell,
    field_types,
    slug,
)
from app.partners import PORTING, Partner, register, with_role
from app.rights import Letter, letter_for
from app.rights.facts import (
    CARRIED_OUT,
    CaseRecord,
    PackageInputs,
    RequestFacts,
    SystemResult,
    iso,
)

CallPages = Callable[[str], AsyncIterator[list[dict[str, Any]]]]
DEFERRED = "erase_retained"  # scheduled work on an erasure: its own table in the answer
__all__ = ["CARRIED_OUT", "CallPages", "PackageError", "PackageInputs", "RequestFacts",
           "SystemResult", "write_contents"]


class PackageError(Exception):
    """The package cannot be built now (a partner unreachable, data inconsistent)."""


def _iso(value: datetime | None) -> str | None:
    return iso(value)


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps would build one per call


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


async def write_contents(
    inputs: PackageInputs, writer: PackageWriter, *, generated_at: datetime,
    call_pages: CallPages | None, report_rows: int, retention_days: int,
) -> None:
    """Every file but the manifest, data files first so the report can list their hashes.

    Every sentence of the letter comes from :func:`app.rights.letter_for`: offered by the
    right's letter and rendered only where its guard finds the recorded facts make it true;
    the data files record each claim with the audit events it rests on."""
    t = report.texts(inputs.request.language)
    letter = letter_for(inputs)
    kind = letter.kind
    context: dict[str, Any] = {
        "t": t, "kind": kind, "req": inputs.request.public(), "generated_at": _iso(generated_at),
        "retention_days": retention_days, "request_type": inputs.request.type,
        "policy": policy.for_language(inputs.request.language),
        "letter": letter.rendered(t), "service_started": inputs.request.started_by_service,
        "layout": letter.layout,
    }
    claims = letter.claims()
    if inputs.request.extension:  # art. 12(3): the extension and its reason, in the answer
        context["extension"] = inputs.request.extension
    if letter.layout == "copy":
        context["systems"] = await _write_access(inputs, writer, generated_at, call_pages,
                                                 report_rows, t, claims)
        context["recipients"] = recipients_of(inputs, context["policy"])
        context["case_records"] = [_case(c) for c in inputs.case_records]
    elif letter.layout == "datasets":
        context.update(await _write_portability(inputs, writer, generated_at, t, call_pages,
                                                claims))
    else:
        context.update(_write_result(inputs, writer, generated_at, letter, claims))
    context["files"] = [f.as_dict() for f in writer.files]
    with writer.entry("report.html") as out:
        out.write_pieces(report.render(context))


# -- access -------------------------------------------------------------------------------------


def recipients_of(inputs: PackageInputs, said: dict[str, Any]) -> list[dict[str, str]]:
    """The subprocessors that hold this customer's data (:func:`app.rights.access.holders`)."""
    from app.rights.access import holders
    from app.rights.facts import Facts

    holding = set(holders(Facts(inputs)))
    return [recipient for system, recipient in said["recipients"].items() if system in holding]


def _case(record: CaseRecord) -> dict[str, Any]:
    return {"id": record.id, "type": record.type, "status": record.status,
            "channel": record.channel, "received_at": _iso(record.received_at),
            "finished_at": _iso(record.finished_at), "grounds": record.grounds}


async def _write_access(
    inputs: PackageInputs, writer: PackageWriter, generated_at: datetime,
    call_pages: CallPages | None, report_rows: int, t: dict[str, Any],
    claims: list[dict[str, Any]],
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
            if system.system == register().name and system.data is not None:
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
        cases = [_case(c) for c in inputs.case_records]
        out.write(f"],\n\"case_records\": {_dumps(cases)},\n\"claims\": {_dumps(claims)}\n}}\n")
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


# Names the package gives its own files: no dataset's file may take one of them.
RESERVED_FILES = frozenset({"manifest.json", "report.html", "data.json", "result.json",
                            "call_history.csv", "call_history.jsonl"})


def csv_file_name(stem: str, position: int, taken: set[str]) -> str:
    """The file a dataset's CSV is written to, chosen by the service.

    A dataset's key comes from a system (a partner's callback among them) and is kept as data
    in ``data.json``; the file name is only ever a :func:`~app.answers.packages.slug` of it.
    A key that is a slug already keeps its name (``customer.csv``); any other, or one whose
    name is taken, gets the dataset's position after its slug (``<system>-tmp-zipslip-4.csv``),
    so names are unique and none holds a path separator or a dot-dot."""
    base = slug(stem)
    name = f"{base}.csv"
    if base != stem or name in taken:
        name, n = f"{base}-{position}.csv", position
        while name in taken:  # a key that is itself "<slug>-<n>": count on
            n += 1
            name = f"{base}-{n}.csv"
    taken.add(name)
    return name


async def _write_portability(
    inputs: PackageInputs, writer: PackageWriter, generated_at: datetime, t: dict[str, Any],
    call_pages: CallPages | None = None, claims: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    wants_csv = "csv" in (inputs.request.details.get("formats") or ["json", "csv"])
    datasets: list[dict[str, Any]] = []
    taken = set(RESERVED_FILES)
    own = register().name  # the register's datasets keep their own names
    for system in inputs.systems:
        for name, value in (system.data or {}).items():
            rows = [value] if isinstance(value, dict) else value
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                continue
            fields = [{**f, "description": report.label(t, f["name"])} for f in field_types(rows)]
            stem = name if system.system == own else f"{system.system}-{name}"
            datasets.append({"name": name, "system": system.system, "title": system.title,
                             "file": csv_file_name(stem, len(datasets) + 1, taken)
                             if wants_csv else None,
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
        "number_porting": porting, "claims": claims or [],
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
    own = register().name
    records = next((s for s in inputs.systems if s.system == own and s.data), None)
    if records is None or call_pages is None:
        return None
    name = "call_history.csv" if wants_csv else "call_history.jsonl"
    count = 0
    try:
        with writer.entry(name) as out:
            table = csv.writer(out, lineterminator="\r\n") if wants_csv else None
            if table is not None:
                table.writerow([csv_cell(f["name"]) for f in CALL_FIELDS])
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
    return {"name": "call_history", "system": own, "title": records.title, "file": name,
            "observed": True, "row_count": count, "rows": None,
            "fields": [{**f, "description": report.label(t, f["name"])} for f in CALL_FIELDS]}


def _porting(inputs: PackageInputs) -> dict[str, Any] | None:
    operator = inputs.request.details.get("receiving_operator")
    if not operator:
        return None
    registry = with_role(PORTING)
    name = registry.name if registry is not None else None
    task = next((s for s in inputs.systems if s.system == name and s.action == "port_number"),
                None)
    return {"sent_to": _known_as(registry), "receiving_operator": operator,
            "phone_number": inputs.links.get(name) if task and name else None,
            "status": task.status if task else None,
            "date": ((task.data or {}).get("booked_port") or {}).get("date") if task else None,
            "at": _iso(task.finished_at) if task else None}


# -- erasure, rectification, restriction, objection, rejection ----------------------------------


def erased_on(until: Any) -> str | None:
    """The day after the last day something is kept: the day its scheduled erasure runs."""
    try:
        return (date.fromisoformat(str(until)[:10]) + timedelta(days=1)).isoformat()
    except ValueError:
        return None


def _with_erase_day(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**item, "erased_on": erased_on(item["until"]) if item.get("until") else None}
            for item in items]


def _write_result(
    inputs: PackageInputs, writer: PackageWriter, generated_at: datetime, letter: Letter,
    claims: list[dict[str, Any]],
) -> dict[str, Any]:
    """result.json: what each system did, what is kept and scheduled, the right's own parts
    (``letter.extra``) and the claims; the report shows the same."""
    req, kind = inputs.request, letter.kind
    t = report.texts(req.language)
    # Art. 12(6): before identity was verified the answer names no system and no data.
    shown = [] if letter.hide_systems else inputs.systems
    systems: list[dict[str, Any]] = [
        {"system": s.system, "title": s.title, "action": s.action, "status": s.status,
         "summary": s.summary, "done_at": _iso(s.finished_at),
         "retained": _with_erase_day(s.retained),
         "uncertain": s.uncertain, "text": report.outcome_text(
             t, action=s.action, status=s.status, code=s.code, params=s.params,
             uncertain=s.uncertain)}
        for s in shown if s.action != DEFERRED]
    if not letter.show_work:  # a notice about the scheduled work alone
        systems = []
    if kind in ("rejected", "cancelled"):  # what was read is not given out with a refusal
        systems = [{**s, "text": t["closed_export"]} if s["action"] in ("export",
                   "export_provided") and s["status"] == "done" else s for s in systems]
    if letter.action_words:  # e.g. the policy's lock, not in the words of art. 18
        words = t[letter.action_words]
        systems = [{**s, "action_label": words["action"],
                    "text": words.get(s["status"], s["text"])} for s in systems]
    # The promise that what is kept is erased when its time is up, as the scheduled work
    # that keeps it: one entry per system, with the date it runs.
    scheduled: list[dict[str, Any]] = [
        {"system": s.system, "title": s.title, "status": s.status,
         "scheduled_for": _iso(s.scheduled_for), "items": _with_erase_day(s.retained),
         "ran_at": _iso(s.finished_at), "text": report.outcome_text(
             t, action=s.action, status=s.status, code=s.code, params=s.params)
         if s.finished_at else None}
        for s in shown if s.action == DEFERRED]
    if kind == "rejected":
        # A request rejected after some of it was carried out still says what was done.
        systems = [s for s in systems if s["status"] in CARRIED_OUT]
    retained: list[dict[str, Any]] = [{"system": s["system"], "title": s["title"], **item}
                for s in systems for item in s["retained"]]
    body: dict[str, Any] = {
        "format": f"connect2ip-dsr-{'rejection' if kind == 'rejected' else 'result'}/1",
        "generated_at": _iso(generated_at), "request": req.public(), "outcome": req.status,
        "started_by": "service" if req.started_by_service else "customer",
    }
    extra: dict[str, Any] = dict(letter.extra)
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
    writer.write_json("result.json", {**body, **extra, "claims": claims})
    return {"systems": systems, "retained": retained, **extra}


def _known_as(entry: Partner | None) -> str | None:
    """A partner as the package names it: its title without the gloss in brackets (the
    number-portability registry's title is its name, then what it does)."""
    return entry.title.partition(" (")[0] if entry is not None else None
