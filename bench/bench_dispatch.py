"""How long a request takes from its 202 to ``completed``, through a real ``dsr serve``.

Runs the service as a subprocess (API + in-process worker + partner sandbox, over HTTP on
127.0.0.1) on a fresh database, submits access requests for the demo customer C-1001 one at a
time, and polls each until it is ``completed``. Two scenarios:

  (a) instant partners (DSR_SANDBOX_DELAY_MS=0): the service's own overhead per request;
  (b) slow partners (DSR_SANDBOX_DELAY_MS=1000): every partner call or callback takes 1 s, so
      the completion time shows whether the five systems are asked in parallel (fan-out).

Prints figures; asserts nothing about time. See bench/README.md.

    .venv/bin/python bench/bench_dispatch.py [--requests 30] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``app`` and ``tests`` importable

from tests.e2e.service import (  # noqa: E402
    Api,
    Service,
    ServiceError,
    bearer,
    describe,
    fresh_database,
    scratch_dir,
)

REQUEST_TIMEOUT_S = 120.0


@contextmanager
def bench_service(backend: str, env: dict[str, str], *,
                  database: str | None = None) -> Iterator[Service]:
    """``dsr serve`` on a fresh database (``env``: its ``DSR_*`` settings beside the service's
    defaults) in a scratch directory that is removed afterwards: each run used to leave its
    database and log behind (a session of runs left 194 directories, 826 MB). A run that
    fails keeps its directory, and says where, for the service's log. Given ``database`` (a
    URL), on that one instead, which is left as it is (bench/bench_history.py's history)."""
    workdir = scratch_dir("dsr-bench-")
    finished = False
    try:
        with _database(backend, workdir, database) as url:
            service = Service(url, workdir, base_env={}, env=env)
            service.start()
            asyncio.run(without_manual_steps(url))
            try:
                yield service
            finally:
                service.stop()
        finished = True
    finally:
        if finished:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"the service's database and log are kept in {workdir}", file=sys.stderr)


