"""answers to build found through an index: a flag set when a request becomes final and cleared
when its answer is stored (the old anti-join read every final request)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dsr_request') as batch:
        batch.add_column(sa.Column('answer_pending', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    # every final request without a stored answer is still to be answered
    op.execute(
        "UPDATE dsr_request SET answer_pending = (status IN ('completed', 'rejected', "
        "'cancelled') AND NOT EXISTS (SELECT 1 FROM response_package "
        "WHERE response_package.request_id = dsr_request.id))")
    with op.batch_alter_table('dsr_request') as batch:
        batch.alter_column('answer_pending', server_default=None)
        batch.create_index('ix_dsr_request_answer_pending_finished_at',
                           ['answer_pending', 'finished_at'])


def downgrade() -> None:
    with op.batch_alter_table('dsr_request') as batch:
        batch.drop_index('ix_dsr_request_answer_pending_finished_at')
        batch.drop_column('answer_pending')
