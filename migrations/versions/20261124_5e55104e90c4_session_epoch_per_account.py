"""session epoch per account: raising it ends the account's signed-in sessions

Revision ID: 5e55104e90c4
Revises: 2d0e064fa46f
Create Date: 2026-11-24 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5e55104e90c4'
down_revision: str | None = '2d0e064fa46f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_check_constraint(batch_op.f('ck_users_session_epoch_nonneg'), 'session_epoch >= 0')


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_session_epoch_nonneg'), type_='check')
        batch_op.drop_column('session_epoch')
