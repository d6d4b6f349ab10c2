"""Memory and time of building, storing and streaming back the access package of C-1004.

C-1004 is the sandbox customer with 1,000,000 call-history rows, generated page by page and
never stored. The benchmark runs the real crm connector against the sandbox in-process (ASGI
transport), builds the package with the streaming builder, stores it encrypted in chunks in a
fresh SQLite database, and streams it back, checking its SHA-256. It prints peak RSS (the
process's high-water mark: interpreter, libraries and all), the package and data.json sizes,
and the time of each phase.

    .venv/bin/python bench/bench_package_memory.py [--rows N] [--tracemalloc]

``--tracemalloc`` also reports the peak of Python allocations during the build (slower).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.answers import builder, download, store
from app.answers.content import PackageInputs, RequestFacts, SystemResult
from app.connectors.base import Call
from app.connectors.registry import build_connectors
from app.db import create_engine, create_sessionmaker, unit_of_work, utcnow
from app.migrate import upgrade
from app.models import (
    Channel,
    DsrRequest,
    Language,
    RequestStatus,
    RequestType,
)
from app.sandbox import create_sandbox_app
from app.sandbox import seed as sandbox_seed
from app.services.vault import Vault
from app.settings import Settings


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


async def main(rows: int, trace: bool, url: str) -> None:
    sandbox_seed.LARGE_HISTORY_ROWS = rows
    settings = Settings(_env_file=None, database_url=url, crm_url="http://sandbox/crm",
                        sandbox_delay_ms=0)
    sandbox = create_sandbox_app(settings)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    vault = Vault(settings)
    print(f"rows: {rows:,}   baseline peak RSS: {rss_mb():.1f} MB")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox)) as http:
        crm = build_connectors(settings, http)["crm"]
        now = utcnow()
        request = DsrRequest(type=RequestType.access, status=RequestStatus.completed,
                             customer_number="C-1004", channel=Channel.portal,
                             language=Language.sv, received_at=now, due_at=now,
                             finished_at=now, created_by="bench", created_by_role="portal")
        async with unit_of_work(sessionmaker) as session:
            session.add(request)
        call = Call(task_id=uuid.uuid4(), request_id=request.id,
                    request_type=RequestType.access, action="export", link="C-1004",
                    callback_url="http://bench/none", system="crm")
        outcome = await crm.execute(call)
        facts = RequestFacts(id=str(request.id), type="access", status="completed",
                             customer_number="C-1004", language="sv", received_at=now,
                             finished_at=now, details={})
        inputs = PackageInputs(facts, [SystemResult(
            "crm", "Connect2IP customer register", "customer number", "export", "done",
            outcome.summary, now, [], outcome.data)])

        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        built = await builder.build_zip(
            inputs, call_pages=crm.iter_call_history,  # type: ignore[attr-defined]
            settings=settings)
        build_s = time.perf_counter() - started
        traced = tracemalloc.get_traced_memory()[1] if trace else None
        if trace:
            tracemalloc.stop()
        data_json = next(f.size for f in built.files if f.name == "data.json")
        print(f"build:  {build_s:6.1f} s   zip {built.size / 1e6:.1f} MB   "
              f"data.json {data_json / 1e6:.1f} MB   peak RSS {rss_mb():.1f} MB"
              + (f"   peak Python allocations {traced / 1e6:.1f} MB" if traced else ""))

        started = time.perf_counter()
        async with unit_of_work(sessionmaker) as session:
            locked = await session.get(DsrRequest, request.id)
            assert locked is not None
            package = await store.store(session, locked, built, vault=vault,
                                            retention_days=30)
        built.discard()
        print(f"store:  {time.perf_counter() - started:6.1f} s   {package.chunks} encrypted "
              f"chunks   peak RSS {rss_mb():.1f} MB")

        started = time.perf_counter()
        digest, size = hashlib.sha256(), 0
        async for piece in download.iter_package(sessionmaker, package, vault):
            digest.update(piece)
            size += len(piece)
        assert digest.hexdigest() == package.sha256 and size == package.size
        print(f"stream: {time.perf_counter() - started:6.1f} s   sha256 verified   "
              f"peak RSS {rss_mb():.1f} MB")
    await sandbox.state.sandbox.close()
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    database = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='dsr-bench-')) / 'b.db'}"
    upgrade(database)
    asyncio.run(main(args.rows, args.tracemalloc, database))
