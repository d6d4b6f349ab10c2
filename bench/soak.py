"""Endurance: ``dsr serve`` and two ``dsr worker`` under a steady mix of all six rights, with
partner faults and a worker killed with SIGKILL and restarted, for ``--minutes``.

On a fresh PostgreSQL database (made and dropped as the other benchmarks do) the service runs
with the sandbox seeding ``--customers`` synthetic customers (the service writes their links as
it starts), faults on several partners (errors, timeouts, 429s, lost callbacks), the API
process without a worker and two worker processes. Verified (portal) requests of the six kinds
go in at ``--rate`` per second over random synthetic customers; worker 2 is killed every
``--kill-every-s`` and started again, worker 1 never, so its memory is the workers' long-run
figure. The soak is the agent too: it completes installer tasks (that company has no API) and
sends failed tasks round again. At the end it stops posting, waits for the queue to drain and
prints what happened; exit code 1 if a posted request is lost or a task is stuck. See
bench/README.md.

    .venv/bin/python bench/soak.py --minutes 60 [--workers 2] [--rate 1] [--customers 500]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make ``app``, ``bench`` and ``tests`` importable

from app.sandbox import PARTNERS  # noqa: E402
from app.sandbox.synthetic import customer_number  # noqa: E402
from bench.bench_dispatch import bench_service  # noqa: E402
from bench.soak_report import Findings, Sampler, examine, print_report  # noqa: E402
from tests.e2e.installer import complete_installer  # noqa: E402
from tests.e2e.service import IN_FLIGHT_TASK, Api, Service, bearer  # noqa: E402
from tests.e2e.test_rights import RIGHTS  # noqa: E402

# Modest faults on every partner with an API: each kind on at least two of them.
FAULTS = ("stadsnat:error=0.05,stadsnat:lost_callback=0.05,stadsnat:timeout=0.01,"
          "fortnox:error=0.03,fortnox:throttle=0.05,fortnox:timeout=0.01,"
          "snpac:error=0.03,snpac:lost_callback=0.05,snpac:throttle=0.03,"
          "eniro:error=0.05,eniro:lost_callback=0.03,eniro:timeout=0.01")
BODIES = {kind: body for kind, (body, _) in RIGHTS.items()}
AGENT_EVERY_S = 10.0
SAMPLE_EVERY_S = 10.0


@dataclass
class Tally:
    """What the soak did, shared by its threads (each field written by one thread only)."""

    posted: dict[str, str] = field(default_factory=dict)  # request id -> kind
    refused: dict[int, int] = field(default_factory=dict)  # HTTP status (not 202) -> count
    transport_errors: int = 0
    kills: int = 0
    installer_completed: int = 0
    failed_retried: int = 0
    started: float = field(default_factory=time.time)


class Workers:
    """``dsr worker`` processes with the service's own settings; their output goes to the
    service's scratch directory, kept when the run fails."""

    def __init__(self, service: Service, count: int) -> None:
        self.service = service
        self.processes: list[subprocess.Popen[bytes]] = []
        for slot in range(count):
            self.processes.append(self._start(slot))

    def _start(self, slot: int) -> subprocess.Popen[bytes]:
        return self.service.worker(f"worker-{slot + 1}")  # exactly what dsr serve was given

    def kill_and_restart(self, slot: int) -> None:
        """SIGKILL, like a crash or an OOM kill: no shutdown code runs; then a new process."""
        process = self.processes[slot]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.processes[slot] = self._start(slot)

    def pids(self) -> dict[str, int]:
        return {f"worker-{slot + 1}": p.pid for slot, p in enumerate(self.processes)}

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def post_steadily(url: str, rate: float, customers: int, until: float, tally: Tally) -> None:
    """Requests of the six kinds, one every ``1/rate`` s on schedule (a slow answer is caught
    up, not skipped), each with an Idempotency-Key so a transport error is retried safely."""
    rng = random.Random(20261206)
    kinds = list(BODIES)
    interval, next_at = 1.0 / rate, time.monotonic()
    with httpx.Client(base_url=url, timeout=30.0, trust_env=False) as client:
        while time.monotonic() < until:
            next_at += interval
            kind, number = rng.choice(kinds), customer_number(rng.randint(1, customers))
            headers = {**bearer("portal", number), "Idempotency-Key": str(uuid.uuid4())}
            for _attempt in range(5):
                try:
                    response = client.post("/v1/requests", json=BODIES[kind], headers=headers)
                except httpx.TransportError:
                    tally.transport_errors += 1
                    time.sleep(1.0)
                    continue
                if response.status_code == 202:
                    tally.posted[response.json()["id"]] = kind
                else:
                    tally.refused[response.status_code] = (
                        tally.refused.get(response.status_code, 0) + 1)
                break
            time.sleep(max(0.0, next_at - time.monotonic()))


