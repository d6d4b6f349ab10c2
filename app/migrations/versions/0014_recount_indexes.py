"""the two indexes that served /metrics' recount go: the counts are maintained now
(migration 0013), so (type, status) on every request and (system, status, attempts) on every
task were written on each change of a request or a task and read by nothing the service runs.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_task_system_status_attempts', table_name='task')
    op.drop_index('ix_dsr_request_type_status', table_name='dsr_request')


def downgrade() -> None:
    op.create_index('ix_dsr_request_type_status', 'dsr_request', ['type', 'status'])
    op.create_index('ix_task_system_status_attempts', 'task', ['system', 'status', 'attempts'])
