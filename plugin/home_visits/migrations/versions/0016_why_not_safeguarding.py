"""a written concern marked "not a safeguarding matter" says why

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('home_visits_record') as batch:
        batch.add_column(sa.Column('safeguarding_why', sa.String(length=200), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('home_visits_record') as batch:
        batch.drop_column('safeguarding_why')
