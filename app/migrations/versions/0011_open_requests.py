"""the overdue list and count read an index of the open requests only: with years of
finished requests behind them, ``due_at < now AND status NOT IN (final)`` was a parallel
scan of all 120,000 requests for the count (16.7 ms for 1,500 overdue; 0.19 ms from this
index) and, with 3 overdue, a walk back through every request for the list (22.9 ms; 0.08
ms), EXPLAIN ANALYZE on PostgreSQL 15. The two indexes by due date served only that
question, and every write of a request paid for them: they go.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_REQUESTS = "status NOT IN ('cancelled', 'completed', 'rejected')"


def upgrade() -> None:
    op.create_index('ix_dsr_request_open', 'dsr_request', ['created_at', 'id', 'due_at'],
                    postgresql_where=sa.text(OPEN_REQUESTS), sqlite_where=sa.text(OPEN_REQUESTS))
    op.drop_index('ix_dsr_request_due_at', table_name='dsr_request')
    op.drop_index('ix_dsr_request_status_due_at', table_name='dsr_request')


def downgrade() -> None:
    op.create_index('ix_dsr_request_status_due_at', 'dsr_request', ['status', 'due_at'])
    op.create_index('ix_dsr_request_due_at', 'dsr_request', ['due_at'])
    op.drop_index('ix_dsr_request_open', table_name='dsr_request')
