"""a partner's rate budget shared by every process

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'rate_window',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('calls', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_window')),
    )


def downgrade() -> None:
    op.drop_table('rate_window')