@contextmanager
def _database(backend: str, workdir: Path, url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
    else:
        with fresh_database(backend, workdir) as fresh:
            yield fresh


async def without_manual_steps(url: str) -> None:
    """The benchmarks time the automated path: C-1001's installation company has no API, so
    its link (made at start from the demo data) is taken out of the benchmark's own database,
    and C-1001's requests reach the five partners with an API, as before that link existed.
    Otherwise each request would wait in ``action_required`` for an agent."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM link WHERE system = 'installer'"))
    finally:
        await engine.dispose()


@dataclass
class Run:
    """One scenario's measurements."""

    delay_ms: int
    seconds: list[float] = field(default_factory=list)  # client: 202 → completed seen
    server_seconds: list[float] = field(default_factory=list)  # created_at → finished_at
    # per system: seconds from the request's created_at to the task's last update (server)
    system_seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cold_s: float | None = None  # the first (warm-up) request, not in ``seconds``
    retried: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # system → tasks


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def one_request(api: Api, portal: dict[str, str], poll_s: float) -> tuple[float, dict[str, Any]]:
    """Submit an access request and poll until completed; (seconds from the 202, request).

    The request carries ``_answered_at``: the wall-clock time the 202 was in hand, so
    :func:`recorded_latency` can tell when the service recorded it completed, without the
    polling interval (the client and the service share this machine's clock).

    The first poll comes one interval after the 202, not at once: a GET costs the service
    4-7 ms of the same core, and asked at once it landed in the middle of the work being
    timed."""
    request_id = api.create({"type": "access"}, portal)["id"]
    started = time.perf_counter()  # the 202 is in hand
    answered_at = datetime.now(UTC)
    deadline = started + REQUEST_TIMEOUT_S
    while True:
        time.sleep(poll_s)  # the polling interval being measured with
        request = api.get(request_id)
        if request["status"] == "completed":
            return time.perf_counter() - started, {**request, "_answered_at": answered_at}
        if request["status"] != "in_progress" or time.perf_counter() > deadline:
            raise ServiceError(f"request did not complete: {describe(request)}")


def recorded_latency(request: dict[str, Any]) -> float:
    """Seconds from the client holding the 202 to the service recording the request
    ``completed`` (its ``finished_at``), read off the machine's one clock."""
    finished = datetime.fromisoformat(request["finished_at"].replace("Z", "+00:00"))
    return (finished - request["_answered_at"]).total_seconds()


def scenario(backend: str, *, delay_ms: int, requests: int, poll_s: float) -> Run:
    run = Run(delay_ms)
    # the service's own defaults (no faults, so retries never come into play)
    with bench_service(backend, {"DSR_SANDBOX_DELAY_MS": str(delay_ms),
                                 "DSR_LOG_LEVEL": "WARNING"}) as service, \
            service.client() as client:
        api, portal = Api(client), bearer("portal", "C-1001")
        # Warm-up: connections, the Fortnox OAuth token, first-use code paths.
        run.cold_s, _ = one_request(api, portal, poll_s)
        for _ in range(requests):
            seconds, request = one_request(api, portal, poll_s)
            run.seconds.append(seconds)
            created = _ts(request["created_at"])
            run.server_seconds.append((_ts(request["finished_at"]) - created).total_seconds())
            for task in request["tasks"]:
                run.system_seconds[task["system"]].append(
                    (_ts(task["updated_at"]) - created).total_seconds())
                if task["attempts"] > 1:
                    run.retried[task["system"]] += 1
    return run


def p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def report(title: str, run: Run) -> None:
    ms = [s * 1000 for s in run.seconds]
    print(f"\n{title}")
    print(f"  requests measured   {len(ms)} (after 1 warm-up of {run.cold_s * 1000:.0f} ms)"
          if run.cold_s is not None else f"  requests measured   {len(ms)}")
    print(f"  202 -> completed    median {statistics.median(ms):7.0f} ms   "
          f"p90 {p90(ms):7.0f} ms   min {min(ms):7.0f} ms   max {max(ms):7.0f} ms")
    server = [s * 1000 for s in run.server_seconds]
    print(f"  server: created_at -> finished_at   median {statistics.median(server):7.0f} ms   "
          f"p90 {p90(server):7.0f} ms   (no polling in it)")
    retried = ", ".join(f"{system} {n}" for system, n in sorted(run.retried.items()))
    print(f"  tasks that needed a retry: {retried or 'none'}"
          + (" (a retry waits for the partner's Retry-After)" if retried else ""))
    print("  per system, median time from the request's creation to its task's outcome:")
    medians = {system: statistics.median(v) for system, v in run.system_seconds.items()}
    for system, value in sorted(medians.items(), key=lambda item: item[1]):
        print(f"    {system:<10} {value * 1000:7.0f} ms")
    if run.delay_ms:
        delay_s = run.delay_ms / 1000
        median_s = statistics.median(run.seconds)
        slowest = max(medians.values())
        serial = sum(medians.values())
        print(f"  completion / partner delay ({delay_s:g} s)        "
              f"median {median_s / delay_s:5.2f}   p90 {p90(run.seconds) / delay_s:5.2f}")
        print(f"  completion / slowest system's own time         {median_s / slowest:5.2f}"
              "   (~1: the request waits only for its slowest system)")
        print(f"  completion / sum of the systems' times         {median_s / serial:5.2f}"
              "   (~1 would mean the systems were asked one after another)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30,
                        help="requests measured with instant partners (default 30)")
    parser.add_argument("--slow-requests", type=int, default=5,
                        help="requests measured with slow partners (default 5)")
    parser.add_argument("--slow-delay-ms", type=int, default=1000,
                        help="partner delay of the slow scenario (default 1000)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                        help="database of the service (postgresql: DSR_TEST_POSTGRES_URL)")
    parser.add_argument("--poll-ms", type=float, default=20.0,
                        help="how often a request is polled (default 20 ms)")
    args = parser.parse_args()
    if args.requests < 1 or args.slow_requests < 0:
        parser.error("--requests must be at least 1 and --slow-requests not negative")
    poll_s = args.poll_ms / 1000

    print(f"bench_dispatch: backend {args.backend}, access requests for C-1001 one at a "
          f"time, polled every {args.poll_ms:g} ms")
    fast = scenario(args.backend, delay_ms=0, requests=args.requests, poll_s=poll_s)
    report("(a) instant partners (DSR_SANDBOX_DELAY_MS=0)", fast)
    if args.slow_requests:
        slow = scenario(args.backend, delay_ms=args.slow_delay_ms,
                        requests=args.slow_requests, poll_s=poll_s)
        report(f"(b) slow partners (DSR_SANDBOX_DELAY_MS={args.slow_delay_ms})", slow)


if __name__ == "__main__":
    main()
