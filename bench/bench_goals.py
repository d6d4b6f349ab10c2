"""The seven performance figures of the service, each beside its goal, measured in one run.

Every figure is taken from real processes over HTTP on 127.0.0.1 (``dsr serve``, and for the
shared rate limit two ``dsr worker`` processes too), on fresh databases, with the service's
default settings unless a figure says otherwise. Prints figures; asserts nothing about time.
See bench/README.md.

    .venv/bin/python bench/bench_goals.py [--backend sqlite|postgresql] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``app``, ``bench`` and ``tests`` importable

from app.settings.partners import FLAT_NAMES  # noqa: E402
from bench.bench_dispatch import bench_service, one_request, recorded_latency  # noqa: E402
from tests.e2e.service import (  # noqa: E402
    E2E_JWT_SECRET,
    Api,
    Service,
    ServiceError,
    bearer,
    free_port,
)

LIFTED = {"DSR_SANDBOX_FORTNOX_RATE": "0", "DSR_FORTNOX_RATE": ""}  # partner rate limits off
QUIET = {"DSR_LOG_LEVEL": "WARNING"}
# One access request makes two Fortnox calls; apart by this much, one after another never
# meet the Fortnox budget (25 calls in 5 s), so the latency is the request's own.
PACE_S = 0.45
# Figure 3: how often the service is asked whether the burst is done.
BURST_POLL_S = 0.5


class Figure:
    def __init__(self, name: str, value: float, goal: str, met: bool, how: str) -> None:
        self.name, self.value, self.goal, self.met, self.how = name, value, goal, met, how


@contextmanager
def serve(backend: str, env: dict[str, str], database: str | None = None) -> Iterator[Service]:
    with bench_service(backend, {**QUIET, **env}, database=database) as service:
        yield service


# -- 1 and 2: one request at a time ----------------------------------------------------------


def latency(backend: str, *, delay_ms: int, requests: int, poll_s: float,
            database: str | None = None) -> tuple[list[float], list[float]]:
    """(202 -> recorded completed, 202 -> completed seen by polling), seconds, per request;
    on a fresh database, or on ``database`` (a URL)."""
    with serve(backend, {"DSR_SANDBOX_DELAY_MS": str(delay_ms)}, database) as service, \
            service.client() as client:
        api, portal = Api(client), bearer("portal", "C-1001")
        one_request(api, portal, poll_s)  # warm-up: connections, the Fortnox token
        recorded, polled = [], []
        for _ in range(requests):
            time.sleep(PACE_S)
            seen, request = one_request(api, portal, poll_s)
            polled.append(seen)
            recorded.append(recorded_latency(request))
    return recorded, polled


# -- 3 and 4: many clients at once -----------------------------------------------------------


async def _clients(url: str, count: int, work: Callable[[httpx.AsyncClient], Any]) -> list[Any]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0,
                                 trust_env=False) as client:
        return list(await asyncio.gather(*(work(client) for _ in range(count))))


def completed_count(client: httpx.Client) -> int:
    """Completed access requests (what the bursts post), from /metrics (one query, whatever
    the number of requests; of every type once there is a history of them all)."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("dsr_requests{") and 'status="completed"' in line \
                and 'type="access"' in line:
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Burst:
    rate: float  # completed per second
    errors: int  # POSTs not answered 202
    cpu_ms: float  # dsr serve's CPU per request from the first POST to the last completed
    worker_cpu_ms: float  # the dsr workers' (if any), from the first POST to the last answer
    answers_during: int  # answers built by the time the last request completed
    answers_s: float  # from the first POST until every answer was built


def burst(backend: str, *, total: int, clients: int, database: str | None = None,
          workers: int = 0, partners_apart: bool = False) -> Burst:
    """``total`` access requests from ``clients`` at once.

    The rate runs from the first POST to the last ``finished_at`` the service recorded, so
    the completion check (``/metrics``, every ``BURST_POLL_S``) neither delays the figure
    nor takes much of the core it measures: polled every 50 ms it took 6% of it. The
    answers are built after their requests complete (while tasks are in flight, each once it
    has waited ``ANSWER_DEFER_S``; while the worker has a backlog, once it has cleared, at
    most ``ANSWER_BACKLOG_S`` later), so how many were built within the burst, when the
    last one was, and the rate of requests with their answers are printed beside it. On a
    fresh database, or on ``database`` (a URL). With ``workers``, ``dsr serve`` runs no worker
    (``DSR_RUN_WORKER=false``) and that many ``dsr worker`` processes do the work. With
    ``partners_apart`` the sandbox partners answer from a ``dsr sandbox`` of their own, as
    real partners would from their own machines, instead of from inside ``dsr serve``."""
    portal = bearer("portal", "C-1001")
    env = {**LIFTED, **({"DSR_RUN_WORKER": "false"} if workers else {})}
    with partner_host(partners_apart) as urls, serve(backend, {**env, **urls}, database) \
            as service, service.client() as client, running(service, workers) as pids:
        one_request(Api(client), portal, 0.01)  # warm-up
        before = completed_count(client)
        assert service.process is not None
        cpu_before = cpu_seconds(service.process.pid)
        workers_before = sum(cpu_seconds(pid) for pid in pids)
        queue = list(range(total))
        created: set[str] = set()
        errors = 0

        async def submit(http: httpx.AsyncClient) -> None:
            nonlocal errors
            while queue:
                queue.pop()
                response = await http.post("/v1/requests", json={"type": "access"},
                                           headers=portal)
                if response.status_code == 202:
                    created.add(response.json()["id"])
                else:
                    errors += 1

        started = datetime.now(UTC)
        asyncio.run(_clients(service.url, clients, submit))
        deadline = time.perf_counter() + 600
        while completed_count(client) < before + len(created):
            if time.perf_counter() > deadline:
                raise ServiceError("the burst did not complete within 10 minutes")
            time.sleep(BURST_POLL_S)
        cpu_ms = 1000 * (cpu_seconds(service.process.pid) - cpu_before) / total
        items = list(completed(client, created))
        while any(item["response"] is None for item in items):
            if time.perf_counter() > deadline:
                raise ServiceError("the burst's answers were not built within 10 minutes")
            time.sleep(BURST_POLL_S)
            items = list(completed(client, created))
        worker_cpu_ms = 1000 * (sum(cpu_seconds(pid) for pid in pids) - workers_before) / total
    last = max(_at(item["finished_at"]) for item in items)
    built = [_at(item["response"]["created_at"]) for item in items]
    return Burst(rate=len(created) / (last - started).total_seconds(), errors=errors,
                 cpu_ms=cpu_ms, worker_cpu_ms=worker_cpu_ms,
                 answers_during=sum(at <= last for at in built),
                 answers_s=(max(built) - started).total_seconds())


@contextmanager
def partner_host(wanted: bool) -> Iterator[dict[str, str]]:
    """A ``dsr sandbox`` process, and the settings that send every partner's calls to it
    (nothing without ``wanted``)."""
    if not wanted:
        yield {}
        return
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSR_")}
    env.update({**QUIET, **LIFTED})
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "app.cli", "sandbox", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/sandbox"
    try:
        deadline = time.perf_counter() + 30
        while not _answers(f"{base}/fortnox/_stats"):
            if process.poll() is not None or time.perf_counter() > deadline:
                raise ServiceError("dsr sandbox did not start")
            time.sleep(0.1)
        yield {f"DSR_{flat.upper()}": f"{base}/{flat.removesuffix('_url')}"
               for flat in FLAT_NAMES if flat.endswith("_url")}
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def running(service: Service, workers: int) -> Iterator[list[int]]:
    """``workers`` dsr worker processes beside the service; yields their pids."""
    processes = [service.worker(f"worker-{n + 1}") for n in range(workers)]
    try:
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def completed(client: httpx.Client, ids: set[str]) -> Iterator[dict[str, Any]]:
    """These requests as the agent's list of completed requests shows them. The list is
    newest first, so it is read only as far back as the oldest of them (not through a
    history of 100,000 older ones)."""
    cursor: str | None = None
    wanted = set(ids)
    while wanted:
        page = client.get("/v1/requests", headers=bearer("agent"), params={
            "status": "completed", "limit": 200, **({"cursor": cursor} if cursor else {})})
        page.raise_for_status()
        body = page.json()
        for item in body["items"]:
            if item["id"] in wanted:
                wanted.discard(item["id"])
                yield item
        cursor = body["next_cursor"]
        if not cursor:
            return


def throughput(service: Service, clients: int, seconds: float,
               call: Callable[[httpx.AsyncClient], Any]) -> float:
    """Calls per second that answered 2xx, ``clients`` at once for ``seconds``."""
    done = 0

    async def work(http: httpx.AsyncClient) -> None:
        nonlocal done
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            response = await call(http)
            done += response.is_success

    asyncio.run(_clients(service.url, clients, work))
    return done / seconds


def intake(backend: str, *, clients: int, seconds: float) -> tuple[float, float]:
    """(POST /v1/requests per second, GET /healthz per second), same server."""
    portal = bearer("portal", "C-1001")
    with serve(backend, LIFTED) as service:
        with service.client() as client:
            one_request(Api(client), portal, 0.01)
        health = throughput(service, clients, seconds, lambda http: http.get("/healthz"))
        posts = throughput(service, clients, seconds, lambda http: http.post(
            "/v1/requests", json={"type": "access"}, headers=portal))
    return posts, health


# -- 5: the Fortnox budget shared by three processes --------------------------------------------


# A customer linked to Fortnox alone (its Fortnox number is a sandbox customer's): each of its
# access requests is a Fortnox task (two calls) and a register lookup, so the backlog is bound
# by Fortnox's budget, not by the other partners' work.
FORTNOX_ONLY = "C-9001"


def shared_limit(*, tasks: int, measure_s: float) -> tuple[float, int]:
    """``dsr serve`` + 2 ``dsr worker`` on PostgreSQL with a backlog of Fortnox-bound tasks:
    (Fortnox calls per second ÷ its ceiling, 429s answered since start: each would have
    slowed a task)."""
    portal = bearer("portal", FORTNOX_ONLY)
    with serve("postgresql", {}) as service, service.client() as client:
        linked = client.put(f"/v1/links/{FORTNOX_ONLY}/fortnox", json={"external_id": "1001"},
                            headers=bearer("agent"))
        if not linked.is_success:
            raise ServiceError(f"could not link {FORTNOX_ONLY}: {linked.text}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DSR_")}
        env.update({**QUIET, "DSR_DATABASE_URL": service.database_url,
                    "DSR_PUBLIC_URL": service.url, "DSR_JWT_SECRET": E2E_JWT_SECRET,
                    "DSR_RETENTION_SWEEP": "false"})
        workers = [subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], cwd=ROOT,
                                    env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL) for _ in range(2)]
        try:
            queue = list(range(tasks))

            async def submit(http: httpx.AsyncClient) -> None:
                while queue:
                    queue.pop()
                    await http.post("/v1/requests", json={"type": "access"}, headers=portal)

            asyncio.run(_clients(service.url, 16, submit))
            stats = client.get("/sandbox/fortnox/_stats").json()
            started = time.perf_counter()
            time.sleep(measure_s)
            end = client.get("/sandbox/fortnox/_stats").json()
            rate = (end["calls"] - stats["calls"]) / (time.perf_counter() - started)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
    return rate / (25 / 5), end["throttled"]


