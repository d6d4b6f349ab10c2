"""What one right is: its details model, its plan, its completion rule and its letter.

A :class:`Right` is one entry in :data:`app.rights.RIGHTS`; adding a request type is one such
entry (a module beside this one) plus its texts in the i18n files.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from app.models import RequestType
from app.partners import PARTNERS
from app.rights.facts import Facts
from app.rights.letter import Letter

Step = tuple[str, str]  # (system, action)
T = TypeVar("T")


def every_task_settled(tasks: Sequence[T], settled: Callable[[T], bool]) -> bool:
    """The usual completion rule: the request is done when every one of its tasks is settled
    (final, or work due later that it need not wait for; ``services.lifecycle.settled``)."""
    return all(settled(task) for task in tasks)


@dataclass(frozen=True)
class Right:
    type: RequestType
    details: builtins.type[BaseModel]
    letter: Callable[[Facts], Letter]
    # More steps the request's details call for (an objection's unlisting, a number port).
    extra_steps: Callable[[Mapping[str, Any], set[str]], list[Step]] | None = None
    # Which systems of ``actions`` take part, given the details (a rectification reaches only
    # the systems that hold a changed field).
    takes_part: Callable[[str, Mapping[str, Any]], bool] | None = None
    # Every (system, action) that ``extra_steps`` may add.
    may_add: tuple[Step, ...] = ()
    # When the request is done, given its tasks and the lifecycle's "settled" predicate.
    complete: Callable[[Sequence[Any], Callable[[Any], bool]], bool] = every_task_settled

    @property
    def actions(self) -> dict[str, str]:
        """The action each system carries out for this right, as its registry entry says (the
        own register is always asked; a partner only where the customer has a link there)."""
        return {name: entry.actions[self.type] for name, entry in PARTNERS.items()
                if self.type in entry.actions}

    def plan(self, details: Mapping[str, Any], linked: set[str]) -> list[Step]:
        """The (system, action) pairs a request needs, given the systems the customer is
        linked to, in the catalogue's order."""
        steps: list[Step] = []
        for name, action in self.actions.items():
            if PARTNERS[name].needs_link and name not in linked:
                continue
            if self.takes_part is not None and not self.takes_part(name, details):
                continue
            steps.append((name, action))
        if self.extra_steps is not None:
            steps.extend(self.extra_steps(details, linked))
        return steps
