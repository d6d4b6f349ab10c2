"""Where a burst's time goes inside ``dsr serve``: a sampling profile, grouped by activity.

Starts ``dsr serve`` as the benchmarks do (fresh SQLite database by default, partner rate
limits lifted), warms it up with one request, attaches py-spy to it, posts ``--burst`` access
requests for C-1001 from 16 clients and waits until ``/metrics`` counts them all completed.
It then prints the share of samples per activity (the claim query, recording outcomes, the
partner webhooks, the sandbox partners, intake, answer building, ...) and the hottest frames
of the service's own code. Prints figures; asserts nothing.

    .venv/bin/python bench/profile_burst.py [--burst 200] [--backend sqlite|postgresql]

py-spy needs permission to read another process's memory (ptrace): run as root or with
``kernel.yama.ptrace_scope=0``. Samples taken inside SQLAlchemy's greenlets show without
their async caller, so they are counted under "database (ORM, in greenlets)".
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_dispatch import one_request  # noqa: E402
from bench.bench_goals import (  # noqa: E402
    BURST_POLL_S,
    LIFTED,
    _clients,
    completed_count,
    serve,
)
from tests.e2e.service import Api, bearer  # noqa: E402

# First match wins: the activity a sample belongs to, by a frame anywhere in its stack.
ACTIVITIES = [
    ("claiming tasks", "PartnerTasks.claim"),
    ("recording outcomes (dispatcher)", "PartnerTasks.on_result"),
    ("recording outcomes (batches)", "Recorder._transaction"),
    ("building answers", "build_pending"),
    ("partner webhooks", "routers/webhooks.py"),
    ("sandbox partners", "app/sandbox"),
    ("intake (POST /v1/requests)", "routers/requests.py"),
    ("/metrics", "app/metrics.py"),
    ("partner calls (client side)", "PartnerTasks._run"),
    ("other API routing", "fastapi/routing.py"),
    ("HTTP server", "uvicorn/protocols"),
    ("driver threads", "Thread._bootstrap"),
    ("database (ORM, in greenlets)", "sqlalchemy/"),
]


def classify(path: Path) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
    total, activity, own = 0, collections.Counter[str](), collections.Counter[str]()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        name = next((name for name, frame in ACTIVITIES if frame in stack), "other")
        activity[name] += samples
        app_frames = [frame for frame in stack.split(";") if "app/" in frame]
        own[app_frames[-1] if app_frames else stack.split(";")[-1]] += samples
    return total, activity, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--top", type=int, default=15, help="hottest frames to print")
    parser.add_argument("--save", type=Path, help="also keep py-spy's raw samples in this file")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    portal = bearer("portal", "C-1001")
    with tempfile.TemporaryDirectory() as tmp, serve(args.backend, LIFTED) as service, \
            service.client() as client:
        one_request(Api(client), portal, 0.01)
        before = completed_count(client)
        assert service.process is not None
        raw = Path(tmp) / "samples.txt"
        recorder = subprocess.Popen(  # noqa: S603 - our own profiler on our own process
            [spy, "record", "--pid", str(service.process.pid), "--format", "raw",
             "--output", str(raw), "--rate", "200", "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # py-spy attaches
        queue = list(range(args.burst))

        async def submit(http: httpx.AsyncClient) -> None:
            while queue:
                queue.pop()
                await http.post("/v1/requests", json={"type": "access"}, headers=portal)

        started = time.perf_counter()
        asyncio.run(_clients(service.url, 16, submit))
        while completed_count(client) < before + args.burst:
            time.sleep(BURST_POLL_S)  # /metrics polled often would show in the profile
        rate = args.burst / (time.perf_counter() - started)
        recorder.send_signal(2)  # SIGINT: py-spy writes its samples and exits
        recorder.wait(timeout=60)
        total, activity, own = classify(raw)
        if args.save:
            shutil.copyfile(raw, args.save)
    print(f"burst of {args.burst} ({args.backend}): {rate:.1f} completed/s; "
          f"{total} samples of dsr serve")
    for name, samples in activity.most_common():
        print(f"  {100 * samples / total:5.1f}%  {name}")
    print("hottest frames (the service's own code where a stack has it):")
    for frame, samples in own.most_common(args.top):
        print(f"  {100 * samples / total:5.1f}%  {frame[:110]}")


if __name__ == "__main__":
    main()
