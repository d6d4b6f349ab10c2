"""Every statement one request's life runs, EXPLAINed on a large PostgreSQL history.

The history (``--size`` requests) is built as bench/bench_history.py builds its own, a sample
through ``dsr serve`` copied at the SQL level (bench/history.py), or reused (``--database``).
The real service runs in this process under uvicorn (worker and partner sandbox with it, so
partners call back over HTTP) and a ``before_cursor_execute`` hook on its engine keeps each
statement, its parameters and the first frame under ``app/`` that issued it. The flow (see
:func:`play`): the six rights from the portal and an agent, carried out to the answer, read,
listed with each filter, acted on by the agent; ``/metrics``; the periodic jobs once. Then each
distinct statement (placeholder lists folded) runs again with its parameters under ``EXPLAIN
(ANALYZE, BUFFERS, FORMAT JSON)`` in a transaction rolled back, twice, the warm run reported (an
INSERT of a row now there is planned only). Prints the statements by time, then the offenders:
a Seq Scan, or an index scan without ``Index Cond``, on more than :data:`BIG` rows.

    .venv/bin/python bench/explain_history.py [--size 100000] [--sample 1500] [--top 25]
        [--database postgresql+asyncpg://postgres@127.0.0.1:5432/NAME] [--keep]

A database built here is dropped at the end unless ``--keep`` (its URL is printed); a reused
one must come from this script or bench_history.py, and grows by the flow's 16 requests.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``app``, ``bench`` and ``tests`` importable

import greenlet  # noqa: E402
import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine  # noqa: E402

from bench import history  # noqa: E402
from bench.bench_goals import LIFTED  # noqa: E402
from bench.bench_history import build_sample  # noqa: E402
from tests.e2e import service as e2e  # noqa: E402

APP_DIR = str(ROOT / "app") + os.sep
BIG = 10_000  # a table with more rows than this is not to be read whole
EXPLAINABLE = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)
_TABLE_SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan"}
FINAL = {"completed", "rejected", "cancelled"}
PORTAL_HOOK = "/bench-portal-hook"  # the portal backend, played by a route added here
WAIT_S = 120.0
T = TypeVar("T")


def normalise(sql: str) -> str:
    """The statement's identity: placeholders numbered away, lists of them (IN, VALUES rows)
    folded, whitespace collapsed."""
    text = re.sub(r"\$\d+", "$", " ".join(sql.split()))
    text = re.sub(r"\$(::[\w\[\]]+)?(, \$(::[\w\[\]]+)?)+", "$...", text)
    return re.sub(r"(\([^()]*\))(, \1)+", r"\1...", text)


def _frames() -> Iterator[Any]:
    """The caller's frames, outwards, across SQLAlchemy's greenlet into the async code."""
    frame: Any = sys._getframe(2)
    current: Any = greenlet.getcurrent()
    while True:
        while frame is not None:
            yield frame
            frame = frame.f_back
        current = current.parent
        if current is None or current.gr_frame is None:
            return
        frame = current.gr_frame


def origin() -> str:
    """The first frame under app/ that issued the statement, and the app frame that called it."""
    found = [f"{f.f_code.co_filename[len(APP_DIR):]}:{f.f_lineno} {f.f_code.co_name}"
             for f in _frames() if f.f_code.co_filename.startswith(APP_DIR)][:2]
    return " <- ".join(found) or "(outside app/)"


@dataclass
class Statement:
    sql: str
    params: tuple[Any, ...]
    calls: int = 0
    origins: Counter[str] = field(default_factory=Counter)
    ms: float | None = None
    rows_read: int = 0
    buffers: int = 0
    note: str = ""
    offences: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        top, _count = self.origins.most_common(1)[0]
        return top + (f" (+{len(self.origins) - 1} more)" if len(self.origins) > 1 else "")


class Capture:
    """``before_cursor_execute`` on the service's engine: every DML statement, once per text."""

    def __init__(self) -> None:
        self.statements: dict[str, Statement] = {}
        self.on = True  # off while the bench itself speaks to the database

    def __call__(self, _conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any,
                 executemany: bool) -> None:
        if not self.on or not EXPLAINABLE.match(sql):
            return
        if executemany:
            parameters = parameters[0] if parameters else ()
        entry = self.statements.setdefault(normalise(sql), Statement(sql, tuple(parameters or ())))
        entry.calls += 1
        entry.origins[origin()] += 1