def act_as_agent(api: Api, tally: Tally) -> tuple[int, int]:
    """One pass over the requests waiting for a person: installer tasks completed (the
    company confirmed), failed tasks sent round again. Returns (steps taken, requests waiting
    with a task still in flight)."""
    steps, busy, cursor = 0, 0, None
    while True:
        page = api.http.get("/v1/requests", headers=api.agent, params={
            "status": "action_required", "limit": 200, **({"cursor": cursor} if cursor else {})})
        page.raise_for_status()
        body = page.json()
        for request in body["items"]:
            completed = complete_installer(api, request)
            tally.installer_completed += completed
            steps += completed
            for task in request["tasks"]:
                if task["status"] == "failed":
                    retried = api.http.post(
                        f"/v1/requests/{request['id']}/tasks/{task['id']}/retry",
                        headers=api.agent)
                    tally.failed_retried += retried.status_code == 200
                    steps += 1
            busy += any(task["status"] in IN_FLIGHT_TASK for task in request["tasks"])
        cursor = body["next_cursor"]
        if not cursor:
            return steps, busy


def in_flight(client: httpx.Client) -> int:
    """Requests the service is still working on, from /metrics."""
    total = 0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("dsr_requests{") and ('status="in_progress"' in line
                                                 or 'status="awaiting_verification"' in line):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def soak(args: argparse.Namespace) -> Findings:
    env = {"DSR_LOG_LEVEL": "WARNING", "DSR_RUN_WORKER": "false", "DSR_SANDBOX": "true",
           "DSR_SANDBOX_FAULTS": args.faults, "DSR_SANDBOX_CUSTOMERS": str(args.customers),
           "DSR_CALLBACK_TIMEOUT_S": str(args.callback_timeout_s)}
    tally = Tally()
    with bench_service("postgresql", env) as service, service.client() as client:
        assert service.process is not None
        serve_pid = service.process.pid
        workers = Workers(service, args.workers)
        sampler = Sampler(lambda: {"serve": serve_pid, **workers.pids()}, SAMPLE_EVERY_S)
        try:
            run(args, service, workers, tally, sampler)
            drained_s = drain(Api(client), client, tally, args.drain_timeout_s)
            sampler.stop()
            findings = asyncio.run(examine(service.database_url, tally.posted, tally.started,
                                           margin_s=args.stuck_margin_s))
            findings.partners = {system: client.get(f"/sandbox/{system}/_stats").json()
                                 for system in PARTNERS if system != "crm"}
        finally:
            sampler.stop()
            workers.stop()
    findings.tally, findings.samples, findings.drained_s = tally, sampler.samples, drained_s
    return findings


def run(args: argparse.Namespace, service: Service, workers: Workers, tally: Tally,
        sampler: Sampler) -> None:
    """Post for ``--minutes`` while killing a worker on schedule and acting as the agent."""
    with service.client() as client:
        api = Api(client)
        tally.started = time.time()
        until = time.monotonic() + args.minutes * 60
        poster = threading.Thread(target=post_steadily, daemon=True,
                                  args=(service.url, args.rate, args.customers, until, tally))
        sampler.start()
        poster.start()
        print(f"soak: {args.minutes} min, {args.rate}/s over {args.customers} customers, "
              f"serve + {args.workers} workers, worker-{args.workers} killed every "
              f"{args.kill_every_s:.0f} s", flush=True)
        next_kill = time.monotonic() + args.kill_every_s
        next_agent = time.monotonic() + AGENT_EVERY_S
        while poster.is_alive():
            now = time.monotonic()
            if now >= next_kill:
                workers.kill_and_restart(args.workers - 1)
                tally.kills += 1
                next_kill += args.kill_every_s
            if now >= next_agent:
                act_as_agent(api, tally)
                next_agent = now + AGENT_EVERY_S
                print(f"  {(time.time() - tally.started) / 60:5.1f} min: "
                      f"{len(tally.posted)} posted, {in_flight(client)} in flight, "
                      f"{tally.kills} kills", flush=True)
            time.sleep(0.5)


def drain(api: Api, client: httpx.Client, tally: Tally, timeout_s: float) -> float | None:
    """Seconds until nothing is in flight and the agent found nothing left to do (what still
    waits needs a decision the soak does not take), or None at the timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        steps, busy = act_as_agent(api, tally)
        if steps == 0 and busy == 0 and in_flight(client) == 0:
            return time.monotonic() - started
        time.sleep(AGENT_EVERY_S / 2)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2, help="dsr worker processes (>= 1)")
    parser.add_argument("--rate", type=float, default=1.0, help="requests posted per second")
    parser.add_argument("--customers", type=int, default=500, help="synthetic customers")
    parser.add_argument("--kill-every-s", type=float, default=120.0,
                        help="SIGKILL the last worker this often, then restart it")
    parser.add_argument("--faults", default=FAULTS, help="DSR_SANDBOX_FAULTS")
    parser.add_argument("--callback-timeout-s", type=float, default=60.0,
                        help="DSR_CALLBACK_TIMEOUT_S: a lost callback is polled after this")
    parser.add_argument("--drain-timeout-s", type=float, default=600.0)
    parser.add_argument("--stuck-margin-s", type=float, default=60.0,
                        help="a task this far past its lease or due time is stuck")
    args = parser.parse_args()
    if args.workers < 1 or args.rate <= 0 or args.customers < 1:
        parser.error("--workers and --customers must be >= 1, --rate > 0")
    findings = soak(args)
    print_report(findings)
    sys.exit(1 if findings.lost or findings.stuck else 0)


if __name__ == "__main__":
    main()
