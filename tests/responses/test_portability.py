"""The portability package (art. 20): data.json, one CSV per dataset, every field documented."""

from __future__ import annotations

import csv
import io
import json

from app.connectors import base
from app.services.packages import from_csv_cell
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
        snpac=lambda call: base.done("Port of the number to Telia booked for 2026-12-02."))
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
    assert "your telephony subscription for the number 0470-12 34 56 with us ends" in html
