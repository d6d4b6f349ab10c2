"""The service's figures on an empty database and after a large history, side by side.

For each backend: the figures on a fresh database; then a history built on another (a real
sample through ``dsr serve``, copied at the SQL level to each size: bench/history.py) and the
same figures measured by a fresh ``dsr serve`` at each size. The figures are bench_goals.py's
(one access request, the burst) and two reads an operator's dashboard makes (``/metrics``, the
overdue list). Prints a table with each figure's ratio to empty; asserts nothing about time.
See bench/README.md.

    .venv/bin/python bench/bench_history.py [--backend sqlite|postgresql|both]
        [--sizes 10000,100000] [--sample 1500] [--requests 30] [--burst 200]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``app``, ``bench`` and ``tests`` importable

from bench import history  # noqa: E402
from bench.bench_goals import LIFTED, QUIET, burst, latency, serve  # noqa: E402
from tests.e2e.service import bearer, fresh_database, scratch_dir  # noqa: E402

READS = 30  # times each read is asked; the figure is the median


@dataclass
class Column:
    """One database size's figures."""

    label: str
    one_ms: float
    burst_s: float
    metrics_ms: float
    overdue_ms: float
    overdue: int  # requests the overdue list's first page showed
    requests: int = 0
    tasks: int = 0
    events: int = 0
    size_mb: float = 0.0
    build_s: float = 0.0


def reads(backend: str, database: str | None) -> tuple[float, float, int]:
    """(GET /metrics ms, GET /v1/requests?overdue=true ms, overdue requests listed), medians
    of :data:`READS` asks each after one to warm up, by an agent, one at a time."""
    with serve(backend, {}, database) as service, service.client() as client:
        agent = bearer("agent")

        def timed(path: str) -> tuple[float, int]:
            client.get(path, headers=agent).raise_for_status()  # warm-up
            times = []
            for _ in range(READS):
                started = time.perf_counter()
                answer = client.get(path, headers=agent)
                times.append((time.perf_counter() - started) * 1000)
                answer.raise_for_status()
            items = answer.json().get("items", []) if "json" in answer.headers.get(
                "content-type", "") else []
            return statistics.median(times), len(items)

        metrics_ms, _ = timed("/metrics")
        overdue_ms, listed = timed("/v1/requests?overdue=true")
    return metrics_ms, overdue_ms, listed


def measure(backend: str, label: str, database: str | None, args: argparse.Namespace) -> Column:
    metrics_ms, overdue_ms, listed = reads(backend, database)
    seconds, _polled = latency(backend, delay_ms=0, requests=args.requests, poll_s=0.05,
                               database=database)
    run = burst(backend, total=args.burst, clients=16, database=database)
    return Column(label, statistics.median(seconds) * 1000, run.rate, metrics_ms, overdue_ms,
                  listed)


@contextmanager
def history_database(backend: str) -> Iterator[str]:
    """A new database for the history (SQLite: a file in a scratch directory), removed after."""
    workdir = scratch_dir("dsr-history-")
    try:
        with fresh_database(backend, workdir) as url:
            yield url
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def build_sample(backend: str, url: str, count: int) -> tuple[dict[str, str], float]:
    """The sample through the service on ``url``: (request id -> status, seconds)."""
    started = time.perf_counter()
    with serve(backend, LIFTED, url) as service, service.client() as client:
        ids, refused = history.post_sample(service.url, count)
        statuses = history.wait_sample(client, ids)
    took = time.perf_counter() - started
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    print(f"  sample: {len(ids)} requests through the service in {took:.0f} s "
          f"({refused} refused): {counts}")
    return statuses, took


def backend_table(backend: str, args: argparse.Namespace) -> list[Column]:
    print(f"\n{backend}: empty database", flush=True)
    columns = [measure(backend, "empty", None, args)]
    with history_database(backend) as url:
        sample, sample_s = build_sample(backend, url, args.sample)
        build_s = sample_s
        for target in args.sizes:
            started = time.perf_counter()
            copied = history.grow(url, sample, target)
            build_s += time.perf_counter() - started
            size, counts = history.size(url)
            print(f"  {counts['dsr_request']:,} requests after {build_s:.0f} s of building "
                  f"(copied: {', '.join(f'{k} {v:,}' for k, v in copied.items())}); "
                  f"{size / 2**20:,.0f} MiB; measuring", flush=True)
            column = measure(backend, label(counts["dsr_request"]), url, args)
            column.requests, column.tasks = counts["dsr_request"], counts["task"]
            column.events, column.size_mb, column.build_s = (counts["audit_event"],
                                                            size / 2**20, build_s)
            columns.append(column)
    return columns


def label(requests: int) -> str:
    return f"{requests / 1000:.0f}k requests" if requests >= 10_000 else f"{requests:,} requests"


def cell(value: float, empty: float, digits: int) -> str:
    return f"{value:.{digits}f} (x{value / empty:.2f})" if empty else f"{value:.{digits}f}"


def print_table(backend: str, columns: list[Column], burst_n: int) -> None:
    empty = columns[0]
    rows = [
        ("one access request, median (ms)", "one_ms", 1),
        (f"burst of {burst_n}, completed/s", "burst_s", 1),
        ("GET /metrics, median (ms)", "metrics_ms", 1),
        ("GET /v1/requests?overdue=true, median (ms)", "overdue_ms", 1),
    ]
    print(f"\n{backend}")
    print("| measure | " + " | ".join(c.label for c in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, attribute, digits in rows:
        base = getattr(empty, attribute)
        values = [f"{base:.{digits}f}"] + [cell(getattr(c, attribute), base, digits)
                                          for c in columns[1:]]
        print(f"| {name} | " + " | ".join(values) + " |")
    print("| overdue requests listed | " + " | ".join(str(c.overdue) for c in columns) + " |")
    history_columns = columns[1:]
    print("| requests / tasks / audit events | - | " + " | ".join(
        f"{c.requests:,} / {c.tasks:,} / {c.events:,}" for c in history_columns) + " |")
    print("| database size (MiB) | - | " + " | ".join(
        f"{c.size_mb:,.0f}" for c in history_columns) + " |")
    print("| built in (s, sample included) | - | " + " | ".join(
        f"{c.build_s:.0f}" for c in history_columns) + " |")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="10000,100000",
                        help="requests in the database at each measure, comma-separated")
    parser.add_argument("--sample", type=int, default=1500,
                        help="requests through the service, copied to make the history")
    parser.add_argument("--requests", type=int, default=30,
                        help="one-at-a-time requests of the first figure")
    parser.add_argument("--burst", type=int, default=200, help="requests of the burst")
    args = parser.parse_args()
    args.sizes = sorted(int(size) for size in args.sizes.split(",") if size)
    if args.sample < 50 or any(size <= args.sample for size in args.sizes):
        parser.error("--sample must be at least 50 and every size larger than it")
    return args


def main() -> None:
    args = parse()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print(f"bench_history: {', '.join(backends)}; sample {args.sample}, sizes "
          f"{', '.join(f'{s:,}' for s in args.sizes)}; {QUIET['DSR_LOG_LEVEL']} logs")
    tables = {backend: backend_table(backend, args) for backend in backends}
    for backend, columns in tables.items():
        print_table(backend, columns, args.burst)


if __name__ == "__main__":
    main()
