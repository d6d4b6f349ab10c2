"""lifecycle integrity: closing requests, dispatch rounds, subject checks, throttling

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REQUEST_STATUS = sa.Enum(
    'awaiting_verification', 'in_progress', 'action_required', 'completed', 'rejected',
    'cancelled', name='requeststatus', native_enum=False, length=32,
)


def upgrade() -> None:
    with op.batch_alter_table('dsr_request') as batch:
        batch.add_column(sa.Column('closing_as', REQUEST_STATUS, nullable=True))
        batch.add_column(sa.Column('closing_requested_at', app.db.UTCDateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table('task') as batch:
        batch.add_column(sa.Column('dispatch_round', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('subject_ref', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('throttled_since', app.db.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('delivery_uncertain', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    # Per-customer ordering looks up a customer's earlier tasks at one system.
    op.create_index('ix_task_system_status', 'task', ['system', 'status'])


def downgrade() -> None:
    op.drop_index('ix_task_system_status', table_name='task')
    with op.batch_alter_table('task') as batch:
        batch.drop_column('delivery_uncertain')
        batch.drop_column('throttled_since')
        batch.drop_column('subject_ref')
        batch.drop_column('dispatch_round')
    with op.batch_alter_table('dsr_request') as batch:
        batch.drop_column('closing_requested_at')
        batch.drop_column('closing_as')
