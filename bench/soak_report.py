"""What bench/soak.py finds after a run: memory samples, the database's account of every
posted request and task, and the printed table."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col

from app.db import utcnow
from app.models import DsrRequest, Task

FINAL_REQUEST = ("completed", "rejected", "cancelled")
WARM_UP_S = 60.0  # memory is compared from the first sample after this
FLAT = 1.2  # memory is flat when the last sample is within this factor of the warm one


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process (Linux /proc), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class Sampler(threading.Thread):
    """Samples the RSS of every process (kind -> pid, asked anew each time: a restarted
    worker has a new pid) every ``every_s`` seconds, from start until :meth:`stop`."""

    def __init__(self, pids: Callable[[], dict[str, int]], every_s: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.every_s = pids, every_s
        self.samples: list[tuple[float, str, int, float]] = []  # (t, kind, pid, MB)
        self._stopped = threading.Event()
        self._t0 = time.monotonic()

    def run(self) -> None:
        while True:
            for kind, pid in self.pids().items():
                mb = rss_mb(pid)
                if mb is not None:
                    self.samples.append((time.monotonic() - self._t0, kind, pid, mb))
            if self._stopped.wait(self.every_s):
                return

    def stop(self) -> None:
        self._stopped.set()


@dataclass
class Findings:
    statuses: Counter[str] = field(default_factory=Counter)  # posted requests by status
    open_tasks: Counter[str] = field(default_factory=Counter)  # tasks of open ones, by status
    lost: int = 0
    stuck: int = 0
    stuck_why: Counter[str] = field(default_factory=Counter)
    per_minute: dict[int, int] = field(default_factory=dict)  # minute -> completed in it
    tasks: int = 0  # tasks of the posted requests
    tasks_retried: int = 0  # of them, attempted more than once by the dispatcher
    partners: dict[str, dict[str, int]] = field(default_factory=dict)  # sandbox _stats
    tally: Any = None
    samples: list[tuple[float, str, int, float]] = field(default_factory=list)
    drained_s: float | None = None


async def examine(database_url: str, posted: dict[str, str], started: float, *,
                  margin_s: float) -> Findings:
    """The database's account: each posted request's status (lost: not there), the tasks of
    the open ones, stuck tasks anywhere, completions per minute of the run."""
    findings = Findings()
    ids = [uuid.UUID(request_id) for request_id in posted]
    late = utcnow() - timedelta(seconds=margin_s)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            known: list[tuple[uuid.UUID, str, datetime | None]] = []
            for start in range(0, len(ids), 1000):
                rows = await connection.execute(
                    select(col(DsrRequest.id), col(DsrRequest.status),
                           col(DsrRequest.finished_at))
                    .where(col(DsrRequest.id).in_(ids[start:start + 1000])))
                known.extend((row[0], str(row[1]), row[2]) for row in rows)
            findings.lost = len(ids) - len(known)
            findings.statuses = Counter(status for _, status, _ in known)
            open_ids = [rid for rid, status, _ in known if status not in FINAL_REQUEST]
            for start in range(0, len(open_ids), 1000):
                counts = await connection.execute(
                    select(col(Task.status), func.count())
                    .where(col(Task.request_id).in_(open_ids[start:start + 1000]))
                    .group_by(col(Task.status)))
                findings.open_tasks.update({str(s): n for s, n in counts})
            for start in range(0, len(ids), 1000):
                chunk = col(Task.request_id).in_(ids[start:start + 1000])
                row = (await connection.execute(select(
                    func.count(), func.count().filter(col(Task.attempts) > 1)).where(chunk))).one()
                findings.tasks += row[0]
                findings.tasks_retried += row[1]
            stuck = await connection.execute(
                select(col(Task.status), func.count()).where(or_(
                    and_(col(Task.status) == "running", col(Task.lease_until) < late),
                    and_(col(Task.status).in_(("pending", "awaiting_callback")),
                         func.coalesce(col(Task.next_attempt_at), col(Task.updated_at)) < late),
                )).group_by(col(Task.status)))
            findings.stuck_why = Counter({str(s): n for s, n in stuck})
            findings.stuck = sum(findings.stuck_why.values())
    finally:
        await engine.dispose()
    for _, status, finished in known:
        if status == "completed" and finished is not None:
            minute = int((finished.timestamp() - started) // 60)
            findings.per_minute[minute] = findings.per_minute.get(minute, 0) + 1
    return findings


def memory(samples: list[tuple[float, str, int, float]]) -> list[tuple[str, str, bool | None]]:
    """Per process kind: 'start / middle / end' MB and whether the last sample is within
    :data:`FLAT` of the first after warm-up (None: the process was restarted meanwhile)."""
    rows = []
    for kind in sorted({s[1] for s in samples}, key=lambda k: (k != "serve", k)):
        mine = [s for s in samples if s[1] == kind]
        warm = [s for s in mine if s[0] >= WARM_UP_S] or mine
        first, middle, last = warm[0], warm[len(warm) // 2], warm[-1]
        restarted = len({s[2] for s in warm}) > 1
        flat = None if restarted else last[3] <= FLAT * first[3]
        rows.append((kind, f"{first[3]:.0f} / {middle[3]:.0f} / {last[3]:.0f}", flat))
    return rows


def print_report(findings: Findings) -> None:
    tally = findings.tally
    refused = sum(tally.refused.values())
    print()
    print(f"{'posted (202)':<34} {len(tally.posted)}")
    print(f"{'refused (not 202)':<34} {refused}"
          + (f"  {dict(sorted(tally.refused.items()))}" if refused else ""))
    print(f"{'transport errors (retried)':<34} {tally.transport_errors}")
    for status, count in sorted(findings.statuses.items()):
        print(f"  {status:<32} {count}")
    still_open = sum(n for s, n in findings.statuses.items() if s not in FINAL_REQUEST)
    why = ", ".join(f"{s} {n}" for s, n in sorted(findings.open_tasks.items()))
    print(f"{'still open':<34} {still_open}" + (f"  (their tasks: {why})" if why else ""))
    print(f"{'lost (posted, unknown)':<34} {findings.lost}")
    stuck_why = ", ".join(f"{s} {n}" for s, n in sorted(findings.stuck_why.items()))
    print(f"{'stuck tasks':<34} {findings.stuck}" + (f"  ({stuck_why})" if stuck_why else ""))
    print(f"{'tasks / attempted more than once':<34} {findings.tasks} / {findings.tasks_retried}")
    calls = ", ".join(f"{system} {stats['calls']} ({stats['throttled']} 429)"
                      for system, stats in findings.partners.items())
    print(f"{'partner calls (429s)':<34} {calls}")
    print(f"{'worker kills (SIGKILL + restart)':<34} {tally.kills}")
    print(f"{'agent: installer tasks completed':<34} {tally.installer_completed}")
    print(f"{'agent: failed tasks retried':<34} {tally.failed_retried}")
    drained = "not within the timeout" if findings.drained_s is None else (
        f"{findings.drained_s:.0f} s")
    print(f"{'drained after posting stopped':<34} {drained}")
    print(f"RSS MB start / middle / end (from {WARM_UP_S:.0f} s; flat: end <= {FLAT}x start)")
    for kind, figures, flat in memory(findings.samples):
        verdict = "restarted" if flat is None else ("flat" if flat else "NOT flat")
        print(f"  {kind:<32} {figures:<18} {verdict}")
    minutes = " ".join(f"{findings.per_minute.get(m, 0)}"
                       for m in range(max(findings.per_minute, default=-1) + 1))
    print(f"{'completed per minute':<34} {minutes}")
