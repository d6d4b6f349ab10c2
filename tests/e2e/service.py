"""A real ``dsr serve`` process, a fresh database for it, and a small client for its API.

Shared by the end-to-end tests (``tests/e2e``) and the benchmarks (``bench/``): the service is
started as a subprocess exactly as an operator would run it (migrations, API, in-process worker
and the partner sandbox in one process), and everything is spoken over real HTTP on 127.0.0.1.

Nothing here depends on pytest, so ``bench/bench_dispatch.py`` can import it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

from app.auth import Role, mint_token
from app.settings import Settings

# The child gets this secret explicitly, and tokens are minted with it, so a developer's own
# DSR_JWT_* settings can never make the two disagree.
E2E_JWT_SECRET = "e2e-secret-" + "x" * 40
PG_ADMIN_URL = os.environ.get(
    "DSR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

# Settings that make a whole dispatch cycle take seconds rather than minutes.
FAST_ENV: dict[str, str] = {
    "DSR_RETRY_BASE_S": "0.2",
    "DSR_RETRY_MAX_S": "1",
    "DSR_TASK_MAX_ATTEMPTS": "6",
    "DSR_CALLBACK_TIMEOUT_S": "2",
    "DSR_LEASE_S": "5",
    "DSR_SANDBOX_DELAY_MS": "0",
}

# Task statuses after which nothing more happens without a person (terminal, or waiting on one).
SETTLED_TASK = frozenset({"done", "no_data", "retained", "cancelled", "failed", "manual",
                          "scheduled"})
# Final, or work due at a later date (a deferred erasure), which a final request may hold.
TERMINAL_TASK = frozenset({"done", "no_data", "retained", "cancelled", "scheduled"})
IN_FLIGHT_TASK = frozenset({"pending", "running", "awaiting_callback"})

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


class ServiceError(RuntimeError):
    """The service did not start, or did not do what was awaited in time."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def token(role: str, customer: str | None = None, *, sub: str | None = None) -> str:
    """A bearer token the e2e services accept (they all run with :data:`E2E_JWT_SECRET`)."""
    settings = Settings(_env_file=None, jwt_secret=E2E_JWT_SECRET)
    return mint_token(settings, role=Role(role), sub=sub or f"e2e-{role}",
                      customer_number=customer)


def bearer(role: str, customer: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, customer)}"}


# -- databases -------------------------------------------------------------------------------


