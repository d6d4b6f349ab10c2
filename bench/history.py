"""A large history for bench/bench_history.py: a real sample through the service, then copies.

The sample is real: requests of all six rights for the demo customers, posted over HTTP to a
``dsr serve`` on the target database and carried out by it to the end (answers built). The
copies are made at the SQL level from that sample: every table with rows per request (a
``request_id`` or ``task_id`` column) is copied with all its columns, read from the models, so
a column added later is copied too; only ids, keys that must stay unique, the ledger's
numbers and the timestamps are rewritten. Each copy is moved back a whole number of days, up
to :data:`SPREAD_DAYS`, so the history is spread over time, and what the service's own
retention would have removed by now is not copied (expired answer packages are marked purged,
their chunks and partner answers left out; webhook receipts and idempotency keys older than
their retention are left out). Copies of final requests stay final; a small share are copies
of the sample's open requests (waiting for an agent), moved back at most
:data:`OPEN_SPREAD_DAYS`, so a few are overdue.

What the copies do not have: a valid audit chain or ledger MAC (they are copies of another
request's, and ``dsr audit verify`` says so), nor the audit event of a purge.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (the tables, in SQLModel.metadata)
from app import metrics_counts
from app.db import UTCDateTime
from app.settings import Settings
from tests.e2e.service import SETTLED_TASK, ServiceError, bearer

SPREAD_DAYS = 1000
OPEN_SPREAD_DAYS = 40  # an open request's due date is a month after it came in
OPEN_SHARE = 0.003  # of the copies, copies of an open request
# The copies belong to this many customers (C-100001 onwards, the sandbox's synthetic ones), as
# an operator's history does: copied onto the sample's three customers, each would have 33,000
# requests at 100k, and whatever reads one customer's requests (the answer's case records, the
# retention sweep) would be timed on a customer no operator has.
COPY_CUSTOMERS = 10_000
FIRST_CUSTOMER = 100_001
FINAL = frozenset({"completed", "rejected", "cancelled"})
CUSTOMERS = ("C-1001", "C-1002", "C-1003")  # C-1004's million calls would be the sample
RIGHTS: tuple[dict[str, Any], ...] = (
    {"type": "access"},
    {"type": "portability", "details": {"receiving_operator": "Telia"}},
    {"type": "rectification", "details": {"changes": {"email": "ny@example.se"}}},
    {"type": "restriction", "details": {"grounds": "accuracy_contested"}},
    {"type": "objection", "details": {"processing": "direct_marketing"}},
    {"type": "erasure"},
)
# One sample request in this many waits for an agent's decision: the open ones.
AGENT_EVERY = 50
WAITS_FOR_AGENT: dict[str, Any] = {"type": "objection", "details": {
    "processing": "legitimate_interest", "activity": "analys av webbplatsbesök",
    "grounds": "Jag vill inte bli analyserad"}}
SAMPLE_TIMEOUT_S = 1800.0
_DEFAULTS = Settings(_env_file=None)
# Rows the service deletes after these many days (its sweeps): older copies are left out.
KEPT_DAYS = {"webhook_receipt": _DEFAULTS.webhook_receipt_days,
             "idempotency_key": _DEFAULTS.idempotency_key_days,
             "task_result": _DEFAULTS.response_retention_days}


# -- the sample, through the service -----------------------------------------------------------


def sample_body(n: int) -> tuple[dict[str, Any], str]:
    """The n-th sample request: (body, customer), every right for every customer in turn."""
    if n % AGENT_EVERY == AGENT_EVERY - 1:
        return WAITS_FOR_AGENT, CUSTOMERS[0]
    return RIGHTS[n % len(RIGHTS)], CUSTOMERS[(n // len(RIGHTS)) % len(CUSTOMERS)]


def post_sample(url: str, count: int, clients: int = 8) -> tuple[list[str], int]:
    """Post ``count`` sample requests from ``clients`` at once: (ids accepted, refused)."""
    numbers = list(range(count))
    ids: list[str] = []
    refused = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal refused
        while numbers:
            body, customer = sample_body(numbers.pop(0))
            answer = await http.post("/v1/requests", json=body,
                                     headers=bearer("portal", customer))
            if answer.status_code == 202:
                ids.append(answer.json()["id"])
            else:
                refused += 1

    async def run() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60.0, trust_env=False) as http:
            await asyncio.gather(*(client(http) for _ in range(clients)))

    asyncio.run(run())
    return ids, refused


def finished(item: dict[str, Any]) -> bool:
    """Final with its answer built, or waiting for an agent with nothing in flight."""
    if item["status"] in FINAL:
        return item["status"] != "completed" or item["response"] is not None
    return item["status"] == "action_required" and all(
        task["status"] in SETTLED_TASK for task in item["tasks"])


def wait_sample(client: httpx.Client, ids: list[str]) -> dict[str, str]:
    """Poll the agent's list (newest first) until every sample request is finished; their
    statuses."""
    deadline = time.monotonic() + SAMPLE_TIMEOUT_S
    while True:
        seen: dict[str, dict[str, Any]] = {}
        cursor: str | None = None
        while len(seen) < len(ids):
            page = client.get("/v1/requests", headers=bearer("agent"), params={
                "limit": 200, **({"cursor": cursor} if cursor else {})})
            page.raise_for_status()
            body = page.json()
            seen.update((item["id"], item) for item in body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                break
        waiting = [i for i in ids if i not in seen or not finished(seen[i])]
        if not waiting:
            return {i: seen[i]["status"] for i in ids}
        if time.monotonic() > deadline:
            raise ServiceError(f"{len(waiting)} sample requests not finished in time")
        time.sleep(2.0)  # the worker is carrying them out; the list is asked again


# -- the copies, at the SQL level ---------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    name: str

    def new_uuid(self) -> str:
        if self.name == "postgresql":
            return "gen_random_uuid()"
        return "lower(hex(randomblob(16)))"  # SQLAlchemy's Uuid on SQLite: 32 hex digits

    def back(self, column: str, days: str = "m.days") -> str:
        """``column`` moved back ``days`` whole days (NULL stays NULL)."""
        if self.name == "postgresql":
            return f"{column} - {days} * interval '1 day'"
        # stored as 'YYYY-MM-DD HH:MM:SS.ffffff': a new date, the same time of day
        return f"date({column}, '-' || {days} || ' days') || substr({column}, 11)"

    def text(self, column: str) -> str:
        return f"CAST({column} AS VARCHAR(40))"


_MAPS = sa.MetaData()
REQUEST_MAP = sa.Table("bench_request_map", _MAPS, sa.Column("old_id", sa.Uuid),
                       sa.Column("new_id", sa.Uuid, primary_key=True),
                       sa.Column("days", sa.Integer), sa.Column("customer", sa.String(32)),
                       prefixes=["TEMPORARY"])
TASK_MAP = sa.Table("bench_task_map", _MAPS, sa.Column("old_id", sa.Uuid),
                    sa.Column("new_id", sa.Uuid, primary_key=True),
                    sa.Column("new_request_id", sa.Uuid), sa.Column("days", sa.Integer),
                    sa.Column("customer", sa.String(32)), prefixes=["TEMPORARY"])
NOT_PER_REQUEST = frozenset({"link", "rate_window", "scheduled_job", "audit_ledger_head"})


def overrides(d: Dialect, table: str) -> dict[str, str]:
    """Columns copied otherwise than by the general rule, as SQL over ``s`` (the row copied)
    and ``m`` (its map row)."""
    suffix = f"':' || {d.text('m.new_id')}"
    if table == "dsr_request":
        return {"customer_number": "m.customer"}
    if table == "task":
        # deferred erasures stay due when they were (in the future): not moved back
        return {"customer_number": "m.customer", "scheduled_for": "s.scheduled_for",
                "ready_at": f"CASE WHEN s.scheduled_for IS NULL THEN {d.back('s.ready_at')} "
                            "ELSE s.ready_at END"}
    if table == "response_package":
        return {"purged_at": f"CASE WHEN {d.back('s.expires_at')} <= :now THEN "
                             f"COALESCE({d.back('s.purged_at')}, {d.back('s.expires_at')}) "
                             f"ELSE {d.back('s.purged_at')} END"}
    if table == "webhook_receipt":
        return {"webhook_id": f"s.webhook_id || {suffix}"}
    if table == "idempotency_key":
        return {"key": f's."key" || {suffix}'}
    if table == "audit_ledger":
        return {"seq": ":base + row_number() OVER (ORDER BY m.new_id, s.seq)"}
    return {}


def condition(d: Dialect, table: str) -> str:
    """Which of the sample's rows a copy has (what the service's sweeps have not removed)."""
    if table == "response_chunk":
        return ("EXISTS (SELECT 1 FROM response_package p WHERE p.request_id = s.request_id "  # noqa: S608
                f"AND {d.back('p.expires_at')} > :now)")
    kept = {"webhook_receipt": "received_at", "idempotency_key": "created_at",
            "task_result": "created_at"}
    if table in kept:
        return f"{d.back('s.' + kept[table])} > :cutoff"
    return "1 = 1"


def copy_statement(d: Dialect, table: sa.Table, quote: Any) -> sa.TextClause | None:
    """INSERT ... SELECT of ``table``'s rows for every copy; None if it has no rows per
    request."""
    names = {c.name for c in table.columns}
    if table.name == "dsr_request":
        source, key = REQUEST_MAP.name, ("id", "m.new_id")
        join, request_id = "s.id = m.old_id", "m.new_id"
    elif table.name == "task":
        source, key = TASK_MAP.name, ("id", "m.new_id")
        join, request_id = "s.id = m.old_id", "m.new_request_id"
    elif "task_id" in names:
        source, key = TASK_MAP.name, ("task_id", "m.new_id")
        join, request_id = "s.task_id = m.old_id", "m.new_request_id"
    elif "request_id" in names:
        source, key = REQUEST_MAP.name, ("request_id", "m.new_id")
        join, request_id = "s.request_id = m.old_id", "m.new_id"
    else:
        return None
    special = overrides(d, table.name)
    columns, values = [], []
    for column in table.columns:
        if column.name in special:
            value = special[column.name]
        elif column.name == key[0]:
            value = key[1]
        elif column.name == "request_id":
            value = request_id
        elif column.primary_key and isinstance(column.type, sa.Uuid):
            value = d.new_uuid()
        elif isinstance(column.type, UTCDateTime | sa.DateTime):
            value = d.back(f"s.{quote(column.name)}")
        else:
            value = f"s.{quote(column.name)}"
        columns.append(quote(column.name))
        values.append(value)
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(columns)}) "  # noqa: S608
           f"SELECT {', '.join(values)} "
           f"FROM {quote(table.name)} s JOIN {source} m ON {join} "
           f"WHERE {condition(d, table.name)}")
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "now": UTCDateTime(), "cutoff": UTCDateTime(), "base": sa.BigInteger()}
    return sa.text(sql).bindparams(*(sa.bindparam(name, type_=type_)
                                     for name, type_ in types.items() if f":{name}" in sql))


def plan(sample: dict[str, str], copies: int, rng: random.Random) -> list[dict[str, Any]]:
    """One map row per copy: which sample request it copies, and how many days back."""
    final = sorted(i for i, status in sample.items() if status in FINAL)
    still_open = sorted(i for i, status in sample.items() if status not in FINAL)
    opened = round(copies * OPEN_SHARE) if still_open else 0
    rows = [{"old_id": uuid.UUID(rng.choice(still_open)), "new_id": uuid.uuid4(),
             "days": rng.randint(0, OPEN_SPREAD_DAYS)} for _ in range(opened)]
    rows += [{"old_id": uuid.UUID(rng.choice(final)), "new_id": uuid.uuid4(),
              "days": rng.randint(1, SPREAD_DAYS)} for _ in range(copies - opened)]
    for row in rows:
        row["customer"] = f"C-{FIRST_CUSTOMER + rng.randrange(COPY_CUSTOMERS)}"
    return rows


async def _grow(url: str, sample: dict[str, str], target: int, seed: int) -> dict[str, int]:
    engine = create_async_engine(url)
    d = Dialect(engine.dialect.name)
    quote = engine.dialect.identifier_preparer.quote
    copied: dict[str, int] = {}
    try:
        async with engine.begin() as conn:
            have = (await conn.execute(sa.text("SELECT count(*) FROM dsr_request"))).scalar_one()
            copies = target - have
            if copies <= 0:
                return copied
            await _maps(conn, d, plan(sample, copies, random.Random(seed)))
            for table in SQLModel.metadata.sorted_tables:
                statement = copy_statement(d, table, quote)
                if statement is None:
                    if table.name not in NOT_PER_REQUEST:
                        print(f"  (not copied, no rows per request: {table.name})")
                    continue
                now = datetime.now(UTC)
                base = (await conn.execute(sa.text(
                    "SELECT seq FROM audit_ledger_head WHERE id = 1"))).scalar() or 0
                params = {"now": now, "base": base,
                          "cutoff": now - timedelta(days=KEPT_DAYS.get(table.name, 0))}
                result = await conn.execute(statement, {
                    k: v for k, v in params.items() if f":{k}" in statement.text})
                copied[table.name] = result.rowcount
                if table.name == "audit_ledger":
                    await conn.execute(sa.text(
                        "UPDATE audit_ledger_head SET seq = "
                        "(SELECT coalesce(max(seq), 0) FROM audit_ledger) WHERE id = 1"))
            await conn.run_sync(_MAPS.drop_all)
        # the copies' count changes, appended by the triggers, folded as the service's
        # periodic compaction would have long since: a scrape then sums folded counts
        copied["counts folded"] = (await metrics_counts.compact(
            async_sessionmaker(engine)))["folded"]
        if d.name == "postgresql":
            async with engine.connect() as conn:
                await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(
                    sa.text("VACUUM ANALYZE"))  # what autovacuum would have done by now
    finally:
        await engine.dispose()
    return copied


async def _maps(conn: AsyncConnection, d: Dialect, rows: list[dict[str, Any]]) -> None:
    await conn.run_sync(_MAPS.create_all)
    await conn.execute(sa.insert(REQUEST_MAP), rows)
    await conn.execute(sa.text(
        f"INSERT INTO {TASK_MAP.name} (old_id, new_id, new_request_id, days, customer) "  # noqa: S608
        f"SELECT s.id, {d.new_uuid()}, m.new_id, m.days, m.customer FROM task s "
        f"JOIN {REQUEST_MAP.name} m ON s.request_id = m.old_id"))


def grow(url: str, sample: dict[str, str], target: int, *, seed: int = 22) -> dict[str, int]:
    """Copy the sample (request id -> status) until the database holds ``target`` requests;
    the rows copied per table."""
    return asyncio.run(_grow(url, sample, target, seed))


async def _size(url: str) -> tuple[int, dict[str, int]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            counts = {name: (await conn.execute(sa.text(f"SELECT count(*) FROM {name}")))  # noqa: S608
                      .scalar_one() for name in ("dsr_request", "task", "audit_event")}
            if engine.dialect.name == "postgresql":
                size = (await conn.execute(sa.text(
                    "SELECT pg_database_size(current_database())"))).scalar_one()
            else:
                pages = (await conn.execute(sa.text("PRAGMA page_count"))).scalar_one()
                page = (await conn.execute(sa.text("PRAGMA page_size"))).scalar_one()
                size = pages * page
    finally:
        await engine.dispose()
    return size, counts


def size(url: str) -> tuple[int, dict[str, int]]:
    """(bytes, rows of the request, task and audit event tables)."""
    return asyncio.run(_size(url))
