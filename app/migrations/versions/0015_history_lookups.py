"""two lookups that read the history whole, found by EXPLAIN ANALYZE of every statement a
request runs on PostgreSQL 15 with 100,000 requests (bench/explain_history.py):

- the erasure a claimed write must not follow: every erasure task of the claimed customers
  was loaded, a scan of all 270,000 tasks (121 ms a claim); now one walk back through the
  customer's erasures by (customer_number, type, received_at) that stops at the first
  (0.04-0.12 ms); the retention sweep's "made already?" uses it too (26 ms to 0.02 ms);
- the package purge: nearly every package has expired, so the index by expiry narrowed
  nothing (a scan of 100,000 packages, 22-37 ms); a partial index of the packages not yet
  purged holds only the last weeks' (0.008 ms).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPURGED = "purged_at IS NULL"


def upgrade() -> None:
    op.create_index('ix_dsr_request_customer_type_received', 'dsr_request',
                    ['customer_number', 'type', 'received_at'])
    op.create_index('ix_response_package_unpurged', 'response_package', ['expires_at'],
                    postgresql_where=sa.text(UNPURGED), sqlite_where=sa.text(UNPURGED))
    op.drop_index('ix_response_package_expires_at', table_name='response_package')


def downgrade() -> None:
    op.create_index('ix_response_package_expires_at', 'response_package', ['expires_at'])
    op.drop_index('ix_response_package_unpurged', table_name='response_package')
    op.drop_index('ix_dsr_request_customer_type_received', table_name='dsr_request')