async def _pg_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of a new, empty database (``dsr serve`` migrates it); dropped afterwards."""
    if backend == "sqlite":
        path = directory / f"dsr-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    if backend != "postgresql":
        raise ValueError("backend must be sqlite or postgresql")
    name = f"dsr_e2e_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- the process -----------------------------------------------------------------------------


class Service:
    """``dsr serve`` as a subprocess on 127.0.0.1:``port``, startable again after a stop or kill.

    ``env`` adds ``DSR_*`` settings to ``base_env`` (by default :data:`FAST_ENV`; the
    benchmarks pass ``{}`` to run with the service's own defaults). Its output goes to ``log_path`` (appended across restarts) so a failing test can show it.
    """

    def __init__(self, database_url: str, workdir: Path, *, port: int | None = None,
                 env: Mapping[str, str] | None = None,
                 base_env: Mapping[str, str] = FAST_ENV) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.port = port or free_port()
        self.env: dict[str, str] = {**base_env, **(env or {})}
        self.log_path = workdir / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _child_env(self) -> dict[str, str]:
        # Nothing of the caller's own DSR_* settings (or a .env: cwd is the work dir) leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("DSR_")}
        env.update(self.env)
        env.update({
            "DSR_DATABASE_URL": self.database_url,
            "DSR_PUBLIC_URL": self.url,
            "DSR_JWT_SECRET": E2E_JWT_SECRET,
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def start(self, *, timeout_s: float = STARTUP_TIMEOUT_S) -> Service:
        """Start the process and return once ``/readyz`` answers 200."""
        if self.running:
            raise ServiceError("the service is already running")
        with self.log_path.open("ab") as log:
            log.write(f"--- dsr serve on port {self.port} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
                cwd=self.workdir, env=self._child_env(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.url, timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServiceError(f"dsr serve exited with {self.process.returncode}:\n"
                                       f"{self.log_tail()}")
                with suppress(httpx.TransportError):
                    if client.get("/readyz").status_code == 200:
                        return self
                time.sleep(0.05)  # the process is still starting; ask again shortly
        self.stop()
        raise ServiceError(f"dsr serve was not ready within {timeout_s} s:\n{self.log_tail()}")

    def worker(self, name: str = "worker", *args: str) -> subprocess.Popen[bytes]:
        """A ``dsr worker`` process with exactly this service's settings (``args``: its
        options), its output in ``<name>.log`` beside the service's; the caller stops it."""
        with (self.workdir / f"{name}.log").open("ab") as log:
            return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", *args],
                                    cwd=self.workdir, env=self._child_env(), stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        """SIGTERM (graceful shutdown), then SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no output)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, trust_env=False, **kw)


# -- talking to it ---------------------------------------------------------------------------


class Api:
    """The few calls the e2e tests and benchmarks make, over a real HTTP connection."""

    def __init__(self, client: httpx.Client, *, agent: dict[str, str] | None = None) -> None:
        self.http = client
        self.agent = agent or bearer("agent")

    def create(self, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        response = self.http.post("/v1/requests", json=body, headers=headers)
        if response.status_code != 202:
            raise ServiceError(f"POST /v1/requests answered {response.status_code}: "
                               f"{response.text}")
        created: dict[str, Any] = response.json()
        return created

    def get(self, request_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/requests/{request_id}", headers=self.agent)
        if response.status_code != 200:
            raise ServiceError(f"GET /v1/requests/{request_id} answered "
                               f"{response.status_code}: {response.text}")
        body: dict[str, Any] = response.json()
        return body

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(path, json=body, headers=self.agent)
        if response.status_code != 200:
            raise ServiceError(f"POST {path} answered {response.status_code}: {response.text}")
        answer: dict[str, Any] = response.json()
        return answer

    def events(self, request_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/requests/{request_id}/events", headers=self.agent)
        if response.status_code != 200:
            raise ServiceError(f"GET events answered {response.status_code}: {response.text}")
        body: dict[str, Any] = response.json()
        return body

    def wait_for(
        self, request_ids: Iterable[str], done: Callable[[dict[str, Any]], bool], *,
        timeout_s: float = 30.0, interval_s: float = 0.1,
    ) -> dict[str, dict[str, Any]]:
        """Poll each request until ``done(request)``; all of them, or ``ServiceError``."""
        waiting = list(request_ids)
        latest: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout_s
        while True:
            for request_id in list(waiting):
                latest[request_id] = self.get(request_id)
                if done(latest[request_id]):
                    waiting.remove(request_id)
            if not waiting:
                return latest
            if time.monotonic() >= deadline:
                raise ServiceError(
                    f"{len(waiting)} request(s) not done within {timeout_s} s: "
                    + "; ".join(describe(latest[r]) for r in waiting))
            time.sleep(interval_s)  # polling the API: the service has no push channel

    @staticmethod
    def wait_for_list(
        fetch: Callable[[], list[dict[str, Any]]], done: Callable[[list[dict[str, Any]]], bool],
        *, timeout_s: float = 30.0, interval_s: float = 0.1,
    ) -> list[dict[str, Any]]:
        """Poll ``fetch()`` until ``done(items)``; the items, or ``ServiceError``."""
        deadline = time.monotonic() + timeout_s
        while True:
            items = fetch()
            if done(items):
                return items
            if time.monotonic() >= deadline:
                raise ServiceError(f"not done within {timeout_s} s: {items}")
            time.sleep(interval_s)  # polling the API: the service has no push channel

    def wait_settled(self, request_ids: Iterable[str], **kw: Any) -> dict[str, dict[str, Any]]:
        """Until every request is completed, or action_required with nothing left in flight."""
        return self.wait_for(request_ids, settled, **kw)


def settled(request: dict[str, Any]) -> bool:
    if request["status"] == "completed":
        return True
    return request["status"] == "action_required" and all(
        task["status"] in SETTLED_TASK for task in request["tasks"])


def completed(request: dict[str, Any]) -> bool:
    return bool(request["status"] == "completed")


def describe(request: dict[str, Any]) -> str:
    """One line per request for assertion messages: type, status, each task's state."""
    tasks = ", ".join(
        f"{t['system']}/{t['action']}={t['status']}#{t['attempts']}"
        + (f" ({t['last_error']})" if t.get("last_error") else "")
        for t in sorted(request["tasks"], key=lambda t: (t["system"], t["action"])))
    return f"{request['type']} {request['id']} {request['status']}: [{tasks}]"


def tasks_by_system(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The request's tasks keyed by system (each system has one task in the cases used),
    leaving out scheduled work (a deferred erasure: see :func:`deferred_by_system`)."""
    tasks: dict[str, dict[str, Any]] = {}
    for task in request["tasks"]:
        if task.get("scheduled_for"):
            continue
        if task["system"] in tasks:
            raise ServiceError(f"two tasks for {task['system']}: {describe(request)}")
        tasks[task["system"]] = task
    return tasks


def deferred_by_system(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The request's scheduled work (deferred erasures), keyed by system."""
    return {t["system"]: t for t in request["tasks"] if t.get("scheduled_for")}


def scratch_dir(prefix: str = "dsr-e2e-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