# -- 6: the million-row access package --------------------------------------------------------


def package(rows: int) -> tuple[float, float, float, float]:
    """(service build s, naive loop s, ratio, peak RSS MB) for C-1004's access package."""
    script = ROOT / "bench" / "bench_package_memory.py"
    out = subprocess.run([sys.executable, str(script), "--rows", str(rows)],  # noqa: S603
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    build = next(line for line in out.splitlines() if line.startswith("build:"))
    build_s = float(build.split()[1])
    rss = float(build.rsplit("peak RSS", 1)[1].split()[0])
    naive_s = naive_package(rows)
    return build_s, naive_s, build_s / naive_s, rss


def naive_package(rows: int) -> float:
    """The same rows, generated the same way, written as JSON into a zip in a plain loop."""
    import json
    import tempfile
    from datetime import UTC, datetime

    from app.sandbox.seed import GeneratedCallHistory

    history = GeneratedCallHistory("C-1004", rows, datetime.now(UTC), days=365)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, \
            zipfile.ZipFile(Path(tmp) / "naive.zip", "w", compression=zipfile.ZIP_DEFLATED,
                            compresslevel=6) as archive, \
            archive.open("data.json", "w", force_zip64=True) as handle:
        for record in history:
            handle.write(json.dumps(record.as_dict(), ensure_ascii=False).encode() + b",\n")
    return time.perf_counter() - started


# -- the report ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                        help="database of the single-process figures (1-4)")
    parser.add_argument("--only", nargs="*", choices=("latency", "slow", "burst", "intake",
                                                     "processes", "package", "workers"),
                        help="measure only these figures")
    parser.add_argument("--requests", type=int, default=30, help="figure 1's requests")
    parser.add_argument("--slow-requests", type=int, default=5, help="figure 2's requests")
    parser.add_argument("--burst", type=int, default=200, help="figure 3's requests")
    parser.add_argument("--clients", type=int, default=16, help="figures 3 and 4's clients")
    parser.add_argument("--seconds", type=float, default=5.0, help="figure 4's time per call")
    parser.add_argument("--tasks", type=int, default=1000, help="figure 5's Fortnox backlog")
    parser.add_argument("--measure-s", type=float, default=60.0,
                        help="figure 5's measuring time")
    parser.add_argument("--rows", type=int, default=1_000_000, help="figure 6's rows")
    parser.add_argument("--poll-ms", type=float, default=50.0,
                        help="figures 1-2: how often a request is polled (the figure is the "
                        "time the service recorded it completed, not when a poll saw it)")
    args = parser.parse_args()
    wanted = set(args.only or ("latency", "slow", "burst", "intake", "processes", "package",
                               "workers"))
    poll_s = args.poll_ms / 1000
    figures: list[Figure] = []
    print(f"bench_goals: backend {args.backend} for figures 1-4; PostgreSQL for figures 5 and 7")

    if "latency" in wanted:
        seconds, polled = latency(args.backend, delay_ms=0, requests=args.requests,
                                  poll_s=poll_s)
        ms = statistics.median(seconds) * 1000
        figures.append(Figure("1 one access request, 202 -> completed, median (ms)", ms,
                              "<= 40", ms <= 40,
                              f"{args.requests} requests one at a time, partners instant, "
                              f"p90 {statistics.quantiles(seconds, n=10)[8] * 1000:.0f} ms; "
                              f"seen by a poll every {args.poll_ms:.0f} ms: median "
                              f"{statistics.median(polled) * 1000:.0f} ms"))
    if "slow" in wanted:
        seconds, _polled = latency(args.backend, delay_ms=1000,
                                   requests=args.slow_requests, poll_s=poll_s)
        ratio = statistics.median(seconds) / 1.0
        figures.append(Figure("2 same, every partner 1 s: completion / 1 s", ratio, "<= 1.10",
                              ratio <= 1.10, f"{args.slow_requests} requests, median"))
    if "burst" in wanted:
        run = burst(args.backend, total=args.burst, clients=args.clients)
        figures.append(Figure("3 burst, completed per second", run.rate, ">= 34, 0 errors",
                              run.rate >= 34 and run.errors == 0,
                              f"{args.burst} requests, {args.clients} clients, limits lifted, "
                              f"{run.errors} errors; dsr serve used {run.cpu_ms:.1f} ms of CPU "
                              f"per request; {run.answers_during} answers built within the "
                              f"burst, the last {run.answers_s:.1f} s after the first POST "
                              f"({args.burst / run.answers_s:.1f} requests/s with their "
                              "answers)"))
    if "workers" in wanted:
        run = burst("postgresql", total=args.burst, clients=args.clients, workers=1)
        rate = args.burst / run.answers_s
        figures.append(Figure("7 burst with its answers, dsr serve + 1 dsr worker, PostgreSQL "
                              "(requests/s)", rate, ">= 34, 0 errors",
                              rate >= 34 and run.errors == 0,
                              f"{args.burst} requests, {args.clients} clients, limits lifted, "
                              f"{run.errors} errors; every answer built "
                              f"{run.answers_s:.1f} s after the first POST; the requests "
                              f"alone completed at {run.rate:.1f}/s; CPU per request: dsr "
                              f"serve {run.cpu_ms:.1f} ms (until completed), the worker "
                              f"{run.worker_cpu_ms:.1f} ms (until answered)"))
    if "intake" in wanted:
        posts, health = intake(args.backend, clients=args.clients, seconds=args.seconds)
        figures.append(Figure("4 POST /v1/requests / GET /healthz throughput", posts / health,
                              ">= 0.30", posts / health >= 0.30,
                              f"{posts:.0f}/s vs {health:.0f}/s, {args.clients} clients"))
    if "processes" in wanted:
        ratio, throttled = shared_limit(tasks=args.tasks, measure_s=args.measure_s)
        figures.append(Figure("5 Fortnox calls per second / its ceiling (25 per 5 s)", ratio,
                              ">= 0.95, 0 429s", ratio >= 0.95 and throttled == 0,
                              f"serve + 2 workers, {args.tasks} tasks, {throttled} 429s "
                              f"answered (tasks slowed by a 429)"))
    if "package" in wanted:
        build_s, naive_s, ratio, rss = package(args.rows)
        figures.append(Figure("6 access package build / naive loop", ratio,
                              "<= 2.0, RSS < 200 MB", ratio <= 2.0 and rss < 200,
                              f"{args.rows:,} rows: {build_s:.1f} s / {naive_s:.1f} s, "
                              f"peak RSS {rss:.0f} MB"))

    print()
    for figure in figures:
        mark = "met" if figure.met else "NOT met"
        print(f"{figure.name:<58} {figure.value:8.2f}   goal {figure.goal:<20} {mark}")
        print(f"    {figure.how}")


if __name__ == "__main__":
    main()
