"""every visit belongs to a school

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

Visits stored before schools existed move to the portal's first school: the id ``db.upgrade`` hands in
(the first of ``HOME_VISITS_SCHOOLS``), or ``school``, the one school of a portal with no such setting.
"""

import sqlalchemy as sa
from alembic import context, op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    first = context.config.attributes.get("first_school", "school")
    with op.batch_alter_table('home_visits_visit') as batch:
        batch.add_column(sa.Column('school_id', sa.String(length=32), nullable=False, server_default=first))
        batch.create_index('ix_home_visits_visit_school', ['school_id', 'starts_at', 'id'])
    # The default was for the rows already there; new rows always name their school.
    with op.batch_alter_table('home_visits_visit') as batch:
        batch.alter_column('school_id', server_default=None, existing_type=sa.String(length=32),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('home_visits_visit') as batch:
        batch.drop_index('ix_home_visits_visit_school')
        batch.drop_column('school_id')
