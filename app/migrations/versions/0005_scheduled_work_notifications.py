"""scheduled work, the retention sweep's schedule, portal notifications

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dsr_request') as batch:
        batch.add_column(sa.Column('lift_reason', sa.Text(), nullable=True))
        batch.add_column(sa.Column('lift_requested_at', app.db.UTCDateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table('task') as batch:
        batch.add_column(sa.Column('scheduled_for', app.db.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('params', sa.JSON(), nullable=True))
    op.create_index('ix_task_scheduled_for', 'task', ['scheduled_for'])
    op.create_table(
        'notification',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('request_id', sa.Uuid(), nullable=False),
        sa.Column('event', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'delivered', 'failed',
                                    name='notificationstatus', native_enum=False, length=32),
                  nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('lease_until', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['dsr_request.id'],
                                name=op.f('fk_notification_request_id_dsr_request'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    )
    op.create_index('ix_notification_request_id', 'notification', ['request_id'])
    op.create_index('ix_notification_status_next_attempt_at', 'notification',
                    ['status', 'next_attempt_at'])
    op.create_table(
        'scheduled_job',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('next_run_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('lease_owner', sa.String(length=64), nullable=True),
        sa.Column('lease_until', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_run_at', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_result', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduled_job')),
    )


def downgrade() -> None:
    op.drop_table('scheduled_job')
    op.drop_index('ix_notification_status_next_attempt_at', table_name='notification')
    op.drop_index('ix_notification_request_id', table_name='notification')
    op.drop_table('notification')
    op.drop_index('ix_task_scheduled_for', table_name='task')
    with op.batch_alter_table('task') as batch:
        batch.drop_column('params')
        batch.drop_column('scheduled_for')
    with op.batch_alter_table('dsr_request') as batch:
        batch.drop_column('lift_requested_at')
        batch.drop_column('lift_reason')