def service_settings(url: str, port: int) -> Any:
    """The service's settings for the flow: the sandbox as partners, their rate limits off,
    short retries (a failed task in seconds), a portal backend to notify."""
    for name in [n for n in os.environ if n.startswith("DSR_")]:
        del os.environ[name]  # only the settings chosen here
    os.environ.update({**e2e.FAST_ENV, **LIFTED, "DSR_TASK_MAX_ATTEMPTS": "2",
                       "DSR_LOG_LEVEL": "WARNING"})
    from app.settings import Settings

    base, secret = f"http://127.0.0.1:{port}", base64.b64encode(os.urandom(24)).decode()
    return Settings(_env_file=None, database_url=url, jwt_secret=e2e.E2E_JWT_SECRET,
                    public_url=base, port=port, sandbox=True, run_worker=True,
                    portal_webhook_url=base + PORTAL_HOOK, portal_webhook_secret="whsec_" + secret)


class Flow:
    """The API calls of the flow, by a portal user of C-1001 and an agent."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http, self.agent = http, e2e.bearer("agent")
        self.portal = e2e.bearer("portal", "C-1001")

    async def call(self, method: str, path: str, *, portal: bool = False,
                   body: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
                   ) -> httpx.Response:
        answer = await self.http.request(method, path, json=body, params=params,
                                         headers=self.portal if portal else self.agent)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer

    async def create(self, body: dict[str, Any], *, portal: bool) -> str:
        if not portal:
            body = {**body, "customer_number": "C-1001", "channel": "phone"}
        return str((await self.call("POST", "/v1/requests", portal=portal, body=body)).json()["id"])

    async def get(self, request_id: str) -> dict[str, Any]:
        return dict((await self.call("GET", f"/v1/requests/{request_id}")).json())

    async def wait(self, ids: list[str], done: Callable[[dict[str, Any]], bool],
                   ) -> dict[str, dict[str, Any]]:
        """Until every request is ``done``, completing the installer's manual tasks meanwhile."""
        deadline = time.monotonic() + WAIT_S
        while True:
            seen = {i: await self.get(i) for i in ids}
            late = [r for r in seen.values() if not done(r)]
            if not late:
                return seen
            if time.monotonic() > deadline:
                raise RuntimeError(f"not done in {WAIT_S:.0f} s: "
                                   f"{[(r['type'], r['status']) for r in late]}")
            for request in late:
                await self.complete_manual(request)
            await asyncio.sleep(0.2)  # the worker and the partners are at it

    async def complete_manual(self, request: dict[str, Any]) -> None:
        """The agent's part for the installation company (no API): each manual task done."""
        for task in request["tasks"]:
            if task["status"] == "manual":
                await self.call("POST", f"/v1/requests/{request['id']}/tasks/{task['id']}"
                                "/complete", body={"outcome": "done", "note": "Confirmed"})


def answered(request: dict[str, Any]) -> bool:
    """Final, and a completed request with its answer built."""
    return request["status"] in FINAL and (request["status"] != "completed"
                                           or request.get("response") is not None)


async def play(flow: Flow, sandbox: Any, jobs: Callable[[], Awaitable[None]]) -> int:
    """The flow; how many requests it made. The portal's six for C-1001 and an agent's six
    (verified) carried out to their answers, the installer's manual tasks completed on the
    way; an access request whose eniro task fails (given up), retried; three left open for
    the agent to extend, reject and cancel; then each request read and the lists asked."""
    ids = [await flow.create(dict(body), portal=portal)
           for portal in (True, False) for body in history.RIGHTS]
    for request_id in ids[len(history.RIGHTS):]:
        await flow.call("POST", f"/v1/requests/{request_id}/verify", body={"method": "bankid"})
    await flow.wait(ids, answered)

    from app.sandbox.faults import parse_faults

    sandbox.faults = parse_faults("eniro:error=1")
    ids.append(failing := await flow.create({"type": "access"}, portal=True))
    waited = await flow.wait([failing], lambda r: any(
        t["system"] == "eniro" and t["status"] == "failed" for t in r["tasks"]))
    sandbox.faults = parse_faults("")
    eniro = next(t for t in waited[failing]["tasks"] if t["system"] == "eniro")
    await flow.call("POST", f"/v1/requests/{failing}/tasks/{eniro['id']}/retry", body={})
    await flow.wait([failing], answered)

    for action, body in (("extend", {"months": 1, "reason": "Held by several partners"}),
                         ("reject", {"reason": "manifestly_unfounded", "note": "Fifth"}),
                         ("cancel", {"note": "Withdrawn by the customer on the phone"})):
        ids.append(request_id := await flow.create({"type": "access"}, portal=False))
        await flow.call("POST", f"/v1/requests/{request_id}/{action}", body=body)
    for request_id in ids:
        for path, portal in (("", True), ("", False), ("/events", False),
                             ("/notifications", False)):
            await flow.call("GET", f"/v1/requests/{request_id}{path}", portal=portal)
        if (await flow.get(request_id))["status"] == "completed":
            for method in ("HEAD", "GET"):
                await flow.call(method, f"/v1/requests/{request_id}/response", portal=True)
    for portal, filters in ((True, {}), (False, {}), (False, {"status": "completed"}),
                            (False, {"status": "action_required"}), (False, {"overdue": "true"}),
                            (False, {"type": "erasure"}), (False, {"customer_number": "C-1002"}),
                            (False, {"status": "completed", "type": "access",
                                     "customer_number": "C-1001"})):
        page = (await flow.call("GET", "/v1/requests", portal=portal,
                                params={"limit": 20, **filters})).json()
        if page["next_cursor"]:
            await flow.call("GET", "/v1/requests", portal=portal,
                            params={"limit": 20, "cursor": page["next_cursor"], **filters})
    await flow.call("GET", "/metrics")
    await jobs()
    await flow.call("GET", "/metrics")
    return len(ids)


