"""Answer building as a deferred job kind on the worker: answers yield to the tasks in flight.

Answers are built when no task is in flight, or each once it has waited ``ANSWER_DEFER_S``
since its request became final: building one took as much CPU as carrying out a request, and
took it from the requests in flight. (A download builds one at once, whatever the wait.)
While the worker has a backlog (its last claim took every free slot: more was due than it
could take), an answer waits for the backlog to clear, at most ``ANSWER_BACKLOG_S``: the
answers are off the path of the requests still to be carried out. In a burst the answers of
its first requests came due before its last were carried out, and were built among them: more
of them the slower the machine, and each as costly as a request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import db_outage
from app.answers.builder import build_pending, next_pending
from app.db import utcnow
from app.services.vault import Vault
from app.settings import Settings
from app.worker.pacing import Pacing

log = logging.getLogger("app.dispatch")
ANSWER_DEFER_S = 5.0
ANSWER_BACKLOG_S = 60.0


class AnswerBuilding:
    """The deferred kind (:class:`app.worker.kinds.Deferred`) that builds due answers."""

    def __init__(
        self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], *,
        connectors: Mapping[str, Any], vault: Vault,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.connectors = connectors
        self.vault = vault
        self.pacing: Pacing | None = None  # the worker's, once it is built with this kind

    def defer_s(self) -> float:
        return ANSWER_DEFER_S

    def backlog_s(self) -> float:
        return ANSWER_BACKLOG_S

    async def run(self) -> None:
        """Build the answers that are due: all of them when no task is in flight, else those
        whose request became final ``wait_s()`` ago or earlier; then wake the worker when the
        next one comes due. (Building every answer pending once the first had waited built
        the fresh ones too, at once, in the middle of the work in flight.) Building them all,
        it goes on to a next answer only while nothing is in flight."""
        pacing = self.pacing
        assert pacing is not None
        try:
            while True:
                before = utcnow() - timedelta(seconds=pacing.wait_s()) \
                    if pacing.busy() else None
                # building them all because nothing was in flight: stop at the next answer
                # once something is (a lull between claims in a burst is not a quiet spell)
                idle = (lambda: not pacing.busy()) if before is None else None
                if not await build_pending(self.sessionmaker, connectors=self.connectors,
                                           vault=self.vault, settings=self.settings,
                                           finished_before=before, keep_going=idle):
                    break
            if before is not None:
                upcoming = await next_pending(self.sessionmaker, before)
                if upcoming is not None:
                    pacing.put_off((utcnow() - upcoming).total_seconds())
        except Exception as exc:
            db_outage.failed(log, "building responses failed", exc)
