"""a task held back by per-customer ordering costs the claim nothing until what holds it
back leaves the queue: with 15,000 writes queued for one customer among 120,000 requests,
each claim walked every due task in ``ready_at`` order and probed, for each held one, some
2,500 earlier tasks of that customer (the earlier test was on the joined request's
``received_at``): 55.5 s for one claim, EXPLAIN ANALYZE on PostgreSQL 15. A held task is now
off the ready index (``held``, no ``ready_at``) and released in order of receipt when the
task before it leaves the queue (``app.dispatch.holds``); the task carries its request's
``received_at`` so "is an earlier task open?" is one index probe that stops at the first.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('task') as batch:
        batch.add_column(sa.Column('received_at', app.db.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('held', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.execute("UPDATE task SET received_at = (SELECT received_at FROM dsr_request "
               "WHERE dsr_request.id = task.request_id)")
    with op.batch_alter_table('task') as batch:
        batch.alter_column('received_at', existing_type=app.db.UTCDateTime(timezone=True),
                           nullable=False)
        batch.alter_column('held', server_default=None)
        batch.drop_index('ix_task_customer_number_system_writes_status')
        batch.create_index('ix_task_customer_queue',
                           ['customer_number', 'system', 'writes', 'status', 'received_at'])
        batch.create_index('ix_task_held', ['customer_number', 'system', 'received_at',
                                            'request_id'],
                           postgresql_where=sa.text('held'), sqlite_where=sa.text('held = 1'))


def downgrade() -> None:
    with op.batch_alter_table('task') as batch:
        batch.drop_index('ix_task_held')
        batch.drop_index('ix_task_customer_queue')
        batch.create_index('ix_task_customer_number_system_writes_status',
                           ['customer_number', 'system', 'writes', 'status'])
    op.execute("UPDATE task SET ready_at = COALESCE(next_attempt_at, created_at) WHERE held")
    with op.batch_alter_table('task') as batch:
        batch.drop_column('held')
        batch.drop_column('received_at')
