"""Whether one customer's deep queue slows the others: the access-request latency of C-1002
with and without thousands of C-1001's rectifications queued behind each other.

Writes for one customer reach each system one after another (per-customer ordering), so a
portal bug or a hostile client that floods one customer builds a queue that drains one task
at a time. Everyone else's requests should not notice. Through a real ``dsr serve`` (API,
in-process worker, partner sandbox, partners instant) on a fresh database:

  1. baseline: ``--requests`` access requests for the other customer, one at a time (median);
  2. ``--depth`` rectifications for C-1001 posted by ``--clients`` concurrent clients;
  3. the same access requests again beside that queue, with its depth (C-1001's requests
     not yet completed) read before and after.

Two shapes of queue (``--shape``):

- ``draining``: the flood drains as fast as ordering lets it (one write at a time per
  system), each request answered as it completes; C-1002 shares the cores with that work.
- ``stuck``: the stadsnät never calls back (``stadsnat:lost_callback=1``; the service would
  poll it after ``DSR_CALLBACK_TIMEOUT_S``, 900 s), and the flood changes an address, which
  the stadsnät holds: the first rectification waits there and every later one of C-1001
  waits behind it. Once the flood's other systems are done (read off ``/metrics``), C-1003
  (no stadsnät link) is measured: what is left is the cost of thousands of held tasks.

Prints the two medians and their ratio; asserts nothing about time.

    .venv/bin/python bench/bench_deep_queue.py [--backend postgresql|sqlite] [--depth 3000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``app``, ``bench`` and ``tests`` importable

from bench.bench_dispatch import bench_service, one_request, recorded_latency  # noqa: E402
from tests.e2e.service import Api, Service, bearer  # noqa: E402

FLOODED = "C-1001"
SHAPES: dict[str, dict[str, Any]] = {
    "draining": {"other": "C-1002", "changes": {"email": "flood@example.test"}, "env": {}},
    "stuck": {"other": "C-1003", "changes": {"address": "Floodgatan 1"},
              "env": {"DSR_SANDBOX_FAULTS": "stadsnat:lost_callback=1"}},
}
SETTLE_TIMEOUT_S = 600.0
PACE_S = 0.45  # as bench_goals: apart enough that Fortnox's own budget never paces them


def latencies(service: Service, customer: str, count: int, poll_s: float) -> list[float]:
    with service.client() as client:
        api, portal = Api(client), bearer("portal", customer)
        seconds = []
        for _ in range(count):
            _, request = one_request(api, portal, poll_s)
            seconds.append(recorded_latency(request))
            time.sleep(PACE_S)
        return seconds


def flood(service: Service, depth: int, clients: int, changes: dict[str, str]) -> float:
    """Post ``depth`` rectifications for the flooded customer; seconds it took."""
    agent = bearer("agent")
    body = {"type": "rectification", "identity_verification": "bankid", "channel": "phone",
            "customer_number": FLOODED, "details": {"changes": changes}}
    started = time.perf_counter()

    def post(_: int) -> None:
        with httpx.Client(base_url=service.url, timeout=60) as client:
            for _ in range(depth // clients):
                response = client.post("/v1/requests", json=body, headers=agent)
                response.raise_for_status()

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, range(clients)))
    return time.perf_counter() - started


def queued(service: Service) -> int:
    """The flooded customer's requests not yet completed (the agent's list, counted)."""
    with httpx.Client(base_url=service.url, timeout=60) as client:
        total, cursor = 0, None
        while True:
            params: dict[str, str | int] = {
                "customer_number": FLOODED, "status": "in_progress", "limit": 100,
                **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/requests", params=params, headers=bearer("agent")).json()
            total += len(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return total


def settle(service: Service) -> dict[str, float]:
    """Wait until no task is queued or running outside the stadsnät; its tasks by status."""
    deadline = time.perf_counter() + SETTLE_TIMEOUT_S
    with httpx.Client(base_url=service.url, timeout=60) as client:
        while True:
            counts: dict[tuple[str, str], float] = {}
            for line in client.get("/metrics").text.splitlines():
                if line.startswith("dsr_tasks{"):
                    labels = dict(part.split("=") for part in line[10:line.index("}")]
                                  .replace('"', "").split(","))
                    counts[(labels["system"], labels["status"])] = float(line.split()[-1])
            busy = sum(n for (system, status), n in counts.items() if system != "stadsnat"
                       and status in ("pending", "running"))
            if not busy or time.perf_counter() > deadline:
                return {status: n for (system, status), n in counts.items()
                        if system == "stadsnat" and n}
            time.sleep(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--depth", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--poll-ms", type=float, default=50.0)
    parser.add_argument("--shape", choices=(*SHAPES, "both"), default="both")
    args = parser.parse_args()
    for shape in SHAPES if args.shape == "both" else (args.shape,):
        measure(args, shape)


def measure(args: argparse.Namespace, shape: str) -> None:
    poll_s, other, changes = args.poll_ms / 1000, SHAPES[shape]["other"], SHAPES[shape]["changes"]
    env = {"DSR_LOG_LEVEL": "WARNING", "DSR_SANDBOX_FORTNOX_RATE": "0", "DSR_FORTNOX_RATE": "",
           **SHAPES[shape]["env"]}
    held: dict[str, float] = {}
    with bench_service(args.backend, env) as service:
        latencies(service, other, 1, poll_s)  # warm-up
        baseline = latencies(service, other, args.requests, poll_s)
        posted_s = flood(service, args.depth, args.clients, changes)
        if shape == "stuck":
            held = settle(service)
        before = queued(service)
        flooded = latencies(service, other, args.requests, poll_s)
        after = queued(service)
    base, deep = statistics.median(baseline) * 1000, statistics.median(flooded) * 1000
    print(f"\n{args.backend}, {shape}: {other}'s access requests, {args.requests} one at a time")
    print(f"  empty queue                      median {base:8.1f} ms")
    print(f"  {FLOODED} {args.depth} rectifications posted in {posted_s:.1f} s; "
          f"{before} still open when measuring began, {after} when it ended")
    if held:
        print("  their stadsnät tasks: " + ", ".join(f"{n:.0f} {s}" for s, n in held.items()))
    print(f"  beside that queue                median {deep:8.1f} ms   "
          f"(x{deep / base:.2f} of the empty queue)")


if __name__ == "__main__":
    main()
