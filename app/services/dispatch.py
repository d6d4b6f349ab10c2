"""The service's worker: the generic runner (:mod:`app.worker`) with this service's kinds.

Three kinds on one runner: partner tasks in its slots (:mod:`app.dispatch.job`), answers
deferred while tasks are in flight (:mod:`app.answers.job`), and periodic jobs: delivering the
portal's notifications each round (:mod:`app.notifications.delivery`), housekeeping and the
retention sweep (:mod:`app.retention.job`). ``dsr serve``, ``dsr worker`` and ``dsr retention
run`` all use the one :class:`Dispatcher` their runtime builds.
"""

from __future__ import annotations

import asyncio
import random
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.answers.job import AnswerBuilding
from app.connectors.base import Connector
from app.dispatch import holds
from app.dispatch.calls import Claimed
from app.dispatch.job import PartnerTasks
from app.dispatch.wakeup import NOTIFY_CHANNEL
from app.metrics import Metrics
from app.notifications.delivery import Notifier
from app.retention import job as retention
from app.services.foreground import Foreground
from app.services.recorder import Recorder
from app.services.vault import Vault
from app.settings import Settings
from app.worker import lease
from app.worker.pacing import Pacing
from app.worker.periodic import Periodic
from app.worker.runner import Runner

HOLDS_SWEEP_S = 60.0


class Dispatcher(Runner[Claimed]):
    def __init__(
        self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
        connectors: dict[str, Connector], *, wake: asyncio.Event | None = None,
        worker_id: str | None = None, rng: random.Random | None = None,
        metrics: Metrics | None = None, vault: Vault | None = None,
        as_of: date | None = None, notifier: Notifier | None = None,
        writer: Recorder | None = None, foreground: Foreground | None = None,
    ) -> None:
        self._settings = settings
        self.sessionmaker = sessionmaker
        self.vault = vault or Vault(settings)
        self.metrics = metrics or Metrics()
        self.worker_id = worker_id or lease.owner_id()
        self.notifier = notifier
        rng = rng or random.Random()  # noqa: S311 - jitter, not security
        # Outcomes are written by this process's group-commit recorder (services.recorder).
        self.tasks = PartnerTasks(
            settings, sessionmaker, connectors, writer=writer or Recorder(sessionmaker),
            vault=self.vault, metrics=self.metrics, rng=rng, worker_id=self.worker_id,
            as_of=as_of)
        self.answers = AnswerBuilding(settings, sessionmaker, connectors=connectors,
                                      vault=self.vault)
        # The API calls this process serves: while it is busy, the worker yields to intake.
        pacing = Pacing(settings.worker_concurrency, wake or asyncio.Event(),
                        foreground=foreground, deferred=self.answers)
        self.answers.pacing = pacing
        if foreground is not None:
            foreground.on_quiet(pacing.foreground_quiet)
        periodic = [Periodic("notifications", lambda: 0.0, self.deliver_notifications),
                    # held tasks a release missed (a bug, said in the log) wait a minute at most
                    Periodic("holds", lambda: HOLDS_SWEEP_S,
                             lambda: holds.sweep(sessionmaker)),
                    *retention.jobs(self)]
        super().__init__(self.tasks, pacing, name=self.worker_id,
                         database_url=settings.database_url, channel=NOTIFY_CHANNEL,
                         periodic=periodic)

    @property
    def wake(self) -> asyncio.Event:
        return self.pacing.wake

    @wake.setter
    def wake(self, event: asyncio.Event) -> None:
        self.pacing.wake = event

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self._settings = self.tasks.settings = self.answers.settings = settings
        self.pacing.concurrency = settings.worker_concurrency

    @property
    def foreground(self) -> Foreground | None:
        foreground = self.pacing.foreground
        assert foreground is None or isinstance(foreground, Foreground)
        return foreground

    @foreground.setter
    def foreground(self, foreground: Foreground | None) -> None:
        self.pacing.foreground = foreground

    @property
    def connectors(self) -> dict[str, Connector]:
        return self.tasks.connectors

    @connectors.setter
    def connectors(self, connectors: dict[str, Connector]) -> None:
        self.tasks.connectors = self.answers.connectors = connectors

    @property
    def recorder(self) -> Recorder:
        writer = self.tasks.recorder
        assert isinstance(writer, Recorder)
        return writer

    async def build_responses(self) -> None:
        await self.answers.run()

    async def deliver_notifications(self) -> None:
        if self.notifier is not None:
            while await self.notifier.deliver_due():
                pass

    def answer_due(self) -> None:
        """A request became final (its transaction committed): its answer is to be built
        (see :meth:`app.worker.pacing.Pacing.came_due` for when)."""
        self.pacing.came_due()
