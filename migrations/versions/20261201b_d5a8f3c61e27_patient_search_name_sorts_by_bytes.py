"""patients.search_name sorts by "C" on PostgreSQL, so a name prefix is a range of its index; an index of live names

Revision ID: d5a8f3c61e27
Revises: b7e1c2d4a9f0
Create Date: 2026-12-01 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd5a8f3c61e27'
down_revision: str | None = 'b7e1c2d4a9f0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite compares text by bytes already; PostgreSQL rebuilds ix_patients_search_name with the new collation
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE patients ALTER COLUMN search_name TYPE VARCHAR(120) COLLATE "C"')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index('ix_patients_live_search_name', ['search_name', 'id'], unique=False,
                              sqlite_where=sa.text('merged_into_id IS NULL'),
                              postgresql_where=sa.text('merged_into_id IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index('ix_patients_live_search_name')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE patients ALTER COLUMN search_name TYPE VARCHAR(120) COLLATE "default"')