async def run_service(url: str, capture: Capture) -> int:
    """The service in this process under uvicorn, the flow played against it."""
    from fastapi import Response
    from starlette.routing import Mount

    from app.main import create_app
    from app.retention.job import jobs as retention_jobs

    port = e2e.free_port()
    app = create_app(service_settings(url, port))
    app.add_api_route(PORTAL_HOOK, lambda: Response(status_code=204), methods=["POST"],
                      include_in_schema=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="on"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)  # uvicorn is starting (lifespan, then the socket)
    event.listen(app.state.engine.sync_engine, "before_cursor_execute", capture)
    sandbox: Any = next(r.app for r in app.routes if isinstance(r, Mount))
    periodic = retention_jobs(app.state.dispatcher)

    async def jobs() -> None:
        capture.on = False  # the bench's own statement: every job due now
        async with app.state.sessionmaker() as session, session.begin():
            await session.execute(sa.text("UPDATE scheduled_job SET next_run_at = now()"))
        capture.on = True
        for job in periodic:
            await job.run()

    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30.0,
                                     trust_env=False) as http:
            made = await play(Flow(http), sandbox.state.sandbox, jobs)
            await asyncio.sleep(1.0)  # notifications and the last outcomes being written
    finally:
        capture.on, server.should_exit = False, True
        await serving
    return made


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def read_by(node: dict[str, Any]) -> int:
    rows = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            + node.get("Rows Removed by Index Recheck", 0))
    return int(rows * node.get("Actual Loops", 1))


def judge(statement: Statement, plan: dict[str, Any], sizes: dict[str, int]) -> None:
    """The figures and offences of one plan (``plan``: EXPLAIN's JSON document's one item);
    ``sizes``: the rows of each table, and the entries of each index (a partial index holds
    fewer than its table: walking one that is small is no offence)."""
    root = plan["Plan"]
    statement.ms = plan.get("Execution Time")
    statement.buffers = int(root.get("Shared Hit Blocks", 0) + root.get("Shared Read Blocks", 0))
    statement.rows_read = sum(read_by(n) for n in nodes(root) if n["Node Type"] in _TABLE_SCANS)
    for node in nodes(root):
        table = node.get("Relation Name")
        index = node.get("Index Name")
        whole = node["Node Type"] == "Seq Scan" or (
            node["Node Type"] in ("Index Scan", "Index Only Scan") and "Index Cond" not in node)
        if table and whole and sizes.get(index or table, 0) > BIG:
            how = node["Node Type"] + (f" using {index}" if index else "")
            figure = f", read {read_by(node):,}" if "Actual Rows" in node else ""
            statement.offences.append(f"{how} on {table} ({sizes[table]:,} rows{figure}; "
                                      f"filter: {node.get('Filter', 'none')})")


