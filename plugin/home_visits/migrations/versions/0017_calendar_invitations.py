"""calendar invitations: a notice may carry an iMIP part; each person chooses invitations on or off

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

A notice's ``calendar`` is the text/calendar body (METHOD:REQUEST or CANCEL) sent beside its plain text
and HTML; a person's ``invitations`` is their own choice (none: the school's default from config).
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('home_visits_notice') as batch:
        batch.add_column(sa.Column('calendar', sa.Text(), nullable=True))
    with op.batch_alter_table('home_visits_preference') as batch:
        batch.add_column(sa.Column('invitations', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('home_visits_preference') as batch:
        batch.drop_column('invitations')
    with op.batch_alter_table('home_visits_notice') as batch:
        batch.drop_column('calendar')
