"""The package is built by streaming: call history never sits in memory all at once."""

from __future__ import annotations

import json
import tracemalloc
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from app.answers.builder import build_zip
from app.answers.content import PackageInputs, RequestFacts, SystemResult
from tests.conftest import make_settings
from tests.responses.conftest import CRM_DATA

ROWS = 100_000


async def _pages(link: str) -> AsyncIterator[list[dict[str, Any]]]:
    """100k rows, 1000 a page, each page made fresh (as the register's HTTP answers are)."""
    for start in range(0, ROWS, 1000):
        yield [{"id": f"CH-1004-{i:07d}", "at": f"2026-{1 + i % 12:02d}-01T10:00:00Z",
                "direction": "in", "kind": "call", "counterpart": "+46701740605",
                "duration_s": i % 1800} for i in range(start, start + 1000)]


async def test_streaming_build_keeps_python_allocations_bounded(database_url: str) -> None:
    now = datetime.now(UTC)
    facts = RequestFacts(id=str(uuid.uuid4()), type="access", status="completed",
                         customer_number="C-1004", language="sv", received_at=now,
                         finished_at=now, details={})
    data = {**CRM_DATA, "customer_data": {**CRM_DATA["customer_data"],
                                          "call_history_count": ROWS}}
    inputs = PackageInputs(facts, [SystemResult("crm", "register", "customer number", "export",
                                                "done", "ok", now, [], data)])
    tracemalloc.start()
    try:
        built = await build_zip(inputs, call_pages=_pages, settings=make_settings(database_url))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        # Holding the 100k rows as dicts (what a list-of-all-rows build does) costs about
        # 100k x ~650 bytes ≈ 65 MB of Python objects, and the JSON text of data.json alone
        # is ~14 MB. The streaming build holds one 1000-row page (~0.7 MB), 64 KiB write
        # buffers, zlib state and the report's 100 preview rows: a few MB. 8 MB leaves room
        # for allocator noise while failing any approach that keeps all rows or all text.
        assert peak < 8 * 1024 * 1024, f"peak Python allocations {peak / 1e6:.1f} MB"
        with zipfile.ZipFile(built.path) as package:
            with package.open("data.json") as handle:
                body = json.load(handle)
            crm = body["systems"][0]["categories"]["traffic_data_calls"]
            assert len(crm) == ROWS and crm[-1]["id"] == f"CH-1004-{ROWS - 1:07d}"
            manifest = json.loads(package.read("manifest.json"))
            size = next(f["size"] for f in manifest["files"] if f["name"] == "data.json")
            assert size > 10 * 1024 * 1024  # the file really is larger than the bound
    finally:
        built.discard()
