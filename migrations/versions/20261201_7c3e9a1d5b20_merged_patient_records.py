"""merged patient records: the record merged into another, when and by whom

Revision ID: 7c3e9a1d5b20
Revises: 19556ebe061b
Create Date: 2026-12-01 00:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = '7c3e9a1d5b20'
down_revision: str | None = '19556ebe061b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('merged_at', models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('merged_by_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_patients_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_patients_merged_into_id_patients'), 'patients',
                                    ['merged_into_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_patients_merged_by_id_users'), 'users', ['merged_by_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_patients_merged_whole'),
            '(merged_into_id IS NULL AND merged_at IS NULL) OR '
            '(merged_into_id IS NOT NULL AND merged_at IS NOT NULL AND merged_into_id <> id)')


def downgrade() -> None:
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_patients_merged_whole'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_patients_merged_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_patients_merged_into_id_patients'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_patients_merged_into_id'))
        batch_op.drop_column('merged_by_id')
        batch_op.drop_column('merged_at')
        batch_op.drop_column('merged_into_id')
