"""the counts /metrics reports are maintained by the writes that change them, not recounted
on every scrape: at 112,000 requests and 394,000 tasks a scrape's four GROUP BY counts took
73-83 ms on PostgreSQL 15 (parallel workers on both cores), and grew with the history.
Triggers on the three counted tables append a signed change per counted key to
``metric_count_delta`` (rows no two writers share, so no writer waits on a counter); a
periodic compaction folds them into ``metric_count``; a scrape sums the two (see
app/models/counts.py). The counts start from the tables as they are.

On SQLite, rebuilding a counted table in batch mode drops its triggers: a migration that
does so creates them again (tests/test_metrics_counts.py checks they are there at head).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RETRIES = "CASE WHEN {r}.attempts > 1 THEN {r}.attempts - 1 ELSE 0 END"
# table: (the columns a count reads, the counts of one row: metric, labels, value)
COUNTED: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str, str, str], ...]]] = {
    'dsr_request': (('type', 'status'), (("'requests'", "{r}.type", "{r}.status", "1"),)),
    'task': (('system', 'status', 'attempts'),
             (("'tasks'", "{r}.system", "{r}.status", "1"),
              ("'retries'", "{r}.system", "''", RETRIES))),
    'notification': (('status',), (("'notifications'", "{r}.status", "''", "1"),)),
}


def _changes(table: str, *rows: tuple[str, str]) -> str:
    """The statement appending a row's changes: (OLD, "-") takes its counts away, (NEW, "")
    adds them; a key whose changes cancel out is not written."""
    parts = [f"SELECT {metric} AS metric, {a.format(r=row)} AS label_a, "
             f"{b.format(r=row)} AS label_b, {sign}({value.format(r=row)}) AS value"
             for row, sign in rows for metric, a, b, value in COUNTED[table][1]]
    # built from the constants above only
    return ("INSERT INTO metric_count_delta (metric, label_a, label_b, value) "  # noqa: S608
            "SELECT metric, label_a, label_b, sum(value) FROM ("
            + " UNION ALL ".join(parts) + ") AS change "
            "GROUP BY metric, label_a, label_b HAVING sum(value) <> 0")


def _changed(table: str, distinct: str) -> str:
    return " OR ".join(f"OLD.{column} {distinct} NEW.{column}" for column in COUNTED[table][0])


def _metrics(table: str) -> str:
    return ", ".join(metric for metric, *_ in COUNTED[table][1])


NEW, OLD = ("NEW", ""), ("OLD", "-")

# TRUNCATE fires no row trigger: the counts of the table emptied are taken back whole (it
# holds the table's exclusive lock, so no change to those counts is in flight).
PG_TRUNCATED = """
CREATE FUNCTION metric_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metric_count_delta (metric, label_a, label_b, value)
    SELECT metric, label_a, label_b, -sum(value) FROM (
        SELECT metric, label_a, label_b, value FROM metric_count
        UNION ALL SELECT metric, label_a, label_b, value FROM metric_count_delta) AS count
    WHERE metric = ANY (TG_ARGV)
    GROUP BY metric, label_a, label_b HAVING sum(value) <> 0;
    RETURN NULL;
END $$"""


def _postgresql(table: str) -> list[str]:
    function = f"metric_count_{table}"
    return [
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"    IF TG_OP = 'INSERT' THEN {_changes(table, NEW)};\n"
        f"    ELSIF TG_OP = 'DELETE' THEN {_changes(table, OLD)};\n"
        f"    ELSE {_changes(table, OLD, NEW)};\n"
        "    END IF;\n    RETURN NULL;\nEND $$",
        f"CREATE TRIGGER {function} AFTER INSERT OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {function}_update AFTER UPDATE OF {', '.join(COUNTED[table][0])} "
        f"ON {table} FOR EACH ROW WHEN ({_changed(table, 'IS DISTINCT FROM')}) "
        f"EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {function}_truncate AFTER TRUNCATE ON {table} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION metric_count_truncated({_metrics(table)})",
    ]


def _sqlite(table: str) -> list[str]:
    name = f"metric_count_{table}"
    return [
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} "
        f"BEGIN {_changes(table, NEW)}; END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF {', '.join(COUNTED[table][0])} "
        f"ON {table} WHEN {_changed(table, 'IS NOT')} "
        f"BEGIN {_changes(table, OLD, NEW)}; END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} "
        f"BEGIN {_changes(table, OLD)}; END",
    ]


BACKFILL = (
    "INSERT INTO metric_count (metric, label_a, label_b, value) "
    "SELECT 'requests', type, status, count(*) FROM dsr_request GROUP BY type, status "
    "UNION ALL SELECT 'tasks', system, status, count(*) FROM task GROUP BY system, status "
    "UNION ALL SELECT 'retries', system, '', "
    "sum(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END) FROM task "
    "GROUP BY system HAVING sum(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END) <> 0 "
    "UNION ALL SELECT 'notifications', status, '', count(*) FROM notification GROUP BY status"
)


def upgrade() -> None:
    op.create_table(
        'metric_count',
        sa.Column('metric', sa.String(length=16), nullable=False),
        sa.Column('label_a', sa.String(length=32), nullable=False),
        sa.Column('label_b', sa.String(length=32), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('metric', 'label_a', 'label_b', name=op.f('pk_metric_count')),
    )
    op.create_table(
        'metric_count_delta',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('metric', sa.String(length=16), nullable=False),
        sa.Column('label_a', sa.String(length=32), nullable=False),
        sa.Column('label_b', sa.String(length=32), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_count_delta')),
    )
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.execute(PG_TRUNCATED)
    # The triggers first: on PostgreSQL creating one waits for, then holds off, every writer
    # of its table until this transaction ends, so the counts start from what they will see.
    for table in COUNTED:
        for statement in _postgresql(table) if postgresql else _sqlite(table):
            op.execute(statement)
    op.execute(BACKFILL)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table in COUNTED:
        if postgresql:
            for suffix in ('', '_update', '_truncate'):
                op.execute(f"DROP TRIGGER metric_count_{table}{suffix} ON {table}")
            op.execute(f"DROP FUNCTION metric_count_{table}()")
        else:
            for suffix in ('_insert', '_update', '_delete'):
                op.execute(f"DROP TRIGGER metric_count_{table}{suffix}")
    if postgresql:
        op.execute("DROP FUNCTION metric_count_truncated()")
    op.drop_table('metric_count_delta')
    op.drop_table('metric_count')
