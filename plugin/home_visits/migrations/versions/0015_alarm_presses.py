"""an alarm pressed again while it is open: how many times, and when last

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-07

"Alert the office now" pressed again adds to the open alarm instead of making a new one each time.
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('home_visits_alert') as batch:
        batch.add_column(sa.Column('taps', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('tapped_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('home_visits_alert') as batch:
        batch.drop_column('tapped_at')
        batch.drop_column('taps')
