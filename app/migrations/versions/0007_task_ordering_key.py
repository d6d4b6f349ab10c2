"""a cheap claim: the customer and read/write kind on each task (per-customer ordering) and
the time it may be claimed next (one index walked in order)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('task') as batch:
        batch.add_column(sa.Column('customer_number', sa.String(length=32), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('writes', sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column('ready_at', app.db.UTCDateTime(timezone=True),
                                   nullable=True))
    op.execute(
        "UPDATE task SET customer_number = (SELECT customer_number FROM dsr_request "
        "WHERE dsr_request.id = task.request_id), "
        "writes = (action NOT IN ('export', 'export_provided')), "
        "ready_at = CASE status WHEN 'pending' THEN COALESCE(next_attempt_at, created_at) "
        "WHEN 'running' THEN lease_until WHEN 'awaiting_callback' THEN next_attempt_at "
        "WHEN 'scheduled' THEN scheduled_for END")
    with op.batch_alter_table('task') as batch:
        batch.alter_column('customer_number', server_default=None)
        batch.alter_column('writes', server_default=None)
        batch.create_index('ix_task_customer_number_system_writes_status',
                           ['customer_number', 'system', 'writes', 'status'])
        batch.create_index('ix_task_ready_at', ['ready_at'])


def downgrade() -> None:
    with op.batch_alter_table('task') as batch:
        batch.drop_index('ix_task_ready_at')
        batch.drop_index('ix_task_customer_number_system_writes_status')
        batch.drop_column('ready_at')
        batch.drop_column('writes')
        batch.drop_column('customer_number')
