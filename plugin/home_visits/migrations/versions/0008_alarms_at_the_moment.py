"""alarms raised at the moment: an incident's kind, and who is handling an alarm

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('home_visits_alert') as batch:
        batch.add_column(sa.Column('detail', sa.String(length=40), nullable=False, server_default=''))
        batch.add_column(sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('handled_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('home_visits_alert') as batch:
        batch.drop_column('handled_by')
        batch.drop_column('handled_at')
        batch.drop_column('detail')
