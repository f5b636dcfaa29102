"""an index for one school's visits in one state, in time order

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

The approvals queue and the dashboard of one school ask for its visits in a state, soonest first; with
only the school's index the database reads every visit the school ever had to find them.
"""

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_home_visits_visit_state_school', 'home_visits_visit',
                    ['state', 'school_id', 'starts_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_home_visits_visit_state_school', table_name='home_visits_visit')
