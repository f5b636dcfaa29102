"""what was authorised: audit versions, pupil search key and reference, unannounced reason,
one-time plan form tokens, and the visits a digest mentions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _key(value: str) -> str:
    """The search key of services.search_key, frozen here as the migration wrote it."""
    return " ".join(unicodedata.normalize("NFKC", value or "").casefold().split())[:120]


def upgrade() -> None:
    with op.batch_alter_table('home_visits_audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_version', sa.Integer(), nullable=True))
    with op.batch_alter_table('home_visits_visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pupil_key', sa.String(length=120), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('pupil_ref', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('unannounced_reason', sa.String(length=500), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('form_token', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_home_visits_visit_pupil_key'), ['pupil_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_home_visits_visit_pupil_ref'), ['pupil_ref'], unique=False)
        batch_op.create_unique_constraint('uq_home_visits_visit_form_token', ['form_token'])
    with op.batch_alter_table('home_visits_visit', schema=None) as batch_op:
        batch_op.alter_column('pupil_key', server_default=None)
        batch_op.alter_column('pupil_ref', server_default=None)
        batch_op.alter_column('unannounced_reason', server_default=None)
    visits = sa.table('home_visits_visit', sa.column('id', sa.Integer), sa.column('pupil', sa.String),
                      sa.column('pupil_key', sa.String))
    connection = op.get_bind()
    for visit_id, pupil in connection.execute(sa.select(visits.c.id, visits.c.pupil)).all():
        connection.execute(visits.update().where(visits.c.id == visit_id).values(pupil_key=_key(pupil)))
    op.create_table('home_visits_notice_mention',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['home_visits_notice.id'], ),
    sa.ForeignKeyConstraint(['visit_id'], ['home_visits_visit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('home_visits_notice_mention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_home_visits_notice_mention_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_home_visits_notice_mention_visit_id'), ['visit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('home_visits_notice_mention', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_home_visits_notice_mention_visit_id'))
        batch_op.drop_index(batch_op.f('ix_home_visits_notice_mention_notice_id'))
    op.drop_table('home_visits_notice_mention')
    with op.batch_alter_table('home_visits_visit', schema=None) as batch_op:
        batch_op.drop_constraint('uq_home_visits_visit_form_token', type_='unique')
        batch_op.drop_index(batch_op.f('ix_home_visits_visit_pupil_ref'))
        batch_op.drop_index(batch_op.f('ix_home_visits_visit_pupil_key'))
        batch_op.drop_column('form_token')
        batch_op.drop_column('unannounced_reason')
        batch_op.drop_column('pupil_ref')
        batch_op.drop_column('pupil_key')
    with op.batch_alter_table('home_visits_audit', schema=None) as batch_op:
        batch_op.drop_column('visit_version')
