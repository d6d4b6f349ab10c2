"""Fixtures that start ``dsr serve`` as a subprocess on a fresh database of the test backend.

``launch(env)`` starts a service with extra ``DSR_*`` settings (and is torn down after the
test: processes stopped, then databases dropped); ``service`` is one plain service shared by
a module. See :mod:`tests.e2e.service` for the process and the API client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import BACKEND
from tests.e2e.service import Api, Service, bearer, fresh_database

Launch = Callable[..., Service]


class Launcher:
    """Starts services and owns them (and their databases) until :meth:`close`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.services: list[Service] = []
        self._databases = ExitStack()

    def __call__(self, env: dict[str, str] | None = None, *, database_url: str | None = None,
                 port: int | None = None) -> Service:
        """A running service; a fresh database unless ``database_url`` reuses one."""
        url = database_url or self._databases.enter_context(fresh_database(BACKEND, self.workdir))
        service = Service(url, self.workdir, port=port, env=env)
        self.services.append(service)
        return service.start()

    def close(self) -> None:
        try:
            for service in self.services:
                service.stop()
        finally:
            self._databases.close()


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service without faults or delay, shared by the tests of a module."""
    launcher = Launcher(tmp_path_factory.mktemp("e2e"))
    try:
        yield launcher()
    finally:
        launcher.close()


@pytest.fixture
def api(service: Service) -> Iterator[Api]:
    with service.client() as client:
        yield Api(client)


@pytest.fixture
def portal() -> dict[str, str]:
    return bearer("portal", "C-1001")
