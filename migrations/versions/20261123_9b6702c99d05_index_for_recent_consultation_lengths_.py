"""index for recent consultation lengths per queue (the wait estimate reads the last 20 of a queue)

Revision ID: 9b6702c99d05
Revises: 46b5c85438f1
Create Date: 2026-11-23 08:24:46.103636
"""
from collections.abc import Sequence

from alembic import op

revision: str = '9b6702c99d05'
down_revision: str | None = '46b5c85438f1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_queue_tickets_queue_finished', 'queue_tickets', ['queue_id', 'finished_at'])


def downgrade() -> None:
    op.drop_index('ix_queue_tickets_queue_finished', table_name='queue_tickets')
