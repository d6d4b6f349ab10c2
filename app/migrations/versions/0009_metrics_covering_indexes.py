"""the counts /metrics reports read indexes, not tables: requests by type and status, tasks by
system and status with their attempts (one scrape of 100,000 requests read both tables on
every scrape, 98-108 ms on the event loop on SQLite)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_dsr_request_type_status', 'dsr_request', ['type', 'status'])
    # replaces (system, status): the same prefix for every query that used it
    op.create_index('ix_task_system_status_attempts', 'task', ['system', 'status', 'attempts'])
    op.drop_index('ix_task_system_status', table_name='task')


def downgrade() -> None:
    op.create_index('ix_task_system_status', 'task', ['system', 'status'])
    op.drop_index('ix_task_system_status_attempts', table_name='task')
    op.drop_index('ix_dsr_request_type_status', table_name='dsr_request')
