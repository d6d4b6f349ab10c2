"""Intake first: the API calls a process is serving, which its in-process worker yields to.

``dsr serve`` runs the API and a worker on one event loop. With a backlog, the worker's tasks
(partner calls, their outcomes, the sandbox's side of them) took about 40% of the loop while
clients were posting requests: ``POST /v1/requests`` ran at 273-314/s with the worker on and
447-461/s with it off. A customer's request waits on the intake; a task has a month.

So while the process is serving ``BUSY`` or more API calls at once (calls queue: more arrive
than it answers), its worker keeps at most a quarter of its slots busy; once fewer are in
flight it is woken to fill them again. The work in flight goes on, and the worker never
stops: a quarter of its slots always run. Partner callbacks (``/v1/webhooks/``) are the
worker's own work, not intake, and are not counted; nor are the sandbox, health and metrics.
A worker in its own process (``dsr worker``) has no API and is never held back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

BUSY = 4  # API calls in flight at once from which the worker yields


class Foreground:
    def __init__(self) -> None:
        self.in_flight = 0
        self._quiet: list[Callable[[], None]] = []

    @staticmethod
    def counts(path: str) -> bool:
        """Whether a call to ``path`` is intake the worker yields to."""
        return path.startswith("/v1/") and not path.startswith("/v1/webhooks/")

    def busy(self) -> bool:
        return self.in_flight >= BUSY

    def on_quiet(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` each time the API stops being busy."""
        self._quiet.append(callback)

    @contextmanager
    def serving(self) -> Iterator[None]:
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            if self.in_flight == BUSY - 1:
                for callback in self._quiet:
                    callback()
