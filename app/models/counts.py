"""The counts /metrics reports, maintained as the rows they count change.

Triggers on ``dsr_request``, ``task`` and ``notification`` (migration 0013) append a signed
change per counted key to :class:`MetricCountDelta` in the transaction that inserts, updates
or deletes the row, whoever writes it (the ORM, a bulk insert, a cascade, SQL by hand). No
row is written by two transactions, so writers never wait for each other on a counter. A
periodic compaction (:mod:`app.metrics_counts`) folds the changes into :class:`MetricCount`;
a scrape reads the two summed, so its cost follows the changes since the last compaction,
not the history.

The keys, each a metric and up to two labels (``""`` when it has one):

- ``requests``: (type, status) of every request;
- ``tasks``: (system, status) of every task;
- ``retries``: (system, ``""``), the attempts beyond the first of its tasks;
- ``notifications``: (status, ``""``) of every portal notification.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

REQUESTS, TASKS, RETRIES, NOTIFICATIONS = "requests", "tasks", "retries", "notifications"


class MetricCount(SQLModel, table=True):
    """A count as of the last compaction."""

    __tablename__ = "metric_count"

    metric: str = Field(sa_type=sa.String(16), primary_key=True)
    label_a: str = Field(sa_type=sa.String(32), primary_key=True)
    label_b: str = Field(sa_type=sa.String(32), primary_key=True)
    value: int = Field(sa_type=sa.BigInteger, default=0)


class MetricCountDelta(SQLModel, table=True):
    """A change to a count since the last compaction, in order of ``id`` (append-only)."""

    __tablename__ = "metric_count_delta"

    # an alias of SQLite's rowid there (a BIGINT key would not be)
    id: int | None = Field(default=None, primary_key=True,
                           sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"))
    metric: str = Field(sa_type=sa.String(16))
    label_a: str = Field(sa_type=sa.String(32))
    label_b: str = Field(sa_type=sa.String(32))
    value: int


# The counted tables' triggers write the counts: those tables come after the counts when the
# schema is made and go (or are emptied, in reverse order) before them, so emptying every
# table leaves no change behind. (Found by name, so that this module imports nothing from
# app.models, which imports it at its end, once those tables are defined.)
COUNTED = ("dsr_request", "task", "notification")
_COUNTS: tuple[sa.Table, ...] = (MetricCount.__table__, MetricCountDelta.__table__)  # type: ignore[attr-defined]
for _counted in COUNTED:
    for _count in _COUNTS:
        SQLModel.metadata.tables[_counted].add_is_dependent_on(_count)