async def connected(url: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            return await work(conn)
    finally:
        await engine.dispose()


async def analyze(conn: AsyncConnection) -> dict[str, int]:
    """ANALYZE; the rows of each table (counted) and the entries of each index."""
    await conn.execute(sa.text("ANALYZE"))
    sizes = {name: int(rows) for name, rows in await conn.execute(sa.text(
        "SELECT relname, reltuples FROM pg_class WHERE relkind = 'i'"))}
    for (name,) in await conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")):
        sizes[name] = (await conn.execute(sa.text(f'SELECT count(*) FROM "{name}"'))).scalar_one()  # noqa: S608
    return sizes


async def explain_all(conn: AsyncConnection, statements: list[Statement]) -> None:
    """Each statement EXPLAINed with its parameters (the statistics as the flow left them)."""
    sizes = await analyze(conn)
    raw = (await conn.get_raw_connection()).driver_connection
    for statement in statements:
        plan, statement.note = await explain_one(raw, statement)
        if plan is not None:
            judge(statement, plan, sizes)


async def _explain(raw: Any, statement: Statement, options: str) -> dict[str, Any]:
    transaction = raw.transaction()
    await transaction.start()
    try:
        document = await raw.fetchval(f"EXPLAIN ({options}) {statement.sql}",
                                      *statement.params)
    finally:
        await transaction.rollback()  # a statement that writes leaves nothing behind
    plans = json.loads(document) if isinstance(document, str) else document
    return dict(plans[0])


async def explain_one(raw: Any, statement: Statement) -> tuple[dict[str, Any] | None, str]:
    """The warm run's plan (the first run brings its pages in); planned only if PostgreSQL
    refuses to run it again."""
    import asyncpg

    try:
        await _explain(raw, statement, "ANALYZE, BUFFERS, FORMAT JSON")
        return await _explain(raw, statement, "ANALYZE, BUFFERS, FORMAT JSON"), ""
    except asyncpg.PostgresError as exc:
        note = f"plan only ({type(exc).__name__})"
    try:
        return await _explain(raw, statement, "FORMAT JSON"), note
    except asyncpg.PostgresError as exc:
        return None, f"not explained ({type(exc).__name__})"


def short(sql: str, width: int) -> str:
    text = normalise(sql)
    return text if len(text) <= width else text[: width - 3] + "..."


def report(statements: list[Statement], top: int) -> None:
    ranked = sorted(statements, key=lambda s: -(s.ms if s.ms is not None else -1.0))
    print(f"\n{len(statements)} distinct statements; the top {min(top, len(ranked))} by "
          "execution time (warm run, ms):\n")
    print("| ms | rows read | buffers | calls | from | statement |")
    print("|---:|---:|---:|---:|---|---|")
    for s in ranked[:top]:
        ms = f"{s.ms:.2f}" if s.ms is not None else s.note
        print(f"| {ms} | {s.rows_read:,} | {s.buffers:,} | {s.calls} | {s.origin} | "
              f"`{short(s.sql, 110)}` |")
    offenders = [s for s in ranked if s.offences]
    print(f"\nOffenders ({len(offenders)}): a table of more than {BIG:,} rows read whole\n")
    for s in offenders:
        ms = f"{s.ms:.2f} ms" if s.ms is not None else s.note
        print(f"- {ms}, {s.calls} calls, from {s.origin}\n  `{short(s.sql, 400)}`")
        for offence in s.offences:
            print(f"  * {offence}")
    print("\nNot run again: " + "; ".join(f"{s.note} {short(s.sql, 60)}"
                                           for s in statements if s.note))
    modules = Counter(o.split(":")[0] for s in statements for o in s.origins)
    print("\nStatements per module: " + ", ".join(f"{m} {n}" for m, n in modules.most_common()))


def build(size: int, sample: int) -> str:
    name = f"dsr_explain_{uuid.uuid4().hex[:10]}"
    asyncio.run(e2e._pg_admin(f'CREATE DATABASE "{name}"'))
    url = e2e.PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    statuses, _took = build_sample("postgresql", url, sample)
    started = time.perf_counter()
    copied = history.grow(url, statuses, size)
    print(f"  grown to {size:,} requests in {time.perf_counter() - started:.0f} s (copied: "
          + ", ".join(f"{k} {v:,}" for k, v in copied.items()) + ")", flush=True)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="requests in the history")
    parser.add_argument("--sample", type=int, default=1500, help="requests copied to make it")
    parser.add_argument("--database", help="reuse this database (a URL) instead of building")
    parser.add_argument("--keep", action="store_true", help="keep the database built")
    parser.add_argument("--top", type=int, default=25, help="rows of the table")
    args = parser.parse_args()
    url = args.database or build(args.size, args.sample)
    try:
        asyncio.run(connected(url, analyze))
        size, counts = history.size(url)
        print(f"explain_history: {counts['dsr_request']:,} requests, {counts['task']:,} tasks, "
              f"{counts['audit_event']:,} audit events, {size / 2**20:,.0f} MiB", flush=True)
        capture, started = Capture(), time.perf_counter()
        made = asyncio.run(run_service(url, capture))
        statements = list(capture.statements.values())
        print(f"  flow: {made} requests in {time.perf_counter() - started:.0f} s; "
              f"{sum(s.calls for s in statements):,} statements captured", flush=True)
        asyncio.run(connected(url, lambda conn: explain_all(conn, statements)))
        report(statements, args.top)
    finally:
        if args.database is None and not args.keep:
            name = url.rsplit("/", 1)[1]
            asyncio.run(e2e._pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        elif args.database is None:
            print(f"\nkept: --database {url}")


if __name__ == "__main__":
    main()
